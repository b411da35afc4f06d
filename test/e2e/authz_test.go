package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end tests of authorization (issue 5): ABAC, Node and RBAC
// with the real kubectl, access reviews (kubectl auth can-i), the 403
// wording, REST and grpcurl decided alike, and authz down failing closed.

const abacV1 = `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":`

// abacPolicy: everyone signed in reads the non-resource paths (discovery);
// bob reads everything in default; the dev group writes config maps in
// dev.
const abacPolicy = `# discovery for every authenticated user
` + abacV1 + `{"group":"system:authenticated","nonResourcePath":"*","readonly":true}}

` + abacV1 + `{"user":"bob","namespace":"default","resource":"*","apiGroup":"*","readonly":true}}
` + abacV1 + `{"group":"dev","namespace":"dev","resource":"configmaps"}}
`

const authzTokens = `tok-bob,bob,uid-bob,"readers"
tok-carol,carol,uid-carol
tok-dave,dave,uid-dave,"dev"
`

// authzStatus is a Status with its details as sent.
type authzStatus struct {
	Kind    string          `json:"kind"`
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Reason  string          `json:"reason"`
	Details json.RawMessage `json:"details"`
	Code    int             `json:"code"`
}

func authzStatusOf(t *testing.T, body string) authzStatus {
	t.Helper()
	var st authzStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("not a Status: %q: %v", body, err)
	}
	return st
}

// secureDo sends one request to the secure port as a bearer token user.
func (p *portico) secureDo(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, p.secureURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.secureClient(t, "", "").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(t, resp)
}

// curlRaw sends a path exactly as written (no cleaning) to the secure port.
func (p *portico) curlRaw(t *testing.T, token, path string) (int, string) {
	t.Helper()
	r := run(t, "", "curl", "-s", "--path-as-is", "--cacert", filepath.Join(p.dataDir, "certs", "apiserver.crt"),
		"-H", "Authorization: Bearer "+token, "-w", "\n%{http_code}", p.secureURL()+path)
	if r.err != nil {
		t.Fatalf("curl %s: %s", path, r)
	}
	i := strings.LastIndex(r.stdout, "\n")
	var code int
	fmt.Sscan(r.stdout[i+1:], &code)
	return code, r.stdout[:i]
}

