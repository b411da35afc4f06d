package e2e

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// grpcKinds are the served kinds as the gRPC API names them, with a
// small object of each (protojson: the field names are Kubernetes').
var grpcKinds = []struct {
	service, kind, plural, object string
	namespaced                    bool
}{
	{"portico.core.v1.NamespaceService", "Namespace", "Namespaces", `{"metadata":{"name":"grpc-ns"}}`, false},
	{"portico.core.v1.ConfigMapService", "ConfigMap", "ConfigMaps", `{"metadata":{"name":"g"},"data":{"a":"1"}}`, true},
	{"portico.core.v1.SecretService", "Secret", "Secrets", `{"metadata":{"name":"g"},"stringData":{"a":"1"}}`, true},
	{"portico.core.v1.ServiceAccountService", "ServiceAccount", "ServiceAccounts", `{"metadata":{"name":"g"}}`, true},
	{"portico.core.v1.ServiceService", "Service", "Services", `{"metadata":{"name":"g"},"spec":{"ports":[{"port":80}]}}`, true},
	{"portico.core.v1.EndpointsService", "Endpoints", "Endpoints", `{"metadata":{"name":"g"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}]}]}`, true},
	{"portico.core.v1.PodService", "Pod", "Pods", `{"metadata":{"name":"g"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, true},
	{"portico.core.v1.EventService", "Event", "Events", `{"metadata":{"name":"g"},"involvedObject":{"kind":"Pod","name":"g"},"reason":"Test"}`, true},
	{"portico.core.v1.NodeService", "Node", "Nodes", `{"metadata":{"name":"grpc-node"}}`, false},
	{"portico.rbac.v1.RoleService", "Role", "Roles", `{"metadata":{"name":"g"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`, true},
	{"portico.rbac.v1.ClusterRoleService", "ClusterRole", "ClusterRoles", `{"metadata":{"name":"grpc-cr"},"rules":[{"apiGroups":[""],"resources":["nodes"],"verbs":["get"]}]}`, false},
	{"portico.rbac.v1.RoleBindingService", "RoleBinding", "RoleBindings",
		`{"metadata":{"name":"g"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"g"},"subjects":[{"kind":"User","name":"alice","apiGroup":"rbac.authorization.k8s.io"}]}`, true},
	{"portico.rbac.v1.ClusterRoleBindingService", "ClusterRoleBinding", "ClusterRoleBindings",
		`{"metadata":{"name":"grpc-crb"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"grpc-cr"},"subjects":[{"kind":"Group","name":"devs","apiGroup":"rbac.authorization.k8s.io"}]}`, false},
}

// TestGrpcEveryResource drives each kind's gRPC service with grpcurl:
// Create, Get, List, Update, Delete, and a Watch that sees them.
func TestGrpcEveryResource(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	cert, key := p.pki("admin.crt"), p.pki("admin.key")
	call := func(t *testing.T, service, method string, req any) (map[string]any, result) {
		t.Helper()
		b, _ := json.Marshal(req)
		r := p.grpcurl(t, cert, key, "-d", string(b), p.apiAddr(), service+"/"+method)
		if r.err != nil {
			return nil, r
		}
		return decodeJSON(t, r.stdout), r
	}
	must := func(t *testing.T, service, method string, req any) map[string]any {
		t.Helper()
		m, r := call(t, service, method, req)
		if m == nil {
			t.Fatalf("%s/%s %v: %s", service, method, req, r)
		}
		return m
	}
	must(t, "portico.core.v1.NamespaceService", "CreateNamespace", map[string]any{"namespace": map[string]any{"metadata": map[string]any{"name": "grpc"}}})

	for _, k := range grpcKinds {
		t.Run(k.kind, func(t *testing.T) {
			t.Parallel()
			field := strings.ToLower(k.kind[:1]) + k.kind[1:]
			// in adds the namespace to a request of a namespaced kind.
			in := func(req map[string]any) map[string]any {
				if k.namespaced {
					req["namespace"] = "grpc"
				}
				return req
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(k.object), &obj); err != nil {
				t.Fatal(err)
			}
			name := jsonStr(obj, "metadata", "name")
			obj["metadata"].(map[string]any)["labels"] = map[string]any{"grpc": "yes"}
			sel := in(map[string]any{"labelSelector": "grpc=yes"})

			list := must(t, k.service, "List"+k.plural, sel)
			from := jsonStr(list, "metadata", "resourceVersion")
			watchReq, _ := json.Marshal(in(map[string]any{"labelSelector": "grpc=yes", "resourceVersion": from, "timeoutSeconds": 60}))
			watch := startBackground(t, bins.grpcurl, "-cacert", p.pki("ca.crt"), "-cert", cert, "-key", key, "-d", string(watchReq),
				p.apiAddr(), k.service+"/Watch"+k.plural)

			created := must(t, k.service, "Create"+k.kind, in(map[string]any{field: obj}))
			uid := jsonStr(created, field, "metadata", "uid")
			if jsonStr(created, field, "metadata", "name") != name || uid == "" || jsonStr(created, field, "metadata", "resourceVersion") == "" {
				t.Fatalf("Create answered %v", created)
			}
			got := must(t, k.service, "Get"+k.kind, in(map[string]any{"name": name}))
			if jsonStr(got, field, "metadata", "uid") != uid {
				t.Errorf("Get answered %v", got)
			}
			list = must(t, k.service, "List"+k.plural, sel)
			if n := itemNames(list); !slices.Equal(n, []string{name}) {
				t.Errorf("List with grpc=yes: %v", n)
			}
			upd := got[field].(map[string]any)
			upd["metadata"].(map[string]any)["labels"].(map[string]any)["updated"] = "yes"
			updated := must(t, k.service, "Update"+k.kind, in(map[string]any{"name": name, field: upd}))
			if jsonStr(updated, field, "metadata", "labels", "updated") != "yes" ||
				jsonStr(updated, field, "metadata", "resourceVersion") == jsonStr(got, field, "metadata", "resourceVersion") {
				t.Errorf("Update answered %v", updated)
			}
			// A stale copy is refused.
			if _, r := call(t, k.service, "Update"+k.kind, in(map[string]any{"name": name, field: got[field]})); r.err == nil || !strings.Contains(r.stderr, "Aborted") && !strings.Contains(r.stderr, "the object has been modified") {
				t.Errorf("Update from a stale copy: %s", r)
			}
			deleted := must(t, k.service, "Delete"+k.kind, in(map[string]any{"name": name}))
			if jsonStr(deleted, "status", "status") != "Success" && jsonStr(deleted, field, "metadata", "uid") != uid {
				t.Errorf("Delete answered %v", deleted)
			}
			// A namespace goes once the namespace controller has emptied it.
			testwait.Until(t, 10*time.Second, "Get after Delete NotFound", func() bool {
				_, r := call(t, k.service, "Get"+k.kind, in(map[string]any{"name": name}))
				return r.err != nil && strings.Contains(r.stderr, "NotFound")
			})

			var types []string
			watch.waitOutput(t, "gRPC watch events", func(stdout, _ string) bool {
				types = grpcWatchTypes(stdout, name)
				return len(types) >= 3 && types[len(types)-1] == "DELETED"
			})
			watch.stop()
			want := []string{"ADDED", "MODIFIED", "DELETED"}
			switch k.kind {
			case "Namespace":
				want = []string{"ADDED", "MODIFIED", "MODIFIED", "DELETED"} // Terminating, then gone
			case "Pod":
				want = []string{"ADDED", "MODIFIED", "MODIFIED", "DELETED"} // marked deleted, then gone
			}
			if !slices.Equal(types, want) {
				t.Errorf("Watch events %v, want %v\n%s", types, want, watch.stdout.String())
			}
		})
	}
}

// grpcWatchTypes reads grpcurl's stream of JSON answers: the types of the
// events about name.
func grpcWatchTypes(out, name string) []string {
	dec := json.NewDecoder(strings.NewReader(out))
	var types []string
	for {
		var ev map[string]any
		if err := dec.Decode(&ev); err == io.EOF || err != nil {
			return types
		}
		if jsonStr(ev, "object", "metadata", "name") == name {
			types = append(types, jsonStr(ev, "type"))
		}
	}
}
