// Package rbac is the RBAC authorization mode: Roles, ClusterRoles,
// RoleBindings and ClusterRoleBindings (rbac.authorization.k8s.io/v1),
// stored by the api and kept in memory by informers, decide requests as
// kube-apiserver's RBAC authorizer does. RBAC never denies: a request no
// rule allows gets no opinion. The package also holds the escalation
// check (Covers) that keeps anyone from granting what they do not hold.
package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// GroupName is the RBAC API group.
const GroupName = "rbac.authorization.k8s.io"

// Reader is what the authorizer needs of the store.
type Reader interface {
	Role(namespace, name string) (*rbacv1.Role, bool)
	ClusterRole(name string) (*rbacv1.ClusterRole, bool)
	RoleBindings(namespace string) []*rbacv1.RoleBinding
	ClusterRoleBindings() []*rbacv1.ClusterRoleBinding
	Synced() bool
}

// Authorizer is the RBAC mode.
type Authorizer struct {
	store Reader
}

// New returns the RBAC mode over a store.
func New(r Reader) *Authorizer { return &Authorizer{store: r} }

// ErrNotSynced is the error of a decision before the RBAC objects were
// listed.
var ErrNotSynced = errors.New("RBAC: the roles and bindings are still being listed")

// Authorize allows a request when a rule of a role bound to the user
// allows it. A binding to a missing role is named in the reason.
func (a *Authorizer) Authorize(_ context.Context, u *authnv1.UserInfo, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	if !a.store.Synced() {
		return authorizer.NoOpinion, "", ErrNotSynced
	}
	var problems []string
	allowed := false
	a.visit(u, at.GetNamespace(), func(rule *rbacv1.PolicyRule, err error) bool {
		if err != nil {
			problems = append(problems, err.Error())
			return true
		}
		if Allows(rule, at) {
			allowed = true
			return false
		}
		return true
	})
	if allowed {
		return authorizer.Allow, "", nil
	}
	if len(problems) > 0 {
		return authorizer.NoOpinion, "RBAC: " + joinErrors(problems), nil
	}
	return authorizer.NoOpinion, "", nil
}

// joinErrors is utilerrors.NewAggregate's wording.
func joinErrors(msgs []string) string {
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// RulesFor lists the rules of every role bound to u that applies in
// namespace (cluster-wide bindings always apply).
func (a *Authorizer) RulesFor(_ context.Context, u *authnv1.UserInfo, namespace string) (authorizer.Rules, bool, error) {
	if !a.store.Synced() {
		return authorizer.Rules{}, true, ErrNotSynced
	}
	var rules []*rbacv1.PolicyRule
	var errs []error
	a.visit(u, namespace, func(rule *rbacv1.PolicyRule, err error) bool {
		if err != nil {
			errs = append(errs, err)
		} else {
			rules = append(rules, rule)
		}
		return true
	})
	return Split(rules), len(errs) > 0, errors.Join(errs...)
}

// visit calls f with each rule that applies to u in namespace, or with
// the error of a binding whose role is missing, until f returns false.
func (a *Authorizer) visit(u *authnv1.UserInfo, namespace string, f func(*rbacv1.PolicyRule, error) bool) {
	for _, b := range a.store.ClusterRoleBindings() {
		if !appliesTo(u, b.GetSubjects(), "") {
			continue
		}
		rules, err := a.roleRules(b.GetRoleRef(), "")
		if !each(rules, err, f) {
			return
		}
	}
	if namespace == "" {
		return
	}
	for _, b := range a.store.RoleBindings(namespace) {
		if !appliesTo(u, b.GetSubjects(), namespace) {
			continue
		}
		rules, err := a.roleRules(b.GetRoleRef(), namespace)
		if !each(rules, err, f) {
			return
		}
	}
}

func each(rules []*rbacv1.PolicyRule, err error, f func(*rbacv1.PolicyRule, error) bool) bool {
	if err != nil {
		return f(nil, err)
	}
	for _, r := range rules {
		if !f(r, nil) {
			return false
		}
	}
	return true
}

// roleRules are the rules a binding grants: a ClusterRole's anywhere, a
// Role's in its own namespace.
func (a *Authorizer) roleRules(ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error) {
	return RoleRefRules(a.store, ref, namespace)
}

// RoleRefRules are the rules a role reference in namespace grants.
func RoleRefRules(r Reader, ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error) {
	switch ref.GetKind() {
	case "ClusterRole":
		cr, ok := r.ClusterRole(ref.GetName())
		if !ok {
			return nil, fmt.Errorf("clusterrole.%s %q not found", GroupName, ref.GetName())
		}
		return cr.GetRules(), nil
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("a cluster role binding may not refer to role %q", ref.GetName())
		}
		role, ok := r.Role(namespace, ref.GetName())
		if !ok {
			return nil, fmt.Errorf("role.%s %q not found", GroupName, ref.GetName())
		}
		return role.GetRules(), nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.GetKind())
}

// ServiceAccountPrefix starts a service account's user name.
const ServiceAccountPrefix = "system:serviceaccount:"

// appliesTo reports whether a binding's subjects include u. A service
// account subject with no namespace is in the binding's namespace.
func appliesTo(u *authnv1.UserInfo, subjects []*rbacv1.Subject, namespace string) bool {
	for _, s := range subjects {
		switch s.GetKind() {
		case "User":
			if u.GetUsername() == s.GetName() {
				return true
			}
		case "Group":
			if slices.Contains(u.GetGroups(), s.GetName()) {
				return true
			}
		case "ServiceAccount":
			ns := s.GetNamespace()
			if ns == "" {
				ns = namespace
			}
			if ns != "" && u.GetUsername() == ServiceAccountPrefix+ns+":"+s.GetName() {
				return true
			}
		}
	}
	return false
}
