package main

import (
	"reflect"
	"slices"

	authenticationv1 "k8s.io/api/authentication/v1"
	k8scoordinationv1 "k8s.io/api/coordination/v1"
	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// outPackage is one generated proto package.
type outPackage struct {
	Proto   string // portico.core.v1
	Dir     string // portico/core/v1 (under proto/)
	GoPath  string // Go import path of the generated code
	GoAlias string // corev1
	// Group and Version are the Kubernetes API group served from it.
	Group, Version string
	// K8sPackages are the k8s.io/api proto packages whose messages it
	// holds (k8s.io.api.rbac.v1).
	K8sPackages []string
	// Doc is the package comment of its types.proto.
	Doc string
}

func (p *outPackage) GoPackage() string { return p.GoPath + ";" + p.GoAlias }

// APIVersion is the group/version ("v1" for the core group).
func (p *outPackage) APIVersion() string {
	if p.Group == "" {
		return p.Version
	}
	return p.Group + "/" + p.Version
}

// PathPrefix is the REST prefix of the group: /api/v1, /apis/<group>/v1.
func (p *outPackage) PathPrefix() string {
	if p.Group == "" {
		return "/api/" + p.Version
	}
	return "/apis/" + p.Group + "/" + p.Version
}

var (
	corePkg = &outPackage{Proto: "portico.core.v1", Dir: "portico/core/v1", GoPath: "github.com/portico-dev/portico/proto/portico/core/v1", GoAlias: "corev1", Version: "v1",
		K8sPackages: []string{"k8s.io.api.core.v1", "k8s.io.api.authentication.v1"},
		Doc:         "The core/v1 kinds (and authentication/v1 TokenRequest), mirroring k8s.io/api."}
	rbacPkg = &outPackage{Proto: "portico.rbac.v1", Dir: "portico/rbac/v1", GoPath: "github.com/portico-dev/portico/proto/portico/rbac/v1", GoAlias: "rbacv1", Group: "rbac.authorization.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.rbac.v1"}}
	coordinationPkg = &outPackage{Proto: "portico.coordination.v1", Dir: "portico/coordination/v1", GoPath: "github.com/portico-dev/portico/proto/portico/coordination/v1", GoAlias: "coordinationv1", Group: "coordination.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.coordination.v1"}}
)

// outPackages are the generated packages, core first (it holds meta/v1).
var outPackages = []*outPackage{corePkg, rbacPkg, coordinationPkg}

// k8sFiles are the generated.proto files read, relative to their module.
var k8sFiles = []struct{ Module, Path string }{
	{"k8s.io/apimachinery", "pkg/apis/meta/v1/generated.proto"},
	{"k8s.io/apimachinery", "pkg/util/intstr/generated.proto"},
	{"k8s.io/apimachinery", "pkg/api/resource/generated.proto"},
	{"k8s.io/apimachinery", "pkg/runtime/generated.proto"},
	{"k8s.io/api", "core/v1/generated.proto"},
	{"k8s.io/api", "authentication/v1/generated.proto"},
	{"k8s.io/api", "rbac/v1/generated.proto"},
	{"k8s.io/api", "coordination/v1/generated.proto"},
}

// fileOf says which generated .proto a k8s message goes to.
func fileOf(k8sPackage string) (pkg *outPackage, file string) {
	for _, p := range outPackages {
		if slices.Contains(p.K8sPackages, k8sPackage) {
			return p, "types.proto"
		}
	}
	return corePkg, "meta.proto"
}

// timestampType is what meta/v1 Time becomes.
const (
	k8sTime       = "k8s.io.apimachinery.pkg.apis.meta.v1.Time"
	timestampType = "google.protobuf.Timestamp"
)

// opaque are the k8s messages with their own JSON encoding, by the
// Encoding name the generated table gives kjson: they are copied as
// k8s.io defines them, without reflecting over their Go types (whose fields
// are unexported or custom), and left out of AlwaysEmit. Messages whose Go
// type is a slice (AttestationValue, {repeated string items = 1}) are
// added as "Items".
var opaque = map[string]string{
	"k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime":  "MicroTime",
	"k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1":   "RawJSON",
	"k8s.io.apimachinery.pkg.apis.meta.v1.Duration":   "Duration",
	"k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
	"k8s.io.apimachinery.pkg.api.resource.Quantity":   "Quantity",
	"k8s.io.apimachinery.pkg.runtime.RawExtension":    "RawJSON",
}

// encodingDocs document each Encoding in the generated table.
var encodingDocs = map[string]string{
	"MicroTime":   "RFC 3339 with 6 fractional digits, in UTC; null when unset",
	"RawJSON":     "the raw field is JSON, written inline (null when empty)",
	"Duration":    "a Go duration string (\"1h2m3s\")",
	"IntOrString": "a JSON number (int_val) when type is 0, else a string (str_val)",
	"Quantity":    "its string field, as a JSON string",
	"Items":       "the items field, as a bare JSON array",
}

// subresource is a subresource served by the kind's service.
type subresource struct {
	Name string // status, binding, token, finalize
	// Verbs are get, update and patch (with the kind's object), or create
	// with Body and Result.
	Verbs  []string
	Body   reflect.Type // create: the object posted
	Result reflect.Type // create: the object answered
}

