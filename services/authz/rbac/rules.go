package rbac

import (
	"strings"

	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// Wildcards of a PolicyRule.
const (
	all = "*"
)

// Allows reports whether one rule allows a request
// (k8s.io/kubernetes/pkg/apis/rbac/v1 evaluation helpers).
func Allows(r *rbacv1.PolicyRule, a *authzv1.Attributes) bool {
	if !has(r.GetVerbs(), a.GetVerb()) {
		return false
	}
	if !a.GetResourceRequest() {
		return urlMatches(r.GetNonResourceUrls(), a.GetPath())
	}
	if !has(r.GetApiGroups(), a.GetApiGroup()) {
		return false
	}
	combined := a.GetResource()
	if a.GetSubresource() != "" {
		combined += "/" + a.GetSubresource()
	}
	if !resourceMatches(r.GetResources(), combined, a.GetSubresource()) {
		return false
	}
	return len(r.GetResourceNames()) == 0 || contains(r.GetResourceNames(), a.GetName())
}

// has: the list holds "*" or s.
func has(list []string, s string) bool {
	for _, v := range list {
		if v == all || v == s {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// resourceMatches: "*", the resource (with "/<subresource>"), or
// "*/<subresource>".
func resourceMatches(rules []string, combined, sub string) bool {
	for _, r := range rules {
		if r == all || r == combined {
			return true
		}
		if sub != "" && r == "*/"+sub {
			return true
		}
	}
	return false
}

// urlMatches: "*", the path, or a prefix ending in "*".
func urlMatches(rules []string, path string) bool {
	for _, u := range rules {
		if urlCovers(u, path) {
			return true
		}
	}
	return false
}

func urlCovers(owner, path string) bool {
	if owner == all || owner == path {
		return true
	}
	return strings.HasSuffix(owner, "*") && strings.HasPrefix(path, strings.TrimRight(owner, "*"))
}

// Split turns RBAC rules into the resource and non-resource rules of a
// rules review.
func Split(rules []*rbacv1.PolicyRule) authorizer.Rules {
	var out authorizer.Rules
	for _, r := range rules {
		if len(r.GetResources()) > 0 {
			out.Resource = append(out.Resource, authorizer.ResourceRule{
				Verbs: r.GetVerbs(), APIGroups: r.GetApiGroups(), Resources: r.GetResources(), ResourceNames: r.GetResourceNames(),
			})
		}
		if len(r.GetNonResourceUrls()) > 0 {
			out.NonResource = append(out.NonResource, authorizer.NonResourceRule{Verbs: r.GetVerbs(), NonResourceURLs: r.GetNonResourceUrls()})
		}
	}
	return out
}

// Covers reports whether owner holds every permission of requested, and
// the permissions it lacks, one verb, group, resource and name (or URL)
// each (k8s pkg/registry/rbac/validation Covers): nobody may grant what
// they do not hold.
func Covers(owner authorizer.Rules, requested []*authzv1.PolicyRule) (bool, []*authzv1.PolicyRule) {
	var missing []*authzv1.PolicyRule
	for _, r := range requested {
		for _, sub := range breakdown(r) {
			if !covered(owner, sub) {
				missing = append(missing, sub)
			}
		}
	}
	return len(missing) == 0, missing
}

// breakdown splits a rule into rules of one verb, group, resource and
// name, or one verb and URL.
func breakdown(r *authzv1.PolicyRule) []*authzv1.PolicyRule {
	var out []*authzv1.PolicyRule
	for _, g := range r.GetApiGroups() {
		for _, res := range r.GetResources() {
			for _, v := range r.GetVerbs() {
				if len(r.GetResourceNames()) == 0 {
					out = append(out, &authzv1.PolicyRule{Verbs: []string{v}, ApiGroups: []string{g}, Resources: []string{res}})
					continue
				}
				for _, n := range r.GetResourceNames() {
					out = append(out, &authzv1.PolicyRule{Verbs: []string{v}, ApiGroups: []string{g}, Resources: []string{res}, ResourceNames: []string{n}})
				}
			}
		}
	}
	for _, u := range r.GetNonResourceUrls() {
		for _, v := range r.GetVerbs() {
			out = append(out, &authzv1.PolicyRule{Verbs: []string{v}, NonResourceUrls: []string{u}})
		}
	}
	return out
}

// covered reports whether one broken-down rule is held.
func covered(owner authorizer.Rules, sub *authzv1.PolicyRule) bool {
	if len(sub.GetNonResourceUrls()) > 0 {
		for _, o := range owner.NonResource {
			if hasAll(o.Verbs, sub.GetVerbs()) && urlMatches(o.NonResourceURLs, sub.GetNonResourceUrls()[0]) {
				return true
			}
		}
		return false
	}
	for _, o := range owner.Resource {
		if !hasAll(o.Verbs, sub.GetVerbs()) || !hasAll(o.APIGroups, sub.GetApiGroups()) {
			continue
		}
		if !resourceCovers(o.Resources, sub.GetResources()[0]) {
			continue
		}
		if len(o.ResourceNames) == 0 || (len(sub.GetResourceNames()) > 0 && contains(o.ResourceNames, sub.GetResourceNames()[0])) {
			return true
		}
	}
	return false
}

// hasAll: set holds "*" or every element of want, literally (a requested
// "*" is only held by a "*").
func hasAll(set, want []string) bool {
	if contains(set, all) {
		return true
	}
	for _, w := range want {
		if !contains(set, w) {
			return false
		}
	}
	return true
}

// resourceCovers: "*", the same resource, or "*/<sub>" for a subresource.
func resourceCovers(set []string, res string) bool {
	if contains(set, all) || contains(set, res) {
		return true
	}
	_, sub, ok := strings.Cut(res, "/")
	return ok && contains(set, "*/"+sub)
}