// TestAuthzABAC: a token user with a read-only ABAC line reads but cannot
// write (403 in kube-apiserver's exact words and shape); kubectl auth
// can-i answers for several users; non-resource paths are authorized;
// path tricks are refused; the policy file is re-read when it changes,
// and a bad new file keeps the old policy.
func TestAuthzABAC(t *testing.T) {
	dir := t.TempDir()
	policy := writeFile(t, filepath.Join(dir, "policy.jsonl"), abacPolicy)
	tokens := writeFile(t, filepath.Join(dir, "tokens.csv"), authzTokens)
	p := startPortico(t, "--token-auth-file", tokens, "--authorization-mode", "ABAC", "--authorization-policy-file", policy)
	p.mustKubectl(t, "create", "namespace", "dev")
	p.mustKubectl(t, "create", "configmap", "app", "-n", "default", "--from-literal=k=v")
	bob, carol, dave := user{token: "tok-bob"}, user{token: "tok-carol"}, user{token: "tok-dave"}

	// bob reads default: get and list.
	if r := p.kubectlAs(t, bob, "get", "configmaps", "-n", "default"); r.err != nil || !strings.Contains(r.stdout, "app") {
		t.Errorf("bob list: %s", r)
	}
	if r := p.kubectlAs(t, bob, "get", "configmap", "app", "-n", "default", "-o", "name"); r.err != nil || strings.TrimSpace(r.stdout) != "configmap/app" {
		t.Errorf("bob get: %s", r)
	}
	// ... but cannot create: kubectl prints kube-apiserver's message.
	const createMsg = `configmaps is forbidden: User "bob" cannot create resource "configmaps" in API group "" in the namespace "default": No policy matched.`
	if r := p.kubectlAs(t, bob, "create", "configmap", "x", "-n", "default", "--from-literal=a=b"); r.err == nil || !strings.Contains(r.stderr, createMsg) {
		t.Errorf("bob create: want %q, got %s", createMsg, r)
	}
	// The 403 body is the Status kube-apiserver sends, byte for byte.
	code, body := p.secureDo(t, "tok-bob", "POST", "/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`)
	want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":` + jsonString(createMsg) + `,"reason":"Forbidden","details":{"kind":"configmaps"},"code":403}`
	if code != 403 || strings.TrimSpace(body) != want {
		t.Errorf("403 body:\n got %d %s\nwant %s", code, body, want)
	}
	// At the cluster scope, and with a name.
	if r := p.kubectlAs(t, bob, "get", "configmaps", "-A"); r.err == nil || !strings.Contains(r.stderr,
		`configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" at the cluster scope: No policy matched.`) {
		t.Errorf("bob list everywhere: %s", r)
	}
	code, body = p.secureDo(t, "tok-bob", "DELETE", "/api/v1/namespaces/default/configmaps/app", "")
	if st := authzStatusOf(t, body); code != 403 || st.Message != `configmaps "app" is forbidden: User "bob" cannot delete resource "configmaps" in API group "" in the namespace "default": No policy matched.` ||
		string(st.Details) != `{"name":"app","kind":"configmaps"}` {
		t.Errorf("named 403: %d %s", code, body)
	}
	// dave writes config maps in dev through his group, nothing else.
	if r := p.kubectlAs(t, dave, "create", "configmap", "d", "-n", "dev", "--from-literal=a=b"); r.err != nil {
		t.Errorf("dave create in dev: %s", r)
	}
	if r := p.kubectlAs(t, dave, "create", "secret", "generic", "s", "-n", "dev", "--from-literal=a=b"); r.err == nil {
		t.Errorf("dave created a secret: %s", r)
	}

	// kubectl auth can-i (SelfSubjectAccessReview, sent as protobuf).
	for _, tc := range []struct {
		who  user
		name string
		args []string
		yes  bool
		out  string
	}{
		{bob, "bob", []string{"list", "pods", "-n", "default"}, true, "yes"},
		{bob, "bob", []string{"create", "pods", "-n", "default"}, false, "no - No policy matched."},
		{bob, "bob", []string{"get", "pods", "-n", "kube-system"}, false, "no - No policy matched."},
		{carol, "carol", []string{"get", "pods", "-n", "default"}, false, "no - No policy matched."},
		{dave, "dave", []string{"update", "configmaps", "-n", "dev"}, true, "yes"},
		{dave, "dave", []string{"update", "configmaps", "-n", "default"}, false, "no - No policy matched."},
		{carol, "carol", []string{"get", "/version"}, true, "yes"},
		{carol, "carol", []string{"post", "/version"}, false, "no - No policy matched."},
		{user{cert: p.pki("admin.crt"), key: p.pki("admin.key")}, "admin", []string{"delete", "nodes"}, true, "yes"},
	} {
		r := p.kubectlAs(t, tc.who, append([]string{"auth", "can-i"}, tc.args...)...)
		if (r.err == nil) != tc.yes || strings.TrimSpace(r.stdout) != tc.out {
			t.Errorf("%s can-i %v: %s", tc.name, tc.args, r)
		}
	}
	// kubectl auth can-i --list (SelfSubjectRulesReview).
	if r := p.kubectlAs(t, bob, "auth", "can-i", "--list", "-n", "default"); r.err != nil ||
		!regexpMatch(`(?m)^\*\.\*\s+\[\]\s+\[\]\s+\[get list watch\]$`, r.stdout) ||
		!regexpMatch(`(?m)^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[\*\]$`, r.stdout) {
		t.Errorf("bob can-i --list: %s", r)
	}

	// The admin's list is kube-apiserver's (kubectl-outputs.txt, ABAC).
	wantList := `Resources                                       Non-Resource URLs   Resource Names   Verbs
*.*                                             []                  []               [*]
                                                [*]                 []               [*]
selfsubjectreviews.authentication.k8s.io        []                  []               [*]
selfsubjectaccessreviews.authorization.k8s.io   []                  []               [*]
selfsubjectrulesreviews.authorization.k8s.io    []                  []               [*]
`
	if r := p.kubectlAs(t, user{cert: p.pki("admin.crt"), key: p.pki("admin.key")}, "auth", "can-i", "--list", "-n", "demo"); r.err != nil || r.stdout != wantList {
		t.Errorf("admin can-i --list:\n%s\nwant:\n%s", r, wantList)
	}

	// Non-resource paths are authorized on the secure port.
	if code, body := p.secureDo(t, "tok-carol", "GET", "/version", ""); code != 200 {
		t.Errorf("carol GET /version: %d %s", code, body)
	}
	code, body = p.secureDo(t, "tok-carol", "POST", "/version", "")
	if st := authzStatusOf(t, body); code != 403 || st.Message != `forbidden: User "carol" cannot post path "/version": No policy matched.` || string(st.Details) != `{}` {
		t.Errorf("carol POST /version: %d %s", code, body)
	}

	// Path tricks cannot reach another namespace: refused before routing.
	for _, path := range []string{
		"/api/v1/namespaces/default/../kube-system/configmaps",
		"/api/v1/namespaces/default/configmaps/..",
		"/api/v1/namespaces/kube-system%2Fconfigmaps%2Fx/configmaps",
		"/api/v1/namespaces//configmaps",
		"//api/v1/namespaces/kube-system/configmaps",
		"/version/../api/v1/namespaces/kube-system/configmaps",
	} {
		if code, body := p.curlRaw(t, "tok-bob", path); code != 400 || authzStatusOf(t, body).Reason != "BadRequest" {
			t.Errorf("GET %s: %d %s, want 400", path, code, body)
		}
	}

	// The file is re-read when it changes: carol may now read default.
	if r := p.kubectlAs(t, carol, "get", "configmaps", "-n", "default"); r.err == nil {
		t.Fatalf("carol reads default before the change: %s", r)
	}
	writeFile(t, policy, abacPolicy+abacV1+`{"user":"carol","namespace":"default","resource":"configmaps","readonly":true}}`+"\n")
	testwait.Until(t, 15*time.Second, "carol's new line in force", func() bool {
		return p.kubectlAs(t, carol, "get", "configmaps", "-n", "default").err == nil
	})
	// A bad new file keeps that policy in force and the log says why.
	writeFile(t, policy, abacPolicy+"{not json\n")
	testwait.Until(t, 15*time.Second, "the bad file to be noticed", func() bool {
		return strings.Contains(p.logs.String(), "keeping the policy in force")
	})
	if r := p.kubectlAs(t, carol, "get", "configmaps", "-n", "default"); r.err != nil {
		t.Errorf("a bad file dropped carol's line: %s", r)
	}
	if !strings.Contains(p.logs.String(), "line 6") {
		t.Errorf("the log does not name the bad line:\n%s", p.logs.String())
	}
}

// waitPolicy waits for /readyz, which waits for authz's Node and RBAC
// modes to have listed their objects.
func (p *portico) waitPolicy(t *testing.T) {
	t.Helper()
	testwait.Until(t, 30*time.Second, "/readyz", func() bool {
		resp, err := http.Get(p.insecureURL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestAuthzBadPolicyStopsStart: a malformed policy line stops the start
// and names the line; so do the flags that cannot work.
func TestAuthzBadPolicyStopsStart(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "bad.jsonl"), "# fine\n"+abacV1+`{"user":"a","resource":"pods"}}`+"\n"+`{"user":"b","namspace":"x"}`+"\n")
	mustFailToStart(t, upArgs(t, "--authorization-mode", "ABAC", "--authorization-policy-file", bad),
		"line 3", `unknown field "namspace"`)
	mustFailToStart(t, upArgs(t, "--authorization-mode", "ABAC"), "--authorization-policy-file")
	mustFailToStart(t, upArgs(t, "--authorization-mode", "RBAC,Magic"), `unknown authorization mode "Magic"`)
}

// TestAuthzRESTAndGRPCAlike: the same requests, as REST through the
// gateway and as grpcurl straight to the api, with the same user's client
// certificate, are allowed and refused alike, with the same message.
func TestAuthzRESTAndGRPCAlike(t *testing.T) {
	dir := t.TempDir()
	policy := writeFile(t, filepath.Join(dir, "policy.jsonl"), abacPolicy)
	p := startPortico(t, "--authorization-mode", "ABAC", "--authorization-policy-file", policy)
	p.mustKubectl(t, "create", "configmap", "app", "-n", "default", "--from-literal=k=v")
	cert, key := issue(t, p.clientCA(t), pki.IssueOptions{CommonName: "bob", Organizations: []string{"readers"}})
	client := p.secureClient(t, cert, key)
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new"}}`
	for _, tc := range []struct {
		name               string
		method, path, body string
		rpc, req           string
		allowed            bool
	}{
		{"list in default", "GET", "/api/v1/namespaces/default/configmaps", "", "ConfigMapService/ListConfigMaps", `{"namespace":"default"}`, true},
		{"get in default", "GET", "/api/v1/namespaces/default/configmaps/app", "", "ConfigMapService/GetConfigMap", `{"namespace":"default","name":"app"}`, true},
		{"get the namespace", "GET", "/api/v1/namespaces/default", "", "NamespaceService/GetNamespace", `{"name":"default"}`, true},
		{"create in default", "POST", "/api/v1/namespaces/default/configmaps", cm, "ConfigMapService/CreateConfigMap", `{"namespace":"default","configMap":{"metadata":{"name":"new"}}}`, false},
		{"delete in default", "DELETE", "/api/v1/namespaces/default/configmaps/app", "", "ConfigMapService/DeleteConfigMap", `{"namespace":"default","name":"app"}`, false},
		{"list in kube-system", "GET", "/api/v1/namespaces/kube-system/configmaps", "", "ConfigMapService/ListConfigMaps", `{"namespace":"kube-system"}`, false},
		{"list everywhere", "GET", "/api/v1/configmaps", "", "ConfigMapService/ListConfigMaps", `{}`, false},
		{"list namespaces", "GET", "/api/v1/namespaces", "", "NamespaceService/ListNamespaces", `{}`, false},
		{"list by name in kube-system", "GET", "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dx", "", "ConfigMapService/ListConfigMaps", `{"namespace":"kube-system","fieldSelector":"metadata.name=x"}`, false},
		{"watch in default", "GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1", "", "ConfigMapService/WatchConfigMaps", `{"namespace":"default","timeoutSeconds":"1"}`, true},
		{"watch in kube-system", "GET", "/api/v1/namespaces/kube-system/configmaps?watch=1&timeoutSeconds=1", "", "ConfigMapService/WatchConfigMaps", `{"namespace":"kube-system","timeoutSeconds":"1"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			code, _, body := httpDo(t, client, tc.method, p.secureURL()+tc.path, ct, tc.body)
			r := p.grpcurl(t, cert, key, "-d", tc.req, p.apiAddr(), "portico.core.v1."+tc.rpc)
			if tc.allowed {
				if code >= 300 || r.err != nil {
					t.Fatalf("want both allowed: REST %d %s; gRPC %s", code, body, r)
				}
				return
			}
			if code != 403 || r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") {
				t.Fatalf("want both refused: REST %d %s; gRPC %s", code, body, r)
			}
			if msg := authzStatusOf(t, body).Message; !strings.Contains(r.stderr, msg) {
				t.Errorf("messages differ:\nREST %s\ngRPC %s", msg, r.stderr)
			}
		})
	}
}

func regexpMatch(expr, s string) bool {
	return regexp.MustCompile(expr).MatchString(s)
}

// TestAuthzRBAC: bootstrap roles exist; role bindings made with kubectl
// take effect without a restart, and their deletion too; nobody grants
// what they do not hold; kubectl auth can-i follows.
func TestAuthzRBAC(t *testing.T) {
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"), authzTokens)
	p := startPortico(t, "--token-auth-file", tokens, "--authorization-mode", "Node,RBAC")
	p.waitPolicy(t)
	bob, carol := user{token: "tok-bob"}, user{token: "tok-carol"}
	admin := user{cert: p.pki("admin.crt"), key: p.pki("admin.key")}

	out := p.mustKubectl(t, "get", "clusterroles", "-o", "name")
	for _, r := range []string{"cluster-admin", "admin", "edit", "view", "system:public-info-viewer", "system:discovery", "system:basic-user"} {
		if !strings.Contains(out, "clusterrole.rbac.authorization.k8s.io/"+r+"\n") {
			t.Errorf("bootstrap cluster role %s missing:\n%s", r, out)
		}
	}
	// Discovery and self-review for every authenticated user; nothing else.
	const listMsg = `pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"`
	if r := p.kubectlAs(t, bob, "get", "pods", "-n", "default"); r.err == nil || !strings.Contains(r.stderr, listMsg) || strings.Contains(r.stderr, listMsg+":") {
		t.Errorf("bob before any binding: want %q, got %s", listMsg, r)
	}
	if r := p.kubectlAs(t, bob, "auth", "can-i", "list", "pods", "-n", "default"); r.err == nil || strings.TrimSpace(r.stdout) != "no" {
		t.Errorf("bob can-i before: %s", r)
	}
	if code, _ := p.secureDo(t, "tok-bob", "GET", "/metrics", ""); code != 403 {
		t.Errorf("bob GET /metrics: %d, want 403", code)
	}

	// kubectl create role / rolebinding as the admin: in force at once.
	p.mustKubectl(t, "create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", "default")
	p.mustKubectl(t, "create", "rolebinding", "bob-reads", "--role=pod-reader", "--user=bob", "-n", "default")
	testwait.Until(t, 5*time.Second, "bob's binding in force", func() bool {
		return p.kubectlAs(t, bob, "get", "pods", "-n", "default").err == nil
	})
	if r := p.kubectlAs(t, bob, "auth", "can-i", "list", "pods", "-n", "default"); r.err != nil || strings.TrimSpace(r.stdout) != "yes" {
		t.Errorf("bob can-i after: %s", r)
	}
	if r := p.kubectlAs(t, bob, "get", "pods", "-n", "kube-system"); r.err == nil {
		t.Errorf("a role in default reaches kube-system: %s", r)
	}
	if r := p.kubectlAs(t, bob, "auth", "can-i", "--list", "-n", "default"); r.err != nil || !regexpMatch(`(?m)^pods\s+\[\]\s+\[\]\s+\[get list watch\]$`, r.stdout) {
		t.Errorf("bob can-i --list: %s", r)
	}
	// A cluster role binding reaches every namespace.
	p.mustKubectl(t, "create", "clusterrolebinding", "carol-views", "--clusterrole=view", "--user=carol")
	testwait.Until(t, 5*time.Second, "carol's binding in force", func() bool {
		return p.kubectlAs(t, carol, "get", "configmaps", "-n", "kube-system").err == nil
	})
	if r := p.kubectlAs(t, carol, "get", "secrets", "-n", "kube-system"); r.err == nil {
		t.Errorf("view reads secrets: %s", r)
	}
	// Deleting the binding takes the access away, without a restart.
	p.mustKubectl(t, "delete", "rolebinding", "bob-reads", "-n", "default")
	testwait.Until(t, 5*time.Second, "bob's access gone", func() bool {
		return p.kubectlAs(t, bob, "get", "pods", "-n", "default").err != nil
	})

	// Escalation: bob may write roles and bindings in default, and holds
	// only pod reading there.
	p.mustKubectl(t, "create", "role", "rbac-writer", "--verb=create,update,patch", "--resource=roles,rolebindings", "-n", "default")
	p.mustKubectl(t, "create", "rolebinding", "bob-writes", "--role=rbac-writer", "--user=bob", "-n", "default")
	p.mustKubectl(t, "create", "rolebinding", "bob-reads", "--role=pod-reader", "--user=bob", "-n", "default")
	testwait.Until(t, 5*time.Second, "bob's roles in force", func() bool {
		return p.kubectlAs(t, bob, "auth", "can-i", "create", "roles", "-n", "default").err == nil
	})
	r := p.kubectlAs(t, bob, "create", "role", "too-much", "--verb=delete", "--resource=pods", "-n", "default")
	if r.err == nil || !strings.Contains(r.stderr, `roles.rbac.authorization.k8s.io "too-much" is forbidden: user "bob" (groups=["readers" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:`) ||
		!strings.Contains(r.stderr, `{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`) {
		t.Errorf("bob escalating through a role: %s", r)
	}
	if r := p.kubectlAs(t, bob, "create", "role", "fine", "--verb=get,list", "--resource=pods", "-n", "default"); r.err != nil {
		t.Errorf("bob granting what he holds: %s", r)
	}
	r = p.kubectlAs(t, bob, "create", "rolebinding", "bob-admin", "--clusterrole=cluster-admin", "--user=bob", "-n", "default")
	if r.err == nil || !strings.Contains(r.stderr, `rolebindings.rbac.authorization.k8s.io "bob-admin" is forbidden: user "bob"`) {
		t.Errorf("bob escalating through a binding: %s", r)
	}
	if r := p.kubectlAs(t, bob, "create", "rolebinding", "carol-reads", "--role=fine", "--user=carol", "-n", "default"); r.err != nil {
		t.Errorf("bob binding what he holds: %s", r)
	}
	if r := p.kubectlAs(t, admin, "create", "rolebinding", "anyone-admin", "--clusterrole=cluster-admin", "--group=x", "-n", "default"); r.err != nil {
		t.Errorf("system:masters may grant anything: %s", r)
	}
}

// TestAuthzNode: a kubelet's certificate reads its own pods and what they
// use, not another node's, and cannot create pods but mirror pods (the
// node restriction, TestNodeRestriction).
func TestAuthzNode(t *testing.T) {
	p := startPortico(t, "--authorization-mode", "Node,RBAC")
	p.waitPolicy(t)
	ca := p.clientCA(t)
	c1, k1 := issue(t, ca, pki.IssueOptions{CommonName: "system:node:node-1", Organizations: []string{"system:nodes"}})
	node1 := user{cert: c1, key: k1}
	podOn := func(name, node, secret string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":"default"},"spec":{"nodeName":%q,
"containers":[{"name":"c","image":"busybox:1.36","env":[{"name":"X","valueFrom":{"secretKeyRef":{"name":%q,"key":"k"}}}]}]}}`, name, node, secret)
	}
	for _, obj := range []string{
		podOn("web", "node-1", "web-secret"), podOn("db", "node-2", "db-secret"),
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"web-secret","namespace":"default"},"stringData":{"k":"v"}}`,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-secret","namespace":"default"},"stringData":{"k":"v"}}`,
		`{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}}`,
		`{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-2"}}`,
	} {
		if r := run(t, obj, "kubectl", "--server", p.insecureURL(), "--cache-dir", t.TempDir(), "create", "-f", "-"); r.err != nil {
			t.Fatalf("create: %s", r)
		}
	}
	ok := func(what string, args ...string) {
		t.Helper()
		if r := p.kubectlAs(t, node1, args...); r.err != nil {
			t.Errorf("%s: %s", what, r)
		}
	}
	refused := func(what, msg string, args ...string) {
		t.Helper()
		if r := p.kubectlAs(t, node1, args...); r.err == nil || !strings.Contains(r.stderr, msg) {
			t.Errorf("%s: want %q, got %s", what, msg, r)
		}
	}
	// The graph fills from the api's pod watch: wait for it.
	testwait.Until(t, 10*time.Second, "node-1's pod in the graph", func() bool {
		return p.kubectlAs(t, node1, "get", "pod", "web", "-n", "default").err == nil
	})
	ok("own pods by field selector", "get", "pods", "-A", "--field-selector", "spec.nodeName=node-1")
	ok("own pod's secret", "get", "secret", "web-secret", "-n", "default")
	ok("own node", "get", "node", "node-1")
	ok("services", "get", "services", "-A")
	refused("another node's pod", `pods "db" is forbidden: User "system:node:node-1" cannot get resource "pods" in API group "" in the namespace "default": no relationship found between node 'node-1' and this object`,
		"get", "pod", "db", "-n", "default")
	refused("every pod", "can only list/watch pods with spec.nodeName field selector", "get", "pods", "-A")
	refused("another node's pods", "can only list/watch pods with spec.nodeName field selector", "get", "pods", "-A", "--field-selector", "spec.nodeName=node-2")
	refused("another pod's secret", "no relationship found between node 'node-1' and this object", "get", "secret", "db-secret", "-n", "default")
	refused("every secret", `secrets is forbidden: User "system:node:node-1" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found`,
		"get", "secrets", "-n", "default")
	refused("every node", `nodes is forbidden: User "system:node:node-1" cannot list resource "nodes" in API group "" at the cluster scope: node 'node-1' cannot read all nodes, only its own Node object`,
		"get", "nodes")
	if r := run(t, podOn("sneaky", "node-1", "db-secret"), "kubectl", "--server", p.secureURL(), "--certificate-authority", filepath.Join(p.dataDir, "certs", "apiserver.crt"),
		"--client-certificate", c1, "--client-key", k1, "--cache-dir", t.TempDir(), "create", "-f", "-"); r.err == nil ||
		!strings.Contains(r.stderr, `pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "node-1" can only create mirror pods`) {
		t.Errorf("a kubelet created a pod that is not its mirror pod: %s", r)
	}
	// A pod moved to node-1 brings its secret along, without a restart.
	// No kubelet runs to confirm the graceful deletion: force it.
	p.mustKubectl(t, "delete", "pod", "db", "-n", "default", "--grace-period=0", "--force")
	if r := run(t, podOn("db", "node-1", "db-secret"), "kubectl", "--server", p.insecureURL(), "--cache-dir", t.TempDir(), "create", "-f", "-"); r.err != nil {
		t.Fatal(r)
	}
	testwait.Until(t, 10*time.Second, "db's secret reachable", func() bool {
		return p.kubectlAs(t, node1, "get", "secret", "db-secret", "-n", "default").err == nil
	})
	// Events: a kubelet writes them.
	ev := `{"apiVersion":"v1","kind":"Event","metadata":{"name":"node-1-ev","namespace":"default"},"involvedObject":{"kind":"Node","name":"node-1"},"reason":"Testing","message":"hi","type":"Normal"}`
	if r := run(t, ev, "kubectl", "--server", p.secureURL(), "--certificate-authority", filepath.Join(p.dataDir, "certs", "apiserver.crt"),
		"--client-certificate", c1, "--client-key", k1, "--cache-dir", t.TempDir(), "create", "-f", "-"); r.err != nil {
		t.Errorf("kubelet event: %s", r)
	}
	if r := p.kubectlAs(t, node1, "auth", "can-i", "create", "events", "-n", "default"); r.err != nil || strings.TrimSpace(r.stdout) != "yes" {
		t.Errorf("kubelet can-i create events: %s", r)
	}
}

// TestAuthzUnavailable: with authz gone, a user's requests fail with 503,
// never allowed, even those decided a moment before; system:masters is
// decided without authz (as kube-apiserver's privileged group), so the
// insecure port and an admin keep working.
func TestAuthzUnavailable(t *testing.T) {
	s := startSplit(t)
	admin := user{cert: s.pki("admin.crt"), key: s.pki("admin.key")}
	kc := filepath.Join(t.TempDir(), "alice.kubeconfig")
	if r := run(t, "", bins.portico, "kubeconfig", "--data-dir", s.dataDir, "--user", "alice", "--server", s.secureURL(), "--out", kc); r.err != nil {
		t.Fatalf("portico kubeconfig: %s", r)
	}
	alice := user{kubeconfig: kc}
	if r := s.kubectlAs(t, admin, "create", "clusterrolebinding", "alice-view", "--clusterrole", "view", "--user", "alice"); r.err != nil {
		t.Fatalf("bind alice: %s", r)
	}
	testwait.Until(t, 10*time.Second, "alice may list configmaps", func() bool {
		return s.kubectlAs(t, alice, "get", "configmaps", "-n", "default").err == nil
	})
	s.killService(t, "authz")
	client := s.secureClient(t, admin.cert, admin.key)
	url := s.secureURL() + "/api/v1/namespaces/default/configmaps"
	testwait.Until(t, 10*time.Second, "alice refused with authz down", func() bool {
		r := s.kubectlAs(t, alice, "get", "configmaps", "-n", "default")
		return r.err != nil && strings.Contains(r.stderr, "Error from server (ServiceUnavailable)")
	})
	for i := range 3 {
		if r := s.kubectlAs(t, alice, "get", "configmaps", "-n", "default"); r.err == nil || !strings.Contains(r.stderr, "Error from server (ServiceUnavailable)") {
			t.Errorf("alice, try %d, authz down: %s", i, r)
		}
		if code, _, body := httpDo(t, client, "GET", url, "", ""); code != 200 {
			t.Errorf("admin on the secure port, try %d, authz down: %d %s", i, code, body)
		}
		if code, _, body := httpDo(t, client, "GET", s.secureURL()+"/version", "", ""); code != 200 {
			t.Errorf("admin non-resource, try %d, authz down: %d %s", i, code, body)
		}
		if code, _, body := httpDo(t, http.DefaultClient, "GET", s.insecureURL()+"/api/v1/namespaces/default/configmaps", "", ""); code != 200 {
			t.Errorf("insecure port, try %d, authz down: %d %s", i, code, body)
		}
	}
}

// split is Portico run as one process per service.
type split struct {
	*portico
	procs map[string]*exec.Cmd
}

// startSplit runs `portico certs`, then authn, authz, api and gateway as
// separate processes on free ports.
func startSplit(t *testing.T) *split {
	t.Helper()
	p := &portico{
		t: t, dataDir: t.TempDir(),
		insecurePort: freePort(t), securePort: freePort(t),
		apiPort: freePort(t), authnPort: freePort(t), authzPort: freePort(t),
		logs: &syncBuffer{},
	}
	s := &split{portico: p, procs: map[string]*exec.Cmd{}}
	if r := run(t, "", bins.portico, "certs", "--data-dir", p.dataDir); r.err != nil {
		t.Fatalf("certs: %s", r)
	}
	common := []string{
		"--data-dir", p.dataDir, "--client-ca-file", p.pki("client-ca.crt"),
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", p.apiPort),
		"--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", p.authnPort),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", p.authzPort),
	}
	for _, svc := range []struct {
		name  string
		extra []string
	}{
		{"authn", nil},
		{"authz", []string{"--authorization-mode", "RBAC"}},
		{"api", nil},
		{"gateway", []string{"--insecure-port", fmt.Sprint(p.insecurePort), "--secure-port", fmt.Sprint(p.securePort), "--bind-address", "127.0.0.1"}},
	} {
		cmd := exec.Command(bins.portico, append(append([]string{svc.name}, common...), svc.extra...)...)
		cmd.Stdout, cmd.Stderr = p.logs, p.logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.procs[svc.name] = cmd
	}
	t.Cleanup(func() {
		for _, name := range []string{"gateway", "api", "authz", "authn"} {
			if cmd := s.procs[name]; cmd != nil {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
			}
		}
	})
	testwait.Until(t, 60*time.Second, "the split services to serve", func() bool {
		resp, err := http.Get(p.insecureURL() + "/api/v1/namespaces/default")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// killService ends one service with SIGKILL.
func (s *split) killService(t *testing.T, name string) {
	t.Helper()
	cmd := s.procs[name]
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	delete(s.procs, name)
}
