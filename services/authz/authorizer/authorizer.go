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

// Func adapts a function to Authorizer.
type Func func(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error)

// Authorize calls f.
func (f Func) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
	return f(ctx, u, a)
}

// AlwaysAllow allows everything.
func AlwaysAllow() Authorizer {
	return Func(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (Decision, string, error) {
		return Allow, "", nil
	})
}

// AlwaysDeny denies everything.
func AlwaysDeny() Authorizer {
	return Func(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (Decision, string, error) {
		return Deny, "Everything is forbidden.", nil
	})
}

// Masters allows the system:masters group and has no opinion otherwise.
func Masters() Authorizer {
	return Func(func(_ context.Context, u *authnv1.UserInfo, _ *authzv1.Attributes) (Decision, string, error) {
		if slices.Contains(u.GetGroups(), identity.GroupMasters) {
			return Allow, "", nil
		}
		return NoOpinion, "", nil
	})
}

// ServicesRead allows Portico's own services (group system:portico:services)
// to get, list and watch every resource, and has no opinion otherwise: authn
// reads service accounts, authz reads RBAC objects and pods.
func ServicesRead() Authorizer {
	return Func(func(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
		if !slices.Contains(u.GetGroups(), identity.GroupServices) || !a.GetResourceRequest() {
			return NoOpinion, "", nil
		}
		switch a.GetVerb() {
		case "get", "list", "watch":
			return Allow, "", nil
		}
		return NoOpinion, "", nil
	})
}

// Union asks each member in order: the first Allow or Deny wins and
// NoOpinion passes on. Errors are collected; when no member decided, the
// result is NoOpinion with the errors, so the caller fails closed.
func Union(members ...Authorizer) Authorizer {
	return Func(func(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (Decision, string, error) {
		var errs []error
		var reasons []string
		for _, m := range members {
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
	})
}

// Modes names the built-in modes of --authorization-mode.
var modeNames = []string{"AlwaysAllow", "AlwaysDeny"}

// ModeNames is the list of modes this build knows.
func ModeNames() []string { return slices.Clone(modeNames) }

// FromModes builds the chain for --authorization-mode: system:masters
// first, then each mode in order. build makes modes this package does not
// know (ABAC, Node, RBAC); it may be nil.
func FromModes(modes []string, build func(mode string) (Authorizer, error)) (Authorizer, error) {
	if len(modes) == 0 {
		return nil, errors.New("--authorization-mode: at least one mode is required")
	}
	chain := []Authorizer{Masters(), ServicesRead()}
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
