package main

import (
	"reflect"
	"slices"

	k8sadmissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	k8sappsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	k8sautoscalingv1 "k8s.io/api/autoscaling/v1"
	k8sautoscalingv2 "k8s.io/api/autoscaling/v2"
	k8sbatchv1 "k8s.io/api/batch/v1"
	k8scertificatesv1 "k8s.io/api/certificates/v1"
	k8scoordinationv1 "k8s.io/api/coordination/v1"
	k8scorev1 "k8s.io/api/core/v1"
	k8sdiscoveryv1 "k8s.io/api/discovery/v1"
	k8seventsv1 "k8s.io/api/events/v1"
	k8sflowcontrolv1 "k8s.io/api/flowcontrol/v1"
	k8snetworkingv1 "k8s.io/api/networking/v1"
	k8snodev1 "k8s.io/api/node/v1"
	k8spolicyv1 "k8s.io/api/policy/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	k8sresourcev1 "k8s.io/api/resource/v1"
	k8sschedulingv1 "k8s.io/api/scheduling/v1"
	k8sstoragev1 "k8s.io/api/storage/v1"
	k8sstoragemigrationv1 "k8s.io/api/storagemigration/v1"
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

// served reports whether any kind is served from the package (one may
// only hold messages other packages refer to).
func (p *outPackage) served() bool {
	for _, k := range kinds {
		if k.Pkg == p {
			return true
		}
	}
	return false
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
		// TokenRequest and Scale, the objects of subresources, live here:
		// Scale in its own package would import core (ObjectMeta) while
		// core's ReplicationController service imports it.
		K8sPackages: []string{"k8s.io.api.core.v1", "k8s.io.api.authentication.v1", "k8s.io.api.autoscaling.v1"},
		Doc:         "The core/v1 kinds (and authentication/v1 TokenRequest, autoscaling/v1 Scale), mirroring k8s.io/api."}
	rbacPkg = &outPackage{Proto: "portico.rbac.v1", Dir: "portico/rbac/v1", GoPath: "github.com/portico-dev/portico/proto/portico/rbac/v1", GoAlias: "rbacv1", Group: "rbac.authorization.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.rbac.v1"}}
	coordinationPkg = &outPackage{Proto: "portico.coordination.v1", Dir: "portico/coordination/v1", GoPath: "github.com/portico-dev/portico/proto/portico/coordination/v1", GoAlias: "coordinationv1", Group: "coordination.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.coordination.v1"}}
	appsPkg = &outPackage{Proto: "portico.apps.v1", Dir: "portico/apps/v1", GoPath: "github.com/portico-dev/portico/proto/portico/apps/v1", GoAlias: "appsv1", Group: "apps", Version: "v1",
		K8sPackages: []string{"k8s.io.api.apps.v1"}}
	autoscalingPkg = &outPackage{Proto: "portico.autoscaling.v2", Dir: "portico/autoscaling/v2", GoPath: "github.com/portico-dev/portico/proto/portico/autoscaling/v2", GoAlias: "autoscalingv2", Group: "autoscaling", Version: "v2",
		K8sPackages: []string{"k8s.io.api.autoscaling.v2"}}
	batchPkg = &outPackage{Proto: "portico.batch.v1", Dir: "portico/batch/v1", GoPath: "github.com/portico-dev/portico/proto/portico/batch/v1", GoAlias: "batchv1", Group: "batch", Version: "v1",
		K8sPackages: []string{"k8s.io.api.batch.v1"}}
	certificatesPkg = &outPackage{Proto: "portico.certificates.v1", Dir: "portico/certificates/v1", GoPath: "github.com/portico-dev/portico/proto/portico/certificates/v1", GoAlias: "certificatesv1", Group: "certificates.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.certificates.v1"}}
	discoveryPkg = &outPackage{Proto: "portico.discovery.v1", Dir: "portico/discovery/v1", GoPath: "github.com/portico-dev/portico/proto/portico/discovery/v1", GoAlias: "discoveryv1", Group: "discovery.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.discovery.v1"}}
	eventsPkg = &outPackage{Proto: "portico.events.v1", Dir: "portico/events/v1", GoPath: "github.com/portico-dev/portico/proto/portico/events/v1", GoAlias: "eventsv1", Group: "events.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.events.v1"}}
	networkingPkg = &outPackage{Proto: "portico.networking.v1", Dir: "portico/networking/v1", GoPath: "github.com/portico-dev/portico/proto/portico/networking/v1", GoAlias: "networkingv1", Group: "networking.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.networking.v1"}}
	nodePkg = &outPackage{Proto: "portico.node.v1", Dir: "portico/node/v1", GoPath: "github.com/portico-dev/portico/proto/portico/node/v1", GoAlias: "nodev1", Group: "node.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.node.v1"}}
	policyPkg = &outPackage{Proto: "portico.policy.v1", Dir: "portico/policy/v1", GoPath: "github.com/portico-dev/portico/proto/portico/policy/v1", GoAlias: "policyv1", Group: "policy", Version: "v1",
		K8sPackages: []string{"k8s.io.api.policy.v1"}}
	resourcePkg = &outPackage{Proto: "portico.resource.v1", Dir: "portico/resource/v1", GoPath: "github.com/portico-dev/portico/proto/portico/resource/v1", GoAlias: "resourcev1", Group: "resource.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.resource.v1"}}
	schedulingPkg = &outPackage{Proto: "portico.scheduling.v1", Dir: "portico/scheduling/v1", GoPath: "github.com/portico-dev/portico/proto/portico/scheduling/v1", GoAlias: "schedulingv1", Group: "scheduling.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.scheduling.v1"}}
	admissionregistrationPkg = &outPackage{Proto: "portico.admissionregistration.v1", Dir: "portico/admissionregistration/v1", GoPath: "github.com/portico-dev/portico/proto/portico/admissionregistration/v1", GoAlias: "admissionregistrationv1", Group: "admissionregistration.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.admissionregistration.v1"}}
	flowcontrolPkg = &outPackage{Proto: "portico.flowcontrol.v1", Dir: "portico/flowcontrol/v1", GoPath: "github.com/portico-dev/portico/proto/portico/flowcontrol/v1", GoAlias: "flowcontrolv1", Group: "flowcontrol.apiserver.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.flowcontrol.v1"}}
	storagemigrationPkg = &outPackage{Proto: "portico.storagemigration.v1", Dir: "portico/storagemigration/v1", GoPath: "github.com/portico-dev/portico/proto/portico/storagemigration/v1", GoAlias: "storagemigrationv1", Group: "storagemigration.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.storagemigration.v1"}}
	// schedulingAlphaPkg holds the scheduling.k8s.io/v1alpha3 messages
	// batch/v1 Jobs refer to; none of its kinds is served.
	schedulingAlphaPkg = &outPackage{Proto: "portico.scheduling.v1alpha3", Dir: "portico/scheduling/v1alpha3", GoPath: "github.com/portico-dev/portico/proto/portico/scheduling/v1alpha3", GoAlias: "schedulingv1alpha3", Group: "scheduling.k8s.io", Version: "v1alpha3",
		K8sPackages: []string{"k8s.io.api.scheduling.v1alpha3"}}
	storagePkg = &outPackage{Proto: "portico.storage.v1", Dir: "portico/storage/v1", GoPath: "github.com/portico-dev/portico/proto/portico/storage/v1", GoAlias: "storagev1", Group: "storage.k8s.io", Version: "v1",
		K8sPackages: []string{"k8s.io.api.storage.v1"}}
)

