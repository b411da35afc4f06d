package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end tests of impersonation (security finding 4): kubectl
// --as and --as-group on both ports, decided by RBAC's "impersonate" for
// the requesting user and then run as the impersonated one, recorded in
// the audit log with both users; and the same over gRPC metadata.

const impersonationTokens = `tok-bob,bob,uid-bob
tok-carol,carol,uid-carol
`

// impersonationRBAC: carol may impersonate users (not groups); alice
// reads config maps in default.
const impersonationRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: impersonate-users
rules:
- apiGroups: [""]
  resources: ["users"]
  verbs: ["impersonate"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: carol-impersonates-users
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: impersonate-users
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: carol
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: cm-reader
  namespace: default
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: alice-reads
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: cm-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: alice
`

// startImpersonation starts Portico with RBAC, the tokens and the policy
// above, and waits until the policy is in force.
func startImpersonation(t *testing.T, extra ...string) *portico {
	t.Helper()
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"), impersonationTokens)
	p := startPortico(t, append([]string{"--token-auth-file", tokens, "--authorization-mode", "RBAC"}, extra...)...)
	p.waitPolicy(t)
	if r := run(t, impersonationRBAC, "kubectl", "--server", p.insecureURL(), "--cache-dir", t.TempDir(), "create", "-f", "-"); r.err != nil {
		t.Fatalf("creating the RBAC policy: %s", r)
	}
	p.waitCanI(t, "get", "configmaps", "alice")
	return p
}

// waitCanI waits until the admin's `kubectl auth can-i <verb> <resource>
// -n default --as <as>` answers yes: a policy just written is in force.
func (p *portico) waitCanI(t *testing.T, verb, resource, as string) {
	t.Helper()
	testwait.Until(t, 10*time.Second, fmt.Sprintf("%s may %s %s", as, verb, resource), func() bool {
		r := p.kubectlSecure(t, "auth", "can-i", verb, resource, "-n", "default", "--as", as)
		return r.err == nil && strings.TrimSpace(r.stdout) == "yes"
	})
}

// warmDiscovery returns a kubectl cache directory holding both ports'
// discovery, as any earlier kubectl call leaves in ~/.kube/cache. kubectl
// sends the Impersonate-* headers with its discovery requests too, and
// reads a refused discovery answer without its Status ("Error from
// server (Forbidden): unknown", from kube-apiserver alike); with
// discovery cached, a refusal shows the server's message. Pass it as a
// last --cache-dir, which wins over the helpers' fresh one.
func (p *portico) warmDiscovery(t *testing.T) string {
	t.Helper()
	cache := t.TempDir()
	for _, r := range []result{
		p.kubectl(t, "--cache-dir", cache, "api-resources"),
		p.kubectlSecure(t, "--cache-dir", cache, "api-resources"),
	} {
		if r.err != nil {
			t.Fatalf("kubectl api-resources: %s", r)
		}
	}
	return cache
}

// mustRefuse checks that r failed with want in kubectl's error output.
func mustRefuse(t *testing.T, what string, r result, want string) {
	t.Helper()
	if r.err == nil || !strings.Contains(r.stderr, want) {
		t.Errorf("%s: want %q, got %s", what, want, r)
	}
}

// waitAudit waits until the audit log has a line match accepts: a line is
// written once its response has been sent, so just after kubectl returns.
func waitAudit(t *testing.T, path, what string, match func(auditLine) bool) auditLine {
	t.Helper()
	var found auditLine
	testwait.Until(t, 10*time.Second, "the audit line of "+what, func() bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(data), "\n") {
			var ev auditLine
			if json.Unmarshal([]byte(line), &ev) == nil && match(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// TestImpersonationKubectl: kubectl --as and --as-group on the secure
// port, as the admin, as a user without impersonate rights and as one who
// may impersonate users only; kubectl auth whoami shows the impersonated
// user; the insecure port honours --as too; Portico's own identities
// cannot be impersonated; the audit log records both users.
func TestImpersonationKubectl(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	p := startImpersonation(t, "--audit-log-path", audit)
	bob, carol := user{token: "tok-bob"}, user{token: "tok-carol"}
	cache := p.warmDiscovery(t)
	p.mustKubectl(t, "create", "configmap", "x", "-n", "default", "--from-literal=k=v")
	p.mustKubectl(t, "create", "configmap", "y", "-n", "default", "--from-literal=k=v")

	// The admin (system:masters) as alice is alice: she may not delete.
	mustRefuse(t, "admin --as alice delete, before alice may", p.kubectlSecure(t, "--as", "alice", "delete", "configmap", "x", "-n", "default"),
		`configmaps "x" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "default"`)
	p.mustKubectl(t, "get", "configmap", "x", "-n", "default")

	// bob may not impersonate anyone: 403 in kube-apiserver's words (and
	// already on discovery, without a cache).
	mustRefuse(t, "bob --as alice", p.kubectlAs(t, bob, "--as", "alice", "get", "configmaps", "-n", "default", "--cache-dir", cache),
		`users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`)
	mustRefuse(t, "bob --as alice, discovering", p.kubectlAs(t, bob, "--as", "alice", "get", "configmaps", "-n", "default"), "Error from server (Forbidden)")

	// carol may impersonate users, not groups; as alice she has alice's
	// rights, which she has not herself.
	if r := p.kubectlAs(t, carol, "--as", "alice", "get", "configmaps", "-n", "default", "-o", "name"); r.err != nil || !strings.Contains(r.stdout, "configmap/x") {
		t.Errorf("carol --as alice: %s", r)
	}
	mustRefuse(t, "carol herself", p.kubectlAs(t, carol, "get", "configmaps", "-n", "default"),
		`configmaps is forbidden: User "carol" cannot list resource "configmaps" in API group "" in the namespace "default"`)
	mustRefuse(t, "carol --as alice --as-group g1", p.kubectlAs(t, carol, "--as", "alice", "--as-group", "g1", "get", "configmaps", "-n", "default", "--cache-dir", cache),
		`groups "g1" is forbidden: User "carol" cannot impersonate resource "groups" in API group "" at the cluster scope`)

	// kubectl auth whoami shows the impersonated user, as kube-apiserver.
	w := p.whoami(t, user{kubeconfig: p.kubeconfig()}, "--as", "alice", "--as-group", "g1")
	checkUser(t, "whoami --as alice --as-group g1", w, "alice", "", "g1", "system:authenticated")
	if r := p.kubectlSecure(t, "auth", "whoami", "--as", "alice", "--as-group", "g1"); r.err != nil ||
		!regexpMatch(`(?m)^Username\s+alice$`, r.stdout) || !regexpMatch(`(?m)^Groups\s+\[g1 system:authenticated\]$`, r.stdout) {
		t.Errorf("whoami table: %s", r)
	}
	w = p.whoami(t, user{kubeconfig: p.kubeconfig()}, "--as", "system:serviceaccount:default:builder")
	checkUser(t, "whoami as a service account", w, "system:serviceaccount:default:builder", "",
		"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated")
	w = p.whoami(t, carol, "--as", "alice")
	checkUser(t, "carol's whoami --as alice", w, "alice", "", "system:authenticated")

	// Once alice may delete, the admin's --as alice delete goes through.
	p.mustKubectl(t, "create", "role", "cm-deleter", "--verb=delete", "--resource=configmaps", "-n", "default")
	p.mustKubectl(t, "create", "rolebinding", "alice-deletes", "--role=cm-deleter", "--user=alice", "-n", "default")
	p.waitCanI(t, "delete", "configmaps", "alice")
	if r := p.kubectlSecure(t, "--as", "alice", "delete", "configmap", "x", "-n", "default"); r.err != nil {
		t.Errorf("admin --as alice delete, once alice may: %s", r)
	}

	// The insecure port honours --as (its user is system:masters): the
	// request is then decided for the impersonated user.
	p.mustKubectl(t, "create", "configmap", "z", "-n", "default", "--from-literal=k=v")
	mustRefuse(t, "insecure --as dave", p.kubectl(t, "--as", "dave", "delete", "configmap", "y", "-n", "default"),
		`configmaps "y" is forbidden: User "dave" cannot delete resource "configmaps" in API group "" in the namespace "default"`)
	if r := p.kubectl(t, "--as", "alice", "delete", "configmap", "y", "-n", "default"); r.err != nil {
		t.Errorf("insecure --as alice delete: %s", r)
	}
	if r := p.kubectl(t, "--as", "alice", "auth", "whoami"); r.err != nil || !regexpMatch(`(?m)^Username\s+alice$`, r.stdout) {
		t.Errorf("insecure whoami --as alice: %s", r)
	}

	// Portico's own service identities are never impersonated, not even
	// by system:masters, on either port.
	const reserved = `belong to Portico's services and cannot be impersonated`
	mustRefuse(t, "admin --as system:portico:api", p.kubectlSecure(t, "--as", "system:portico:api", "get", "configmaps", "-n", "default", "--cache-dir", cache),
		`users "system:portico:api" is forbidden: User "admin" cannot impersonate resource "users" in API group "" at the cluster scope: names under "system:portico:" `+reserved)
	mustRefuse(t, "insecure --as-group system:portico:services", p.kubectl(t, "--as", "alice", "--as-group", "system:portico:services", "get", "configmaps", "-n", "default", "--cache-dir", cache), reserved)

	// Raw headers: a group without a user is a 400; an extra's key is
	// percent-decoded, as kube-apiserver does.
	admin := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	code, body := impersonatedDo(t, admin, "GET", p.secureURL()+"/api/v1/namespaces/default/configmaps", http.Header{"Impersonate-Group": {"g1"}}, "")
	if st := authzStatusOf(t, body); code != 400 || st.Reason != "BadRequest" || st.Message != `requested [groups "g1"] without impersonating a user` {
		t.Errorf("a group without a user: %d %s", code, body)
	}
	code, body = impersonatedDo(t, admin, "POST", p.secureURL()+"/apis/authentication.k8s.io/v1/selfsubjectreviews",
		http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"uid-a"}, "Impersonate-Extra-Acme.com%2fTeam": {"blue", "green"}},
		`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	var review whoamiResult
	if err := json.Unmarshal([]byte(body), &review); err != nil || code != 201 {
		t.Fatalf("self-review with extras: %d %s", code, body)
	}
	if u := review.Status.UserInfo; u.Username != "alice" || u.UID != "uid-a" || !slices.Equal(u.Extra["acme.com/team"], []string{"blue", "green"}) || len(u.Extra) != 1 {
		t.Errorf("self-review with extras: %+v", u)
	}

	// The audit log: the requester in user, the impersonated user in
	// impersonatedUser; a refusal has only the requester.
	ev := waitAudit(t, audit, "the admin's delete as alice", func(ev auditLine) bool {
		return ev.Verb == "delete" && ev.ObjectRef != nil && ev.ObjectRef.Name == "x" && ev.ResponseStatus.Code == 200
	})
	if ev.User.Username != "admin" || ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "alice" ||
		!slices.Equal(ev.ImpersonatedUser.Groups, []string{"system:authenticated"}) {
		t.Errorf("audit of the admin's delete as alice: %+v / %+v", ev.User, ev.ImpersonatedUser)
	}
	ev = waitAudit(t, audit, "the insecure port's delete as alice", func(ev auditLine) bool {
		return ev.Verb == "delete" && ev.ObjectRef != nil && ev.ObjectRef.Name == "y" && ev.ResponseStatus.Code == 200
	})
	if ev.User.Username != "system:unsecured" || ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "alice" {
		t.Errorf("audit of the insecure delete as alice: %+v / %+v", ev.User, ev.ImpersonatedUser)
	}
	ev = waitAudit(t, audit, "bob's refused impersonation", func(ev auditLine) bool {
		return ev.User.Username == "bob" && ev.ResponseStatus.Code == 403
	})
	if ev.ImpersonatedUser != nil {
		t.Errorf("a refused impersonation records an impersonated user: %+v", ev.ImpersonatedUser)
	}
}

// impersonatedDo sends one request with extra headers.
func impersonatedDo(t *testing.T, c *http.Client, method, url string, h http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, readAll(t, resp)
}

// TestImpersonationGRPC: a caller straight to the api (grpcurl with its
// own client certificate) impersonates with impersonate-* metadata, under
// the same rules as the REST headers; authn's SelfSubjectReview over gRPC
// shows the impersonated user.
func TestImpersonationGRPC(t *testing.T) {
	p := startImpersonation(t)
	ca := p.clientCA(t)
	carolCert, carolKey := issue(t, ca, pki.IssueOptions{CommonName: "carol"})
	bobCert, bobKey := issue(t, ca, pki.IssueOptions{CommonName: "bob"})
	p.mustKubectl(t, "create", "configmap", "x", "-n", "default", "--from-literal=k=v")
	get := `{"namespace":"default","name":"x"}`
	const rpc = "portico.core.v1.ConfigMapService/"

	// carol herself may not read; as alice she may, and only what alice may.
	r := p.grpcurl(t, carolCert, carolKey, "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, `User "carol" cannot get resource "configmaps"`) {
		t.Errorf("carol herself: %s", r)
	}
	r = p.grpcurl(t, carolCert, carolKey, "-H", "impersonate-user: alice", "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err != nil || !strings.Contains(r.stdout, `"name": "x"`) {
		t.Errorf("carol as alice, get: %s", r)
	}
	r = p.grpcurl(t, carolCert, carolKey, "-H", "impersonate-user: alice", "-d", get, p.apiAddr(), rpc+"DeleteConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") ||
		!strings.Contains(r.stderr, `configmaps "x" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "default"`) {
		t.Errorf("carol as alice, delete: %s", r)
	}
	// carol may not impersonate groups; bob nothing; a group needs a user.
	r = p.grpcurl(t, carolCert, carolKey, "-H", "impersonate-user: alice", "-H", "impersonate-group: g1", "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, `groups "g1" is forbidden: User "carol" cannot impersonate resource "groups" in API group "" at the cluster scope`) {
		t.Errorf("carol as alice in g1: %s", r)
	}
	r = p.grpcurl(t, bobCert, bobKey, "-H", "impersonate-user: alice", "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") ||
		!strings.Contains(r.stderr, `users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`) {
		t.Errorf("bob as alice: %s", r)
	}
	r = p.grpcurl(t, p.pki("admin.crt"), p.pki("admin.key"), "-H", "impersonate-group: g1", "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, "InvalidArgument") || !strings.Contains(r.stderr, "without impersonating a user") {
		t.Errorf("a group without a user: %s", r)
	}
	r = p.grpcurl(t, p.pki("admin.crt"), p.pki("admin.key"), "-H", "impersonate-user: system:portico:authz", "-d", get, p.apiAddr(), rpc+"GetConfigMap")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") || !strings.Contains(r.stderr, "cannot be impersonated") {
		t.Errorf("the admin as a Portico service: %s", r)
	}

	// authn answers SelfSubjectReview for the impersonated user.
	r = p.grpcurl(t, carolCert, carolKey, "-H", "impersonate-user: alice", "-d", `{}`,
		fmt.Sprintf("127.0.0.1:%d", p.authnPort), "portico.authn.v1.AuthenticationService/CreateSelfSubjectReview")
	if r.err != nil || !strings.Contains(r.stdout, `"username": "alice"`) || strings.Contains(r.stdout, "carol") {
		t.Errorf("self-review over gRPC as alice: %s", r)
	}
}
