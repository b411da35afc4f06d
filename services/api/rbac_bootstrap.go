package api

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// The bootstrap RBAC policy (k8s plugin/pkg/auth/authorizer/rbac/
// bootstrappolicy): the user-facing roles cluster-admin, admin, edit and
// view, and the roles every user needs to find the API and learn about
// themselves, bound as kube-apiserver binds them. The aggregated roles
// (admin, edit, view) are written with their aggregated rules.

var (
	read  = []string{"get", "list", "watch"}
	write = []string{"create", "delete", "deletecollection", "patch", "update"}
)

func rule(verbs []string, group string, resources ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, ApiGroups: []string{group}, Resources: resources}
}

func urls(verbs []string, paths ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, NonResourceUrls: paths}
}

func viewRules() []*rbacv1.PolicyRule {
	return []*rbacv1.PolicyRule{
		rule(read, "", "configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
			"replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"),
		rule(read, "", "bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
			"replicationcontrollers/status", "resourcequotas", "resourcequotas/status"),
		rule(read, "", "namespaces"),
		rule(read, "discovery.k8s.io", "endpointslices"),
		rule(read, "apps", "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
			"deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets",
			"statefulsets/scale", "statefulsets/status"),
		rule(read, "autoscaling", "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		rule(read, "batch", "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
		rule(read, "policy", "poddisruptionbudgets", "poddisruptionbudgets/status"),
		rule(read, "networking.k8s.io", "ingresses", "ingresses/status", "networkpolicies"),
	}
}

func editRules() []*rbacv1.PolicyRule {
	return append(viewRules(),
		rule(read, "", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
		rule([]string{"impersonate"}, "", "serviceaccounts"),
		rule(write, "", "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
		rule([]string{"create"}, "", "pods/eviction"),
		rule(write, "", "configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
			"replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"),
		rule([]string{"create"}, "", "serviceaccounts/token"),
		rule(write, "apps", "daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
			"replicasets/scale", "statefulsets", "statefulsets/scale"),
		rule(write, "autoscaling", "horizontalpodautoscalers"),
		rule(write, "batch", "cronjobs", "jobs"),
		rule(write, "policy", "poddisruptionbudgets"),
		rule(write, "networking.k8s.io", "ingresses", "networkpolicies"),
		rule(append(read, write...), "coordination.k8s.io", "leases"),
	)
}

func adminRules() []*rbacv1.PolicyRule {
	return append(editRules(),
		rule([]string{"create"}, "authorization.k8s.io", "localsubjectaccessreviews"),
		rule(append(read, write...), rbacGroup, "rolebindings", "roles"),
	)
}

// bootstrapClusterRoles are the cluster roles that exist from the first
// start.
func bootstrapClusterRoles() []*rbacv1.ClusterRole {
	cr := func(name string, rules ...*rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{Metadata: bootstrapMeta(name), Rules: rules}
	}
	return []*rbacv1.ClusterRole{
		cr("cluster-admin", rule([]string{"*"}, "*", "*"), urls([]string{"*"}, "*")),
		cr("admin", adminRules()...),
		cr("edit", editRules()...),
		cr("view", viewRules()...),
		cr("system:discovery", urls([]string{"get"}, "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
			"/openapi", "/openapi/*", "/readyz", "/version", "/version/")),
		cr("system:basic-user",
			rule([]string{"create"}, "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule([]string{"create"}, "authentication.k8s.io", "selfsubjectreviews")),
		cr("system:public-info-viewer", urls([]string{"get"}, "/healthz", "/livez", "/readyz", "/version", "/version/")),
	}
}

// bootstrapClusterRoleBindings bind them: cluster-admin to
// system:masters, discovery and self-review to every authenticated user,
// public information to everyone.
func bootstrapClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	group := func(name string) *rbacv1.Subject {
		return &rbacv1.Subject{Kind: "Group", ApiGroup: rbacGroup, Name: name}
	}
	crb := func(name string, subjects ...*rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			Metadata: bootstrapMeta(name),
			RoleRef:  &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: name},
			Subjects: subjects,
		}
	}
	return []*rbacv1.ClusterRoleBinding{
		crb("cluster-admin", group("system:masters")),
		crb("system:discovery", group("system:authenticated")),
		crb("system:basic-user", group("system:authenticated")),
		crb("system:public-info-viewer", group("system:authenticated"), group("system:unauthenticated")),
	}
}

func bootstrapMeta(name string) *corev1.ObjectMeta {
	return &corev1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"},
		Annotations: map[string]string{"rbac.authorization.kubernetes.io/autoupdate": "true"},
	}
}

// EnsureRBACBootstrap creates the bootstrap cluster roles and bindings
// that are missing; existing ones are left as they are (an administrator
// may have changed them).
func (s *Service) EnsureRBACBootstrap(ctx context.Context) error {
	if s.rbac == nil {
		return nil
	}
	ctx = context.WithValue(ctx, bootstrapKey{}, true)
	for _, cr := range bootstrapClusterRoles() {
		if _, err := s.rbac.clusterRoles.create(ctx, "", cr, writeOptions{manager: managerAPIServer}); err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			return fmt.Errorf("creating cluster role %s: %w", cr.GetMetadata().GetName(), err)
		}
	}
	for _, b := range bootstrapClusterRoleBindings() {
		if _, err := s.rbac.clusterRoleBindings.create(ctx, "", b, writeOptions{manager: managerAPIServer}); err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			return fmt.Errorf("creating cluster role binding %s: %w", b.GetMetadata().GetName(), err)
		}
	}
	return nil
}
