// Package requestinfotest is the one table of requests that both surfaces
// must read alike: each case is a REST request and, for resources, the
// gRPC call grpc-gateway makes of it, with the attributes authorization
// must see for both. internal/requestinfo tests the REST side and
// services/api the gRPC side, so REST and gRPC decide identically.
package requestinfotest

import (
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Case is one request on both surfaces.
type Case struct {
	// Method and URL (path and query) are the REST request.
	Method, URL string
	// RPC is the full gRPC method ("/pkg.Service/Method") the same request
	// is on the gRPC surface; empty for non-resource requests and for the
	// few REST paths with no RPC.
	RPC string
	// Request is the gRPC request message in protojson.
	Request string
	// Want are the attributes both must produce.
	Want *authzv1.Attributes
}

func res(verb, group, resource, sub, ns, name string) *authzv1.Attributes {
	version := "v1"
	return &authzv1.Attributes{
		Verb: verb, ApiGroup: group, ApiVersion: version, Resource: resource, Subresource: sub,
		Namespace: ns, Name: name, ResourceRequest: true,
	}
}

func withSelectors(a *authzv1.Attributes, field, label string) *authzv1.Attributes {
	a.FieldSelector, a.LabelSelector = field, label
	return a
}

func nonResource(verb, path string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, Path: path}
}

const (
	nsSvc  = "/portico.core.v1.NamespaceService/"
	cmSvc  = "/portico.core.v1.ConfigMapService/"
	podSvc = "/portico.core.v1.PodService/"
	secSvc = "/portico.core.v1.SecretService/"
	nodSvc = "/portico.core.v1.NodeService/"
	rbac   = "/portico.rbac.v1."
)