// kind is one served resource.
type kind struct {
	Pkg        *outPackage
	Go         reflect.Type // k8s Go type: k8scorev1.Pod
	List       reflect.Type // its List type, for AlwaysEmit
	Kind       string
	PluralKind string // Ks in method names: Pods, Endpoints
	Resource   string // pods
	Singular   string
	ShortNames []string
	Categories []string
	Namespaced bool
	// NoDeleteCollection: kube-apiserver serves no deletecollection.
	NoDeleteCollection bool
	Subresources       []subresource
}

func t[T any]() reflect.Type { return reflect.TypeFor[T]() }

// kinds are the resources, in the order of kube-apiserver's discovery.
var kinds = []*kind{
	{Pkg: corePkg, Go: t[k8scorev1.ConfigMap](), List: t[k8scorev1.ConfigMapList](), Kind: "ConfigMap", PluralKind: "ConfigMaps", Resource: "configmaps", Singular: "configmap", ShortNames: []string{"cm"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Endpoints](), List: t[k8scorev1.EndpointsList](), Kind: "Endpoints", PluralKind: "Endpoints", Resource: "endpoints", Singular: "endpoints", ShortNames: []string{"ep"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Event](), List: t[k8scorev1.EventList](), Kind: "Event", PluralKind: "Events", Resource: "events", Singular: "event", ShortNames: []string{"ev"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Namespace](), List: t[k8scorev1.NamespaceList](), Kind: "Namespace", PluralKind: "Namespaces", Resource: "namespaces", Singular: "namespace", ShortNames: []string{"ns"}, NoDeleteCollection: true,
		Subresources: []subresource{{Name: "finalize", Verbs: []string{"update"}}, {Name: "status", Verbs: []string{"update"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.Node](), List: t[k8scorev1.NodeList](), Kind: "Node", PluralKind: "Nodes", Resource: "nodes", Singular: "node", ShortNames: []string{"no"},
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.Pod](), List: t[k8scorev1.PodList](), Kind: "Pod", PluralKind: "Pods", Resource: "pods", Singular: "pod", ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "binding", Verbs: []string{"create"}, Body: t[k8scorev1.Binding](), Result: t[metav1.Status]()},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},
	{Pkg: corePkg, Go: t[k8scorev1.Secret](), List: t[k8scorev1.SecretList](), Kind: "Secret", PluralKind: "Secrets", Resource: "secrets", Singular: "secret", Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.ServiceAccount](), List: t[k8scorev1.ServiceAccountList](), Kind: "ServiceAccount", PluralKind: "ServiceAccounts", Resource: "serviceaccounts", Singular: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true,
		Subresources: []subresource{{Name: "token", Verbs: []string{"create"}, Body: t[authenticationv1.TokenRequest](), Result: t[authenticationv1.TokenRequest]()}}},
	{Pkg: corePkg, Go: t[k8scorev1.Service](), List: t[k8scorev1.ServiceList](), Kind: "Service", PluralKind: "Services", Resource: "services", Singular: "service", ShortNames: []string{"svc"}, Categories: []string{"all"}, Namespaced: true},

	{Pkg: rbacPkg, Go: t[k8srbacv1.ClusterRoleBinding](), List: t[k8srbacv1.ClusterRoleBindingList](), Kind: "ClusterRoleBinding", PluralKind: "ClusterRoleBindings", Resource: "clusterrolebindings", Singular: "clusterrolebinding"},
	{Pkg: rbacPkg, Go: t[k8srbacv1.ClusterRole](), List: t[k8srbacv1.ClusterRoleList](), Kind: "ClusterRole", PluralKind: "ClusterRoles", Resource: "clusterroles", Singular: "clusterrole"},
	{Pkg: rbacPkg, Go: t[k8srbacv1.RoleBinding](), List: t[k8srbacv1.RoleBindingList](), Kind: "RoleBinding", PluralKind: "RoleBindings", Resource: "rolebindings", Singular: "rolebinding", Namespaced: true},
	{Pkg: rbacPkg, Go: t[k8srbacv1.Role](), List: t[k8srbacv1.RoleList](), Kind: "Role", PluralKind: "Roles", Resource: "roles", Singular: "role", Namespaced: true},

	{Pkg: coordinationPkg, Go: t[k8scoordinationv1.Lease](), List: t[k8scoordinationv1.LeaseList](), Kind: "Lease", PluralKind: "Leases", Resource: "leases", Singular: "lease", Namespaced: true},
}

// extraRoots are further messages every package needs (the meta/v1 types
// of requests, responses and errors) and subresource bodies.
var extraRoots = []reflect.Type{
	t[metav1.ObjectMeta](), t[metav1.ListMeta](), t[metav1.OwnerReference](), t[metav1.ManagedFieldsEntry](),
	t[metav1.FieldsV1](), t[metav1.Status](), t[metav1.StatusDetails](), t[metav1.StatusCause](),
	t[metav1.DeleteOptions](), t[metav1.Preconditions](), t[metav1.LabelSelector](), t[metav1.LabelSelectorRequirement](),
	t[k8scorev1.Binding](), t[authenticationv1.TokenRequest](),
	// Metadata-only answers (Accept: ...;as=PartialObjectMetadata).
	t[metav1.PartialObjectMetadata](), t[metav1.PartialObjectMetadataList](),
}

// watchEvent is the Go type of every Watch response.
var watchEvent = t[metav1.WatchEvent]()
