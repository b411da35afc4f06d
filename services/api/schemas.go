package api

import (
	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
)

// strategicSchema is the k8s.io/api Go type whose struct tags
// (patchStrategy, patchMergeKey: containers merge by name, ports by
// containerPort, ...) drive a strategic merge patch of a kind; nil for
// kinds without one, which then refuse that patch type.
func strategicSchema(group, kind string) func() any {
	var mk func() any
	switch group + "/" + kind {
	case "/Namespace":
		mk = func() any { return &k8scorev1.Namespace{} }
	case "/ConfigMap":
		mk = func() any { return &k8scorev1.ConfigMap{} }
	case "/Secret":
		mk = func() any { return &k8scorev1.Secret{} }
	case "/Pod":
		mk = func() any { return &k8scorev1.Pod{} }
	case "/Service":
		mk = func() any { return &k8scorev1.Service{} }
	case "/Endpoints":
		mk = func() any { return &k8scorev1.Endpoints{} }
	case "/Event":
		mk = func() any { return &k8scorev1.Event{} }
	case "/Node":
		mk = func() any { return &k8scorev1.Node{} }
	case "/ServiceAccount":
		mk = func() any { return &k8scorev1.ServiceAccount{} }
	case "rbac.authorization.k8s.io/Role":
		mk = func() any { return &k8srbacv1.Role{} }
	case "rbac.authorization.k8s.io/ClusterRole":
		mk = func() any { return &k8srbacv1.ClusterRole{} }
	case "rbac.authorization.k8s.io/RoleBinding":
		mk = func() any { return &k8srbacv1.RoleBinding{} }
	case "rbac.authorization.k8s.io/ClusterRoleBinding":
		mk = func() any { return &k8srbacv1.ClusterRoleBinding{} }
	}
	return mk
}
