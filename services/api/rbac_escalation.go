package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// Escalation prevention (k8s pkg/registry/rbac/*/policybased): a role
// may only be written with rules its writer holds, unless they may
// "escalate" on it; a binding may only be written to a role whose rules
// its writer holds, unless they may "bind" it. system:masters may do
// both. The rules a user holds are asked of authz, from every mode that
// can list them.

// EscalationChecker is what the api needs of authz for RBAC writes.
type EscalationChecker interface {
	ConfirmNoEscalation(ctx context.Context, u *authnv1.UserInfo, namespace string, rules []*authzv1.PolicyRule) (*authzv1.ConfirmNoEscalationResponse, error)
}

// rbacGroup is the RBAC API group.
const rbacGroup = "rbac.authorization.k8s.io"

// rbacKinds are the RBAC resources, for the bootstrap policy.
type rbacKinds struct {
	clusterRoles        *resource[*rbacv1.ClusterRole]
	clusterRoleBindings *resource[*rbacv1.ClusterRoleBinding]
	roles               *resource[*rbacv1.Role]
	roleBindings        *resource[*rbacv1.RoleBinding]
}

// bootstrapKey marks the api's own writes of the bootstrap policy.
type bootstrapKey struct{}

// rbacHooks adds the escalation checks to the RBAC kinds.
func (s *Service) rbacHooks(roles *resource[*rbacv1.Role], clusterRoles *resource[*rbacv1.ClusterRole],
	roleBindings *resource[*rbacv1.RoleBinding], clusterRoleBindings *resource[*rbacv1.ClusterRoleBinding]) {
	s.rbac = &rbacKinds{clusterRoles: clusterRoles, clusterRoleBindings: clusterRoleBindings, roles: roles, roleBindings: roleBindings}
	roles.admit = func(ctx context.Context, obj, old *rbacv1.Role) error {
		if old != nil && rulesEqual(obj.GetRules(), old.GetRules()) {
			return nil
		}
		m := obj.GetMetadata()
		return s.confirmRules(ctx, "roles", m.GetNamespace(), m.GetName(), obj.GetRules())
	}
	clusterRoles.admit = func(ctx context.Context, obj, old *rbacv1.ClusterRole) error {
		if old != nil && rulesEqual(obj.GetRules(), old.GetRules()) {
			return nil
		}
		return s.confirmRules(ctx, "clusterroles", "", obj.GetMetadata().GetName(), obj.GetRules())
	}
	roleBindings.admit = func(ctx context.Context, obj, old *rbacv1.RoleBinding) error {
		m := obj.GetMetadata()
		return s.confirmBinding(ctx, "rolebindings", m.GetNamespace(), m.GetName(), obj.GetRoleRef(), old.GetRoleRef(), old != nil)
	}
	clusterRoleBindings.admit = func(ctx context.Context, obj, old *rbacv1.ClusterRoleBinding) error {
		return s.confirmBinding(ctx, "clusterrolebindings", "", obj.GetMetadata().GetName(), obj.GetRoleRef(), old.GetRoleRef(), old != nil)
	}
	s.roleRules = func(ctx context.Context, ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error) {
		switch ref.GetKind() {
		case "ClusterRole":
			cr, err := clusterRoles.get(ctx, "", ref.GetName())
			return cr.GetRules(), err
		case "Role":
			r, err := roles.get(ctx, namespace, ref.GetName())
			return r.GetRules(), err
		}
		return nil, apierrors.BadRequest(fmt.Sprintf("unsupported role reference kind: %q", ref.GetKind()))
	}
}

func rulesEqual(a, b []*rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y *rbacv1.PolicyRule) bool { return proto.Equal(x, y) })
}

// privileged reports writes that skip the checks: the bootstrap policy,
// and system:masters (kube-apiserver's EscalationAllowed).
func privileged(ctx context.Context) (*authnv1.UserInfo, bool, error) {
	if ctx.Value(bootstrapKey{}) != nil {
		return nil, true, nil
	}
	u, ok := identity.UserFrom(ctx)
	if !ok {
		return nil, false, apierrors.Unauthorized("Unauthorized")
	}
	return u, slices.Contains(u.GetGroups(), identity.GroupMasters), nil
}

// allowedTo asks authz whether u may do a special verb (escalate, bind)
// on an RBAC role.
func (s *Service) allowedTo(ctx context.Context, u *authnv1.UserInfo, verb, resource, namespace, name string) (bool, error) {
	err := s.authz.Authorize(ctx, u, &authzv1.Attributes{
		Verb: verb, ApiGroup: rbacGroup, ApiVersion: "v1", Resource: resource, Namespace: namespace, Name: name, ResourceRequest: true,
	})
	switch apierrors.ReasonOf(err) {
	case "":
		return true, nil
	case apierrors.ReasonForbidden:
		return false, nil
	}
	return false, err
}

