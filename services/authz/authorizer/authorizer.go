// Package authorizer holds the authorization interface every mode
// implements, the union that chains modes, and the trivial modes.
package authorizer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Decision is a mode's answer.
type Decision int

// The three answers of a mode.
const (
	// NoOpinion passes the request on to the next mode.
	NoOpinion Decision = iota
	// Allow lets the request through; later modes are not asked.
	Allow
	// Deny refuses the request; later modes are not asked.
	Deny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	default:
		return "NoOpinion"
	}
}

// Authorizer decides one request (k8s authorizer.Authorizer).
type Authorizer interface {
	Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error)
}

// ResourceRule is one permission on resources (k8s authorization/v1
// ResourceRule): "*" in a list matches everything.
type ResourceRule struct {
	Verbs, APIGroups, Resources, ResourceNames []string
}

// NonResourceRule is one permission on non-resource paths; a URL ending
// in "*" is a prefix.
type NonResourceRule struct {
	Verbs, NonResourceURLs []string
}

// Rules are what a user may do in a namespace.
type Rules struct {
	Resource    []ResourceRule
	NonResource []NonResourceRule
}

// Append adds o's rules to r.
func (r *Rules) Append(o Rules) {
	r.Resource = append(r.Resource, o.Resource...)
	r.NonResource = append(r.NonResource, o.NonResource...)
}

// RuleResolver lists what a user may do in a namespace (k8s
// authorizer.RuleResolver). incomplete is true when the mode knows it
// allows more than it can list (Node). Modes that implement it feed
// SelfSubjectRulesReview and the escalation check.
type RuleResolver interface {
	RulesFor(ctx context.Context, u *authnv1.UserInfo, namespace string) (rules Rules, incomplete bool, err error)
}

// Everything is the rule set of a user who may do anything.
func Everything() Rules {
	return Rules{
		Resource:    []ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		NonResource: []NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
	}
}

// Func adapts a function to Authorizer.
type Func func(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error)

// Authorize calls f.
func (f Func) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
	return f(ctx, u, a)
}

// mode is an Authorizer with its RuleResolver.
type mode struct {
	Func
	rules func(u *authnv1.UserInfo) Rules
}

func (m mode) RulesFor(_ context.Context, u *authnv1.UserInfo, _ string) (Rules, bool, error) {
	return m.rules(u), false, nil
}

// AlwaysAllow allows everything.
func AlwaysAllow() Authorizer {
	return mode{
		Func: func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (Decision, string, error) {
			return Allow, "", nil
		},
		rules: func(*authnv1.UserInfo) Rules { return Everything() },
	}
}

// AlwaysDeny denies everything.
func AlwaysDeny() Authorizer { return alwaysDeny{} }

type alwaysDeny struct{}

func (alwaysDeny) Authorize(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (Decision, string, error) {
	return Deny, "Everything is forbidden.", nil
}

func (alwaysDeny) deniesAll() {}

// Masters allows the system:masters group and has no opinion otherwise.
func Masters() Authorizer {
	return mode{
		Func: func(_ context.Context, u *authnv1.UserInfo, _ *authzv1.Attributes) (Decision, string, error) {
			if slices.Contains(u.GetGroups(), identity.GroupMasters) {
				return Allow, "", nil
			}
			return NoOpinion, "", nil
		},
		rules: func(u *authnv1.UserInfo) Rules {
			if slices.Contains(u.GetGroups(), identity.GroupMasters) {
				return Everything()
			}
			return Rules{}
		},
	}
}

// selfReviews are the resources every authenticated user may create to
// learn about themselves, whatever the policy: kube-apiserver answers
// `kubectl auth whoami` and `kubectl auth can-i` for a user no policy
// line mentions.
var selfReviews = []struct{ group, resource string }{
	{"authentication.k8s.io", "selfsubjectreviews"},
	{"authorization.k8s.io", "selfsubjectaccessreviews"},
	{"authorization.k8s.io", "selfsubjectrulesreviews"},
}

// SelfReviews allows every user the self-subject reviews (they are
// create-only), and has no opinion otherwise; kube-apiserver lists them
// with verbs ["*"].
func SelfReviews() Authorizer {
	return mode{
		Func: func(_ context.Context, _ *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
			if !a.GetResourceRequest() || a.GetSubresource() != "" {
				return NoOpinion, "", nil
			}
			for _, r := range selfReviews {
				if a.GetApiGroup() == r.group && a.GetResource() == r.resource {
					return Allow, "", nil
				}
			}
			return NoOpinion, "", nil
		},
		rules: func(*authnv1.UserInfo) Rules {
			var out Rules
			for _, r := range selfReviews {
				out.Resource = append(out.Resource, ResourceRule{Verbs: []string{"*"}, APIGroups: []string{r.group}, Resources: []string{r.resource}})
			}
			return out
		},
	}
}

// ServicesRead allows Portico's own services (group system:portico:services)
// to get, list and watch every resource, and has no opinion otherwise: authn
// reads service accounts, authz reads RBAC objects and pods.
func ServicesRead() Authorizer {
	return mode{
		Func: func(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
			if !slices.Contains(u.GetGroups(), identity.GroupServices) || !a.GetResourceRequest() {
				return NoOpinion, "", nil
			}
			switch a.GetVerb() {
			case "get", "list", "watch":
				return Allow, "", nil
			}
			return NoOpinion, "", nil
		},
		rules: func(u *authnv1.UserInfo) Rules {
			if !slices.Contains(u.GetGroups(), identity.GroupServices) {
				return Rules{}
			}
			return Rules{Resource: []ResourceRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}}
		},
	}
}