// outPackages are the generated packages, core first (it holds meta/v1).
var outPackages = []*outPackage{corePkg, rbacPkg, coordinationPkg, admissionregistrationPkg, flowcontrolPkg, storagemigrationPkg, appsPkg, autoscalingPkg, batchPkg, certificatesPkg, discoveryPkg, eventsPkg, networkingPkg, nodePkg, policyPkg, resourcePkg, schedulingPkg, schedulingAlphaPkg, storagePkg}

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
	{"k8s.io/api", "admissionregistration/v1/generated.proto"},
	{"k8s.io/api", "flowcontrol/v1/generated.proto"},
	{"k8s.io/api", "storagemigration/v1/generated.proto"},
	{"k8s.io/api", "apps/v1/generated.proto"},
	{"k8s.io/api", "autoscaling/v1/generated.proto"},
	{"k8s.io/api", "autoscaling/v2/generated.proto"},
	{"k8s.io/api", "batch/v1/generated.proto"},
	{"k8s.io/api", "certificates/v1/generated.proto"},
	{"k8s.io/api", "discovery/v1/generated.proto"},
	{"k8s.io/api", "events/v1/generated.proto"},
	{"k8s.io/api", "networking/v1/generated.proto"},
	{"k8s.io/api", "node/v1/generated.proto"},
	{"k8s.io/api", "policy/v1/generated.proto"},
	{"k8s.io/api", "resource/v1/generated.proto"},
	{"k8s.io/api", "scheduling/v1/generated.proto"},
	{"k8s.io/api", "scheduling/v1alpha3/generated.proto"},
	{"k8s.io/api", "storage/v1/generated.proto"},
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
	Verbs []string
	// Object replaces the kind's object in get, update and patch
	// (scale: autoscaling/v1 Scale).
	Object reflect.Type
	Body   reflect.Type // create: the object posted
	Result reflect.Type // create: the object answered
	// Collection is a namespace's collection that takes the same create,
	// the object named in the body (pods/binding: bindings).
	Collection string
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