// Cases are keyed by name.
var Cases = map[string]Case{
	// Non-resource paths: verb is the lower-case method.
	"root":               {Method: "GET", URL: "/", Want: nonResource("get", "/")},
	"healthz":            {Method: "GET", URL: "/healthz", Want: nonResource("get", "/healthz")},
	"version":            {Method: "GET", URL: "/version", Want: nonResource("get", "/version")},
	"version slash":      {Method: "GET", URL: "/version/", Want: nonResource("get", "/version/")},
	"api":                {Method: "GET", URL: "/api", Want: nonResource("get", "/api")},
	"api v1":             {Method: "GET", URL: "/api/v1", Want: nonResource("get", "/api/v1")},
	"apis":               {Method: "GET", URL: "/apis", Want: nonResource("get", "/apis")},
	"apis group":         {Method: "GET", URL: "/apis/rbac.authorization.k8s.io", Want: nonResource("get", "/apis/rbac.authorization.k8s.io")},
	"apis group version": {Method: "GET", URL: "/apis/rbac.authorization.k8s.io/v1", Want: nonResource("get", "/apis/rbac.authorization.k8s.io/v1")},
	"head healthz":       {Method: "HEAD", URL: "/healthz", Want: nonResource("head", "/healthz")},
	"post to a path":     {Method: "POST", URL: "/metrics", Want: nonResource("post", "/metrics")},
	"openapi":            {Method: "GET", URL: "/openapi/v3/api/v1?hash=ABC", Want: nonResource("get", "/openapi/v3/api/v1")},
	"unknown prefix":     {Method: "GET", URL: "/foo/v1/namespaces/x", Want: nonResource("get", "/foo/v1/namespaces/x")},

	// Namespaces: the namespace of a namespace is its own name.
	"list namespaces": {Method: "GET", URL: "/api/v1/namespaces", RPC: nsSvc + "ListNamespaces", Request: `{}`,
		Want: res("list", "", "namespaces", "", "", "")},
	"watch namespaces": {Method: "GET", URL: "/api/v1/namespaces?watch=true", RPC: nsSvc + "WatchNamespaces", Request: `{}`,
		Want: res("watch", "", "namespaces", "", "", "")},
	"legacy watch path": {Method: "GET", URL: "/api/v1/watch/namespaces", RPC: nsSvc + "WatchNamespaces", Request: `{}`,
		Want: res("watch", "", "namespaces", "", "", "")},
	"get namespace": {Method: "GET", URL: "/api/v1/namespaces/team-a", RPC: nsSvc + "GetNamespace", Request: `{"name":"team-a"}`,
		Want: res("get", "", "namespaces", "", "team-a", "team-a")},
	"create namespace": {Method: "POST", URL: "/api/v1/namespaces", RPC: nsSvc + "CreateNamespace", Request: `{"namespace":{"metadata":{"name":"team-a"}}}`,
		Want: res("create", "", "namespaces", "", "", "")},
	"update namespace": {Method: "PUT", URL: "/api/v1/namespaces/team-a", RPC: nsSvc + "UpdateNamespace", Request: `{"name":"team-a","namespace":{"metadata":{"name":"team-a"}}}`,
		Want: res("update", "", "namespaces", "", "team-a", "team-a")},
	"delete namespace": {Method: "DELETE", URL: "/api/v1/namespaces/team-a", RPC: nsSvc + "DeleteNamespace", Request: `{"name":"team-a"}`,
		Want: res("delete", "", "namespaces", "", "team-a", "team-a")},
	"namespace status": {Method: "PUT", URL: "/api/v1/namespaces/team-a/status", RPC: nsSvc + "UpdateNamespaceStatus", Request: `{"name":"team-a","namespace":{"metadata":{"name":"team-a"}}}`,
		Want: res("update", "", "namespaces", "status", "team-a", "team-a")},
	"namespace finalize": {Method: "PUT", URL: "/api/v1/namespaces/team-a/finalize", RPC: nsSvc + "UpdateNamespaceFinalize", Request: `{"name":"team-a","namespace":{"metadata":{"name":"team-a"}}}`,
		Want: res("update", "", "namespaces", "finalize", "team-a", "team-a")},

	// A namespaced kind.
	"list configmaps": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?limit=500", RPC: cmSvc + "ListConfigMaps", Request: `{"namespace":"demo","limit":"500"}`,
		Want: res("list", "", "configmaps", "", "demo", "")},
	"list configmaps everywhere": {Method: "GET", URL: "/api/v1/configmaps", RPC: cmSvc + "ListConfigMaps", Request: `{}`,
		Want: res("list", "", "configmaps", "", "", "")},
	"list by name": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?fieldSelector=metadata.name%3Dapp", RPC: cmSvc + "ListConfigMaps", Request: `{"namespace":"demo","fieldSelector":"metadata.name=app"}`,
		Want: withSelectors(res("list", "", "configmaps", "", "demo", "app"), "metadata.name=app", "")},
	"list by label": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?labelSelector=tier%3Dweb", RPC: cmSvc + "ListConfigMaps", Request: `{"namespace":"demo","labelSelector":"tier=web"}`,
		Want: withSelectors(res("list", "", "configmaps", "", "demo", ""), "", "tier=web")},
	"watch=1": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?watch=1", RPC: cmSvc + "WatchConfigMaps", Request: `{"namespace":"demo"}`,
		Want: res("watch", "", "configmaps", "", "demo", "")},
	"watch=false is a list": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?watch=false", RPC: cmSvc + "ListConfigMaps", Request: `{"namespace":"demo"}`,
		Want: res("list", "", "configmaps", "", "demo", "")},
	"watch by name": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps?watch=true&fieldSelector=metadata.name%3Dapp", RPC: cmSvc + "WatchConfigMaps", Request: `{"namespace":"demo","fieldSelector":"metadata.name=app"}`,
		Want: withSelectors(res("watch", "", "configmaps", "", "demo", "app"), "metadata.name=app", "")},
	"get configmap": {Method: "GET", URL: "/api/v1/namespaces/demo/configmaps/app", RPC: cmSvc + "GetConfigMap", Request: `{"namespace":"demo","name":"app"}`,
		Want: res("get", "", "configmaps", "", "demo", "app")},
	"head configmap": {Method: "HEAD", URL: "/api/v1/namespaces/demo/configmaps/app", RPC: cmSvc + "GetConfigMap", Request: `{"namespace":"demo","name":"app"}`,
		Want: res("get", "", "configmaps", "", "demo", "app")},
	"create configmap": {Method: "POST", URL: "/api/v1/namespaces/demo/configmaps", RPC: cmSvc + "CreateConfigMap", Request: `{"namespace":"demo","configMap":{"metadata":{"name":"app"}}}`,
		Want: res("create", "", "configmaps", "", "demo", "")},
	"update configmap": {Method: "PUT", URL: "/api/v1/namespaces/demo/configmaps/app", RPC: cmSvc + "UpdateConfigMap", Request: `{"namespace":"demo","name":"app","configMap":{"metadata":{"name":"app"}}}`,
		Want: res("update", "", "configmaps", "", "demo", "app")},
	"patch configmap": {Method: "PATCH", URL: "/api/v1/namespaces/demo/configmaps/app", RPC: cmSvc + "PatchConfigMap", Request: `{"namespace":"demo","name":"app"}`,
		Want: res("patch", "", "configmaps", "", "demo", "app")},
	"delete configmap": {Method: "DELETE", URL: "/api/v1/namespaces/demo/configmaps/app", RPC: cmSvc + "DeleteConfigMap", Request: `{"namespace":"demo","name":"app"}`,
		Want: res("delete", "", "configmaps", "", "demo", "app")},
	"deletecollection": {Method: "DELETE", URL: "/api/v1/namespaces/demo/configmaps", RPC: cmSvc + "DeleteCollectionConfigMaps", Request: `{"namespace":"demo"}`,
		Want: res("deletecollection", "", "configmaps", "", "demo", "")},

	// Subresources.
	"pod status": {Method: "PUT", URL: "/api/v1/namespaces/demo/pods/web/status", RPC: podSvc + "UpdatePodStatus", Request: `{"namespace":"demo","name":"web"}`,
		Want: res("update", "", "pods", "status", "demo", "web")},
	// pods/log is not served over gRPC: REST only.
	"pod log": {Method: "GET", URL: "/api/v1/namespaces/demo/pods/web/log",
		Want: res("get", "", "pods", "log", "demo", "web")},
	"pod binding": {Method: "POST", URL: "/api/v1/namespaces/demo/pods/web/binding", RPC: podSvc + "CreatePodBinding", Request: `{"namespace":"demo","name":"web"}`,
		Want: res("create", "", "pods", "binding", "demo", "web")},
	"pods on a node": {Method: "GET", URL: "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1", RPC: podSvc + "ListPods", Request: `{"fieldSelector":"spec.nodeName=node-1"}`,
		Want: withSelectors(res("list", "", "pods", "", "", ""), "spec.nodeName=node-1", "")},
	"get secret": {Method: "GET", URL: "/api/v1/namespaces/demo/secrets/tls", RPC: secSvc + "GetSecret", Request: `{"namespace":"demo","name":"tls"}`,
		Want: res("get", "", "secrets", "", "demo", "tls")},
	"node status": {Method: "PATCH", URL: "/api/v1/nodes/node-1/status", RPC: nodSvc + "PatchNodeStatus", Request: `{"name":"node-1"}`,
		Want: res("patch", "", "nodes", "status", "", "node-1")},

	// A named group.
	"list roles": {Method: "GET", URL: "/apis/rbac.authorization.k8s.io/v1/namespaces/demo/roles", RPC: rbac + "RoleService/ListRoles", Request: `{"namespace":"demo"}`,
		Want: res("list", "rbac.authorization.k8s.io", "roles", "", "demo", "")},
	"create clusterrolebinding": {Method: "POST", URL: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", RPC: rbac + "ClusterRoleBindingService/CreateClusterRoleBinding", Request: `{}`,
		Want: res("create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "")},
	"get clusterrole": {Method: "GET", URL: "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", RPC: rbac + "ClusterRoleService/GetClusterRole", Request: `{"name":"view"}`,
		Want: res("get", "rbac.authorization.k8s.io", "clusterroles", "", "", "view")},
}