// confirmRules admits a role whose writer may escalate on it or holds
// every rule it grants.
func (s *Service) confirmRules(ctx context.Context, resource, namespace, name string, rules []*rbacv1.PolicyRule) error {
	u, ok, err := privileged(ctx)
	if ok || err != nil {
		return err
	}
	if ok, err := s.allowedTo(ctx, u, "escalate", resource, namespace, name); ok || err != nil {
		return err
	}
	return s.confirmHeld(ctx, u, resource, namespace, name, rules)
}

// roleRefValue is a role reference as kube-apiserver's field.Invalid
// prints it: the JSON of its internal type, whose fields have no tags.
func roleRefValue(ref *rbacv1.RoleRef) string {
	b, _ := json.Marshal(struct{ APIGroup, Kind, Name string }{ref.GetApiGroup(), ref.GetKind(), ref.GetName()})
	return string(b)
}

// confirmBinding admits a binding whose writer may bind its role or holds
// every rule of it. Its role reference cannot change.
func (s *Service) confirmBinding(ctx context.Context, resource, namespace, name string, ref, oldRef *rbacv1.RoleRef, update bool) error {
	if update && !proto.Equal(ref, oldRef) {
		kind := "RoleBinding"
		if resource == "clusterrolebindings" {
			kind = "ClusterRoleBinding"
		}
		return apierrors.Invalid(rbacGroup, kind, name, []*corev1.StatusCause{{
			Reason: "FieldValueInvalid", Field: "roleRef", Message: "Invalid value: " + roleRefValue(ref) + ": field is immutable",
		}})
	}
	u, ok, err := privileged(ctx)
	if ok || err != nil {
		return err
	}
	roleResource := "clusterroles"
	if ref.GetKind() == "Role" {
		roleResource = "roles"
	}
	if ok, err := s.allowedTo(ctx, u, "bind", roleResource, namespace, ref.GetName()); ok || err != nil {
		return err
	}
	rules, err := s.roleRules(ctx, ref, namespace)
	if err != nil {
		return apierrors.Forbidden(rbacGroup, resource, name, fmt.Sprintf("%s.%s %q is forbidden: %s", resource, rbacGroup, name, statusMessage(err)))
	}
	return s.confirmHeld(ctx, u, resource, namespace, name, rules)
}

func statusMessage(err error) string {
	st, _ := apierrors.ToStatus(err)
	return st.GetMessage()
}

// confirmHeld asks authz whether u holds every rule; the refusal lists
// what u lacks, worded as kube-apiserver's.
func (s *Service) confirmHeld(ctx context.Context, u *authnv1.UserInfo, resource, namespace, name string, rules []*rbacv1.PolicyRule) error {
	if s.escalation == nil {
		return apierrors.Unavailable("authorization cannot check RBAC escalation")
	}
	req := make([]*authzv1.PolicyRule, len(rules))
	for i, r := range rules {
		req[i] = &authzv1.PolicyRule{Verbs: r.GetVerbs(), ApiGroups: r.GetApiGroups(), Resources: r.GetResources(), ResourceNames: r.GetResourceNames(), NonResourceUrls: r.GetNonResourceUrls()}
	}
	resp, err := s.escalation.ConfirmNoEscalation(ctx, u, namespace, req)
	if err != nil {
		return err
	}
	if resp.GetCovered() {
		return nil
	}
	missing := make([]string, len(resp.GetMissing()))
	for i, r := range resp.GetMissing() {
		missing[i] = compactRule(r)
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.GetUsername(), u.GetGroups(), strings.Join(missing, "\n"))
	if resp.GetIncomplete() {
		msg += "; resolution errors: some of the user's rules could not be listed"
	}
	return apierrors.Forbidden(rbacGroup, resource, name, fmt.Sprintf("%s.%s %q is forbidden: %s", resource, rbacGroup, name, msg))
}

// compactRule is rbacv1helpers.CompactString.
func compactRule(r *authzv1.PolicyRule) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("APIGroups", r.GetApiGroups())
	add("Resources", r.GetResources())
	add("NonResourceURLs", r.GetNonResourceUrls())
	add("ResourceNames", r.GetResourceNames())
	add("Verbs", r.GetVerbs())
	return "{" + strings.Join(parts, ", ") + "}"
}