// scale is the object of every scale subresource.
var scale = t[k8sautoscalingv1.Scale]()

// kinds are the resources, in the order of kube-apiserver's discovery.
var kinds = []*kind{
	{Pkg: corePkg, Go: t[k8scorev1.ConfigMap](), List: t[k8scorev1.ConfigMapList](), Kind: "ConfigMap", PluralKind: "ConfigMaps", Resource: "configmaps", Singular: "configmap", ShortNames: []string{"cm"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Endpoints](), List: t[k8scorev1.EndpointsList](), Kind: "Endpoints", PluralKind: "Endpoints", Resource: "endpoints", Singular: "endpoints", ShortNames: []string{"ep"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Event](), List: t[k8scorev1.EventList](), Kind: "Event", PluralKind: "Events", Resource: "events", Singular: "event", ShortNames: []string{"ev"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.LimitRange](), List: t[k8scorev1.LimitRangeList](), Kind: "LimitRange", PluralKind: "LimitRanges", Resource: "limitranges", Singular: "limitrange", ShortNames: []string{"limits"}, Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.Namespace](), List: t[k8scorev1.NamespaceList](), Kind: "Namespace", PluralKind: "Namespaces", Resource: "namespaces", Singular: "namespace", ShortNames: []string{"ns"}, NoDeleteCollection: true,
		Subresources: []subresource{{Name: "finalize", Verbs: []string{"update"}}, {Name: "status", Verbs: []string{"update"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.Node](), List: t[k8scorev1.NodeList](), Kind: "Node", PluralKind: "Nodes", Resource: "nodes", Singular: "node", ShortNames: []string{"no"},
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.PersistentVolumeClaim](), List: t[k8scorev1.PersistentVolumeClaimList](), Kind: "PersistentVolumeClaim", PluralKind: "PersistentVolumeClaims", Resource: "persistentvolumeclaims", Singular: "persistentvolumeclaim", ShortNames: []string{"pvc"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.PersistentVolume](), List: t[k8scorev1.PersistentVolumeList](), Kind: "PersistentVolume", PluralKind: "PersistentVolumes", Resource: "persistentvolumes", Singular: "persistentvolume", ShortNames: []string{"pv"},
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.Pod](), List: t[k8scorev1.PodList](), Kind: "Pod", PluralKind: "Pods", Resource: "pods", Singular: "pod", ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "binding", Verbs: []string{"create"}, Body: t[k8scorev1.Binding](), Result: t[metav1.Status](), Collection: "bindings"},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},
	{Pkg: corePkg, Go: t[k8scorev1.PodTemplate](), List: t[k8scorev1.PodTemplateList](), Kind: "PodTemplate", PluralKind: "PodTemplates", Resource: "podtemplates", Singular: "podtemplate", Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.ReplicationController](), List: t[k8scorev1.ReplicationControllerList](), Kind: "ReplicationController", PluralKind: "ReplicationControllers", Resource: "replicationcontrollers", Singular: "replicationcontroller", ShortNames: []string{"rc"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "scale", Verbs: []string{"get", "update", "patch"}, Object: scale},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},
	{Pkg: corePkg, Go: t[k8scorev1.ResourceQuota](), List: t[k8scorev1.ResourceQuotaList](), Kind: "ResourceQuota", PluralKind: "ResourceQuotas", Resource: "resourcequotas", Singular: "resourcequota", ShortNames: []string{"quota"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: corePkg, Go: t[k8scorev1.Secret](), List: t[k8scorev1.SecretList](), Kind: "Secret", PluralKind: "Secrets", Resource: "secrets", Singular: "secret", Namespaced: true},
	{Pkg: corePkg, Go: t[k8scorev1.ServiceAccount](), List: t[k8scorev1.ServiceAccountList](), Kind: "ServiceAccount", PluralKind: "ServiceAccounts", Resource: "serviceaccounts", Singular: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true,
		Subresources: []subresource{{Name: "token", Verbs: []string{"create"}, Body: t[authenticationv1.TokenRequest](), Result: t[authenticationv1.TokenRequest]()}}},
	{Pkg: corePkg, Go: t[k8scorev1.Service](), List: t[k8scorev1.ServiceList](), Kind: "Service", PluralKind: "Services", Resource: "services", Singular: "service", ShortNames: []string{"svc"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: rbacPkg, Go: t[k8srbacv1.ClusterRoleBinding](), List: t[k8srbacv1.ClusterRoleBindingList](), Kind: "ClusterRoleBinding", PluralKind: "ClusterRoleBindings", Resource: "clusterrolebindings", Singular: "clusterrolebinding"},
	{Pkg: rbacPkg, Go: t[k8srbacv1.ClusterRole](), List: t[k8srbacv1.ClusterRoleList](), Kind: "ClusterRole", PluralKind: "ClusterRoles", Resource: "clusterroles", Singular: "clusterrole"},
	{Pkg: rbacPkg, Go: t[k8srbacv1.RoleBinding](), List: t[k8srbacv1.RoleBindingList](), Kind: "RoleBinding", PluralKind: "RoleBindings", Resource: "rolebindings", Singular: "rolebinding", Namespaced: true},
	{Pkg: rbacPkg, Go: t[k8srbacv1.Role](), List: t[k8srbacv1.RoleList](), Kind: "Role", PluralKind: "Roles", Resource: "roles", Singular: "role", Namespaced: true},

	{Pkg: coordinationPkg, Go: t[k8scoordinationv1.Lease](), List: t[k8scoordinationv1.LeaseList](), Kind: "Lease", PluralKind: "Leases", Resource: "leases", Singular: "lease", Namespaced: true},

	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.MutatingAdmissionPolicy](), List: t[k8sadmissionregistrationv1.MutatingAdmissionPolicyList](), Kind: "MutatingAdmissionPolicy", PluralKind: "MutatingAdmissionPolicies", Resource: "mutatingadmissionpolicies", Singular: "mutatingadmissionpolicy", Categories: []string{"api-extensions"}},
	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.MutatingAdmissionPolicyBinding](), List: t[k8sadmissionregistrationv1.MutatingAdmissionPolicyBindingList](), Kind: "MutatingAdmissionPolicyBinding", PluralKind: "MutatingAdmissionPolicyBindings", Resource: "mutatingadmissionpolicybindings", Singular: "mutatingadmissionpolicybinding", Categories: []string{"api-extensions"}},
	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.MutatingWebhookConfiguration](), List: t[k8sadmissionregistrationv1.MutatingWebhookConfigurationList](), Kind: "MutatingWebhookConfiguration", PluralKind: "MutatingWebhookConfigurations", Resource: "mutatingwebhookconfigurations", Singular: "mutatingwebhookconfiguration", Categories: []string{"api-extensions"}},
	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.ValidatingAdmissionPolicy](), List: t[k8sadmissionregistrationv1.ValidatingAdmissionPolicyList](), Kind: "ValidatingAdmissionPolicy", PluralKind: "ValidatingAdmissionPolicies", Resource: "validatingadmissionpolicies", Singular: "validatingadmissionpolicy", Categories: []string{"api-extensions"},
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.ValidatingAdmissionPolicyBinding](), List: t[k8sadmissionregistrationv1.ValidatingAdmissionPolicyBindingList](), Kind: "ValidatingAdmissionPolicyBinding", PluralKind: "ValidatingAdmissionPolicyBindings", Resource: "validatingadmissionpolicybindings", Singular: "validatingadmissionpolicybinding", Categories: []string{"api-extensions"}},
	{Pkg: admissionregistrationPkg, Go: t[k8sadmissionregistrationv1.ValidatingWebhookConfiguration](), List: t[k8sadmissionregistrationv1.ValidatingWebhookConfigurationList](), Kind: "ValidatingWebhookConfiguration", PluralKind: "ValidatingWebhookConfigurations", Resource: "validatingwebhookconfigurations", Singular: "validatingwebhookconfiguration", Categories: []string{"api-extensions"}},

	{Pkg: flowcontrolPkg, Go: t[k8sflowcontrolv1.FlowSchema](), List: t[k8sflowcontrolv1.FlowSchemaList](), Kind: "FlowSchema", PluralKind: "FlowSchemas", Resource: "flowschemas", Singular: "flowschema",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: flowcontrolPkg, Go: t[k8sflowcontrolv1.PriorityLevelConfiguration](), List: t[k8sflowcontrolv1.PriorityLevelConfigurationList](), Kind: "PriorityLevelConfiguration", PluralKind: "PriorityLevelConfigurations", Resource: "prioritylevelconfigurations", Singular: "prioritylevelconfiguration",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: storagemigrationPkg, Go: t[k8sstoragemigrationv1.StorageVersionMigration](), List: t[k8sstoragemigrationv1.StorageVersionMigrationList](), Kind: "StorageVersionMigration", PluralKind: "StorageVersionMigrations", Resource: "storageversionmigrations", Singular: "storageversionmigration",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: appsPkg, Go: t[k8sappsv1.ControllerRevision](), List: t[k8sappsv1.ControllerRevisionList](), Kind: "ControllerRevision", PluralKind: "ControllerRevisions", Resource: "controllerrevisions", Singular: "controllerrevision", Namespaced: true},
	{Pkg: appsPkg, Go: t[k8sappsv1.DaemonSet](), List: t[k8sappsv1.DaemonSetList](), Kind: "DaemonSet", PluralKind: "DaemonSets", Resource: "daemonsets", Singular: "daemonset", ShortNames: []string{"ds"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: appsPkg, Go: t[k8sappsv1.Deployment](), List: t[k8sappsv1.DeploymentList](), Kind: "Deployment", PluralKind: "Deployments", Resource: "deployments", Singular: "deployment", ShortNames: []string{"deploy"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "scale", Verbs: []string{"get", "update", "patch"}, Object: scale},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},
	{Pkg: appsPkg, Go: t[k8sappsv1.ReplicaSet](), List: t[k8sappsv1.ReplicaSetList](), Kind: "ReplicaSet", PluralKind: "ReplicaSets", Resource: "replicasets", Singular: "replicaset", ShortNames: []string{"rs"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "scale", Verbs: []string{"get", "update", "patch"}, Object: scale},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},
	{Pkg: appsPkg, Go: t[k8sappsv1.StatefulSet](), List: t[k8sappsv1.StatefulSetList](), Kind: "StatefulSet", PluralKind: "StatefulSets", Resource: "statefulsets", Singular: "statefulset", ShortNames: []string{"sts"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{
			{Name: "scale", Verbs: []string{"get", "update", "patch"}, Object: scale},
			{Name: "status", Verbs: []string{"get", "update", "patch"}},
		}},

	{Pkg: autoscalingPkg, Go: t[k8sautoscalingv2.HorizontalPodAutoscaler](), List: t[k8sautoscalingv2.HorizontalPodAutoscalerList](), Kind: "HorizontalPodAutoscaler", PluralKind: "HorizontalPodAutoscalers", Resource: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", ShortNames: []string{"hpa"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: batchPkg, Go: t[k8sbatchv1.CronJob](), List: t[k8sbatchv1.CronJobList](), Kind: "CronJob", PluralKind: "CronJobs", Resource: "cronjobs", Singular: "cronjob", ShortNames: []string{"cj"}, Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: batchPkg, Go: t[k8sbatchv1.Job](), List: t[k8sbatchv1.JobList](), Kind: "Job", PluralKind: "Jobs", Resource: "jobs", Singular: "job", Categories: []string{"all"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: certificatesPkg, Go: t[k8scertificatesv1.CertificateSigningRequest](), List: t[k8scertificatesv1.CertificateSigningRequestList](), Kind: "CertificateSigningRequest", PluralKind: "CertificateSigningRequests", Resource: "certificatesigningrequests", Singular: "certificatesigningrequest", ShortNames: []string{"csr"},
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: certificatesPkg, Go: t[k8scertificatesv1.ClusterTrustBundle](), List: t[k8scertificatesv1.ClusterTrustBundleList](), Kind: "ClusterTrustBundle", PluralKind: "ClusterTrustBundles", Resource: "clustertrustbundles", Singular: "clustertrustbundle"},
	{Pkg: certificatesPkg, Go: t[k8scertificatesv1.PodCertificateRequest](), List: t[k8scertificatesv1.PodCertificateRequestList](), Kind: "PodCertificateRequest", PluralKind: "PodCertificateRequests", Resource: "podcertificaterequests", Singular: "podcertificaterequest", Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: discoveryPkg, Go: t[k8sdiscoveryv1.EndpointSlice](), List: t[k8sdiscoveryv1.EndpointSliceList](), Kind: "EndpointSlice", PluralKind: "EndpointSlices", Resource: "endpointslices", Singular: "endpointslice", Namespaced: true},

	{Pkg: eventsPkg, Go: t[k8seventsv1.Event](), List: t[k8seventsv1.EventList](), Kind: "Event", PluralKind: "Events", Resource: "events", Singular: "event", ShortNames: []string{"ev"}, Namespaced: true},

	{Pkg: networkingPkg, Go: t[k8snetworkingv1.IngressClass](), List: t[k8snetworkingv1.IngressClassList](), Kind: "IngressClass", PluralKind: "IngressClasses", Resource: "ingressclasses", Singular: "ingressclass"},
	{Pkg: networkingPkg, Go: t[k8snetworkingv1.Ingress](), List: t[k8snetworkingv1.IngressList](), Kind: "Ingress", PluralKind: "Ingresses", Resource: "ingresses", Singular: "ingress", ShortNames: []string{"ing"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: networkingPkg, Go: t[k8snetworkingv1.IPAddress](), List: t[k8snetworkingv1.IPAddressList](), Kind: "IPAddress", PluralKind: "IPAddresses", Resource: "ipaddresses", Singular: "ipaddress", ShortNames: []string{"ip"}},
	{Pkg: networkingPkg, Go: t[k8snetworkingv1.NetworkPolicy](), List: t[k8snetworkingv1.NetworkPolicyList](), Kind: "NetworkPolicy", PluralKind: "NetworkPolicies", Resource: "networkpolicies", Singular: "networkpolicy", ShortNames: []string{"netpol"}, Namespaced: true},
	{Pkg: networkingPkg, Go: t[k8snetworkingv1.ServiceCIDR](), List: t[k8snetworkingv1.ServiceCIDRList](), Kind: "ServiceCIDR", PluralKind: "ServiceCIDRs", Resource: "servicecidrs", Singular: "servicecidr",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: nodePkg, Go: t[k8snodev1.RuntimeClass](), List: t[k8snodev1.RuntimeClassList](), Kind: "RuntimeClass", PluralKind: "RuntimeClasses", Resource: "runtimeclasses", Singular: "runtimeclass"},

	{Pkg: policyPkg, Go: t[k8spolicyv1.PodDisruptionBudget](), List: t[k8spolicyv1.PodDisruptionBudgetList](), Kind: "PodDisruptionBudget", PluralKind: "PodDisruptionBudgets", Resource: "poddisruptionbudgets", Singular: "poddisruptionbudget", ShortNames: []string{"pdb"}, Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},

	{Pkg: resourcePkg, Go: t[k8sresourcev1.DeviceClass](), List: t[k8sresourcev1.DeviceClassList](), Kind: "DeviceClass", PluralKind: "DeviceClasses", Resource: "deviceclasses", Singular: "deviceclass"},
	{Pkg: resourcePkg, Go: t[k8sresourcev1.DeviceTaintRule](), List: t[k8sresourcev1.DeviceTaintRuleList](), Kind: "DeviceTaintRule", PluralKind: "DeviceTaintRules", Resource: "devicetaintrules", Singular: "devicetaintrule",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: resourcePkg, Go: t[k8sresourcev1.ResourceClaim](), List: t[k8sresourcev1.ResourceClaimList](), Kind: "ResourceClaim", PluralKind: "ResourceClaims", Resource: "resourceclaims", Singular: "resourceclaim", Namespaced: true,
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: resourcePkg, Go: t[k8sresourcev1.ResourceClaimTemplate](), List: t[k8sresourcev1.ResourceClaimTemplateList](), Kind: "ResourceClaimTemplate", PluralKind: "ResourceClaimTemplates", Resource: "resourceclaimtemplates", Singular: "resourceclaimtemplate", Namespaced: true},
	{Pkg: resourcePkg, Go: t[k8sresourcev1.ResourceSlice](), List: t[k8sresourcev1.ResourceSliceList](), Kind: "ResourceSlice", PluralKind: "ResourceSlices", Resource: "resourceslices", Singular: "resourceslice"},

	{Pkg: schedulingPkg, Go: t[k8sschedulingv1.PriorityClass](), List: t[k8sschedulingv1.PriorityClassList](), Kind: "PriorityClass", PluralKind: "PriorityClasses", Resource: "priorityclasses", Singular: "priorityclass", ShortNames: []string{"pc"}},

	{Pkg: storagePkg, Go: t[k8sstoragev1.CSIDriver](), List: t[k8sstoragev1.CSIDriverList](), Kind: "CSIDriver", PluralKind: "CSIDrivers", Resource: "csidrivers", Singular: "csidriver"},
	{Pkg: storagePkg, Go: t[k8sstoragev1.CSINode](), List: t[k8sstoragev1.CSINodeList](), Kind: "CSINode", PluralKind: "CSINodes", Resource: "csinodes", Singular: "csinode",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: storagePkg, Go: t[k8sstoragev1.CSIStorageCapacity](), List: t[k8sstoragev1.CSIStorageCapacityList](), Kind: "CSIStorageCapacity", PluralKind: "CSIStorageCapacities", Resource: "csistoragecapacities", Singular: "csistoragecapacity", Namespaced: true},
	{Pkg: storagePkg, Go: t[k8sstoragev1.StorageClass](), List: t[k8sstoragev1.StorageClassList](), Kind: "StorageClass", PluralKind: "StorageClasses", Resource: "storageclasses", Singular: "storageclass", ShortNames: []string{"sc"}},
	{Pkg: storagePkg, Go: t[k8sstoragev1.VolumeAttachment](), List: t[k8sstoragev1.VolumeAttachmentList](), Kind: "VolumeAttachment", PluralKind: "VolumeAttachments", Resource: "volumeattachments", Singular: "volumeattachment",
		Subresources: []subresource{{Name: "status", Verbs: []string{"get", "update", "patch"}}}},
	{Pkg: storagePkg, Go: t[k8sstoragev1.VolumeAttributesClass](), List: t[k8sstoragev1.VolumeAttributesClassList](), Kind: "VolumeAttributesClass", PluralKind: "VolumeAttributesClasses", Resource: "volumeattributesclasses", Singular: "volumeattributesclass", ShortNames: []string{"vac"}},
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