// Chain is an ordered union of modes (k8s authorization/union); it is
// an Authorizer and a RuleResolver.
type Chain []Authorizer

// Union asks each member in order: the first Allow or Deny wins and
// NoOpinion passes on. Errors are collected; when no member decided, the
// result is NoOpinion with the errors, so the caller fails closed.
func Union(members ...Authorizer) Chain { return Chain(members) }

// Authorize implements Authorizer.
func (c Chain) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
	var errs []error
	var reasons []string
	for _, m := range c {
		d, reason, err := m.Authorize(ctx, u, a)
		if err != nil {
			errs = append(errs, err)
		}
		if d == Allow || d == Deny {
			return d, reason, nil
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	return NoOpinion, strings.Join(reasons, "\n"), errors.Join(errs...)
}

// RulesFor concatenates the members' rules. A member that cannot list its
// rules makes the answer incomplete; so does a member's error, which is
// returned with what the others listed. A Deny mode ends the list: what it
// refuses, later modes cannot grant.
func (c Chain) RulesFor(ctx context.Context, u *authnv1.UserInfo, namespace string) (Rules, bool, error) {
	var out Rules
	incomplete := false
	var errs []error
	for _, m := range c {
		if _, ok := m.(denier); ok {
			break
		}
		rr, ok := m.(RuleResolver)
		if !ok {
			incomplete = true
			continue
		}
		rules, inc, err := rr.RulesFor(ctx, u, namespace)
		if err != nil {
			errs = append(errs, err)
			incomplete = true
		}
		incomplete = incomplete || inc
		out.Append(rules)
	}
	return out, incomplete, errors.Join(errs...)
}

// denier marks a mode that denies everything it sees (AlwaysDeny).
type denier interface{ deniesAll() }

// Modes names the built-in modes of --authorization-mode.
var modeNames = []string{"AlwaysAllow", "AlwaysDeny"}

// ModeNames is the list of modes this build knows.
func ModeNames() []string { return slices.Clone(modeNames) }

// FromModes builds the chain for --authorization-mode: system:masters
// first, then each mode in order. build makes modes this package does not
// know (ABAC, Node, RBAC); it may be nil.
func FromModes(modes []string, build func(mode string) (Authorizer, error)) (Chain, error) {
	if len(modes) == 0 {
		return nil, errors.New("--authorization-mode: at least one mode is required")
	}
	chain := []Authorizer{Masters(), SelfReviews(), ServicesRead()}
	seen := map[string]bool{}
	for _, m := range modes {
		if seen[m] {
			return nil, fmt.Errorf("--authorization-mode: %q given twice", m)
		}
		seen[m] = true
		switch m {
		case "AlwaysAllow":
			chain = append(chain, AlwaysAllow())
		case "AlwaysDeny":
			chain = append(chain, AlwaysDeny())
		default:
			if build == nil {
				return nil, fmt.Errorf("--authorization-mode: unknown mode %q (known: %s)", m, strings.Join(modeNames, ", "))
			}
			a, err := build(m)
			if err != nil {
				return nil, fmt.Errorf("--authorization-mode %s: %w", m, err)
			}
			chain = append(chain, a)
		}
	}
	return Union(chain...), nil
}
