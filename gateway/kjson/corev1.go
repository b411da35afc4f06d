package kjson

import (
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// CoreV1Types returns a registry of portico.core.v1 as kube-apiserver's
// core/v1 and meta/v1 JSON has it. AlwaysEmit lists what Go's
// encoding/json prints even when empty for the Kubernetes types: their
// non-pointer structs (metadata, a Namespace's spec and status), fields
// without omitempty (an OwnerReference's apiVersion, kind, name and uid; a
// list's items) and non-omitzero Times (printed as null).
func CoreV1Types() *Types {
	t := NewTypes()
	object := []string{"metadata"}
	t.MustRegister(&corev1.Namespace{}, Type{APIVersion: "v1", Kind: "Namespace", AlwaysEmit: []string{"metadata", "spec", "status"}})
	t.MustRegister(&corev1.ListNamespacesResponse{}, Type{APIVersion: "v1", Kind: "NamespaceList", AlwaysEmit: []string{"metadata", "items"}})
	t.MustRegister(&corev1.WatchNamespacesResponse{}, Type{AlwaysEmit: []string{"type", "object"}, Objects: []string{"object"}})
	t.MustRegister(&corev1.NamespaceCondition{}, Type{AlwaysEmit: []string{"type", "status", "lastTransitionTime"}})

	t.MustRegister(&corev1.ConfigMap{}, Type{APIVersion: "v1", Kind: "ConfigMap", AlwaysEmit: object})
	t.MustRegister(&corev1.ListConfigMapsResponse{}, Type{APIVersion: "v1", Kind: "ConfigMapList", AlwaysEmit: []string{"metadata", "items"}})
	t.MustRegister(&corev1.WatchConfigMapsResponse{}, Type{AlwaysEmit: []string{"type", "object"}, Objects: []string{"object"}})

	t.MustRegister(&corev1.Status{}, Type{APIVersion: "v1", Kind: "Status", AlwaysEmit: object})
	t.MustRegister(&corev1.DeleteOptions{}, Type{APIVersion: "v1", Kind: "DeleteOptions", AcceptAPIVersions: []string{"meta.k8s.io/v1"}})
	t.MustRegister(&corev1.OwnerReference{}, Type{AlwaysEmit: []string{"apiVersion", "kind", "name", "uid"}})
	return t
}
