package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end tests of node restriction (security finding 8): what a
// kubelet's certificate may write beyond what the Node authorizer lets it,
// and service-account tokens bound to pods, secrets and nodes that die
// with their object.

// create runs `kubectl create -f -` with obj: as admin on the insecure
// port when u is nil, else as u on the secure port.
func (p *portico) create(t *testing.T, u *user, obj string) result {
	t.Helper()
	if u == nil {
		return run(t, obj, "kubectl", "--server", p.insecureURL(), "--cache-dir", t.TempDir(), "create", "-f", "-")
	}
	return run(t, obj, "kubectl", "--server", p.secureURL(), "--certificate-authority", filepath.Join(p.dataDir, "certs", "apiserver.crt"),
		"--client-certificate", u.cert, "--client-key", u.key, "--cache-dir", t.TempDir(), "create", "-f", "-")
}

// TestNodeRestriction: a kubelet (CN=system:node:n1, O=system:nodes)
// cannot make itself a control-plane node, write pods other than its own
// mirror pods, or get a token that is not bound to one of its pods; the
// token it gets is capped by --service-account-max-token-expiration.
func TestNodeRestriction(t *testing.T) {
	p := startPortico(t, "--authorization-mode", "Node,RBAC", "--service-account-max-token-expiration", "2h")
	p.waitPolicy(t)
	c, k := issue(t, p.clientCA(t), pki.IssueOptions{CommonName: "system:node:n1", Organizations: []string{"system:nodes"}})
	n1 := user{cert: c, key: k}
	for _, obj := range []string{
		`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox:1.36"}]}}`,
	} {
		if r := p.create(t, nil, obj); r.err != nil {
			t.Fatalf("create: %s", r)
		}
	}
	nodeUID := strings.TrimSpace(p.mustKubectl(t, "get", "node", "n1", "-o", "jsonpath={.metadata.uid}"))
	podUID := strings.TrimSpace(p.mustKubectl(t, "get", "pod", "web", "-n", "default", "-o", "jsonpath={.metadata.uid}"))
	// The Node authorizer's graph fills from the api's pod watch.
	testwait.Until(t, 10*time.Second, "n1's pod in the graph", func() bool {
		return p.kubectlAs(t, n1, "get", "pod", "web", "-n", "default").err == nil
	})
	ok := func(what string, r result) {
		t.Helper()
		if r.err != nil {
			t.Errorf("%s: %s", what, r)
		}
	}
	// kubectl words a 403 "Error from server (Forbidden): <message>", or
	// for create token "error: failed to create token: <message>".
	refused := func(what, msg string, r result) {
		t.Helper()
		if r.err == nil || !strings.Contains(r.stderr, " is forbidden: ") || !strings.Contains(r.stderr, msg) {
			t.Errorf("%s: want 403 %q, got %s", what, msg, r)
		}
	}

	// Labels: not the control-plane role, but the kubelet's own and any
	// outside kubernetes.io.
	refused("control-plane label", `nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane`,
		p.kubectlAs(t, n1, "label", "node", "n1", "node-role.kubernetes.io/control-plane="))
	refused("node-restriction label", `is not allowed to modify labels: node-restriction.kubernetes.io/gpu`,
		p.kubectlAs(t, n1, "label", "node", "n1", "node-restriction.kubernetes.io/gpu=yes"))
	ok("allowed labels", p.kubectlAs(t, n1, "label", "node", "n1", "topology.kubernetes.io/zone=z1", "example.com/team=blue"))
	if got := p.mustKubectl(t, "get", "node", "n1", "-o", "jsonpath={.metadata.labels}"); !strings.Contains(got, `"topology.kubernetes.io/zone":"z1"`) ||
		strings.Contains(got, "node-role") {
		t.Errorf("n1's labels = %s", got)
	}
	// The administrator may still.
	p.mustKubectl(t, "label", "node", "n1", "node-role.kubernetes.io/worker=")
	refused("taints", `nodes "n1" is forbidden: node "n1" is not allowed to modify taints`,
		p.kubectlAs(t, n1, "taint", "node", "n1", "dedicated=me:NoSchedule"))
	refused("another Node", `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`,
		p.create(t, &n1, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}`))

	// Pods: its own mirror pods only.
	mirror := func(name, node string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q,"namespace":"default",
"annotations":{"kubernetes.io/config.mirror":"hash"},
"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":%q,"controller":true}]},
"spec":{"nodeName":%q,"containers":[{"name":"c","image":"busybox:1.36"}]}}`, name, nodeUID, node)
	}
	refused("a pod that is not a mirror pod", `pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`,
		p.create(t, &n1, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"plain","namespace":"default"},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox:1.36"}]}}`))
	refused("a mirror pod for another node", `pods "elsewhere" is forbidden: node "n1" can only create pods with spec.nodeName set to itself`,
		p.create(t, &n1, mirror("elsewhere", "n2")))
	ok("its own mirror pod", p.create(t, &n1, mirror("static-web-n1", "n1")))
	if sa := p.mustKubectl(t, "get", "pod", "static-web-n1", "-n", "default", "-o", "jsonpath={.spec.serviceAccountName}"); sa != "" {
		t.Errorf("the mirror pod got service account %q", sa)
	}

	// Leases: its heartbeat, its own only, in kube-node-lease.
	lease := func(ns, name string) string {
		return fmt.Sprintf(`{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":%q,"namespace":%q},
"spec":{"holderIdentity":%q,"leaseDurationSeconds":40,"renewTime":"2026-12-02T10:00:00.000000Z"}}`, name, ns, name)
	}
	ok("its own lease", p.create(t, &n1, lease("kube-node-lease", "n1")))
	ok("its lease renewed", p.kubectlAs(t, n1, "patch", "lease", "n1", "-n", "kube-node-lease", "--type=merge",
		"-p", `{"spec":{"renewTime":"2026-12-02T10:00:10.000000Z"}}`))
	refused("another node's lease", `leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node`,
		p.create(t, &n1, lease("kube-node-lease", "n2")))
	refused("a lease elsewhere", `can only access leases in the "kube-node-lease" system namespace`,
		p.create(t, &n1, lease("default", "n1")))
	if got := p.mustKubectl(t, "get", "leases", "-n", "kube-node-lease"); !strings.Contains(got, "HOLDER") || !strings.Contains(got, "n1 ") {
		t.Errorf("kubectl get leases:\n%s", got)
	}
	if got := p.mustKubectl(t, "get", "lease", "n1", "-n", "kube-node-lease", "-o", "jsonpath={.spec.renewTime}"); got != "2026-12-02T10:00:10.000000Z" {
		t.Errorf("the renewed lease's renewTime = %q", got)
	}

	// Tokens: bound to its own pod, and capped.
	refused("an unbound token", `serviceaccounts "default" is forbidden: node requested token not bound to a pod`,
		p.kubectlAs(t, n1, "create", "token", "default", "-n", "default"))
	refused("a pod binding without uid", "node requested token with a pod binding without a uid",
		p.kubectlAs(t, n1, "create", "token", "default", "-n", "default", "--bound-object-kind", "Pod", "--bound-object-name", "web"))
	r := p.kubectlAs(t, n1, "create", "token", "default", "-n", "default", "--bound-object-kind", "Pod", "--bound-object-name", "web",
		"--bound-object-uid", podUID, "--duration", "100000h")
	if r.err != nil {
		t.Fatalf("token for its own pod: %s", r)
	}
	if !strings.Contains(r.stderr, "requested expiration of 360000000 seconds shortened to 7200 seconds") {
		t.Errorf("no warning of the shortened token: %s", r)
	}
	claims := jwtPart(t, r.stdout, 1)
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	pod, _ := k8s["pod"].(map[string]any)
	node, _ := k8s["node"].(map[string]any)
	if claims["exp"].(float64)-claims["iat"].(float64) != 7200 || pod["name"] != "web" || pod["uid"] != podUID ||
		node["name"] != "n1" || node["uid"] != nodeUID {
		t.Errorf("the kubelet's token: %v", claims)
	}
	w := p.whoami(t, user{token: strings.TrimSpace(r.stdout)})
	if x := w.Status.UserInfo.Extra; fmt.Sprint(x["authentication.kubernetes.io/pod-name"], x["authentication.kubernetes.io/node-name"]) != "[web] [n1]" {
		t.Errorf("the token's user extra = %v", x)
	}
}

// TestBoundServiceAccountTokens: `kubectl create token --bound-object-kind
// Pod|Secret|Node` works (a pod on a node that does not exist too: the
// node is named without its UID), and each token is refused (401) once
// its object is deleted.
func TestBoundServiceAccountTokens(t *testing.T) {
	p := startPortico(t)
	admin := user{kubeconfig: p.kubeconfig()}
	for _, obj := range []string{
		`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"app","namespace":"default"}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"app-pod","namespace":"default"},"spec":{"serviceAccountName":"app","nodeName":"ghost","containers":[{"name":"c","image":"busybox:1.36"}]}}`,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"app-secret","namespace":"default"}}`,
		`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n3"}}`,
	} {
		if r := p.create(t, nil, obj); r.err != nil {
			t.Fatalf("create: %s", r)
		}
	}
	if r := p.kubectlAs(t, admin, "create", "token", "default", "-n", "default", "--bound-object-kind", "Pod", "--bound-object-name", "app-pod"); r.err == nil ||
		!strings.Contains(r.stderr, `cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.`) {
		t.Errorf("token of another account bound to the pod: %s", r)
	}
	if r := p.kubectlAs(t, admin, "create", "token", "app", "-n", "default", "--bound-object-kind", "Secret", "--bound-object-name", "app-secret", "--bound-object-uid", "stale"); r.err == nil ||
		!strings.Contains(r.stderr, "the UID in the bound object reference (stale) does not match the UID in record") {
		t.Errorf("a stale uid: %s", r)
	}
	tests := []struct {
		kind, name string
		claim      string // the kubernetes.io claim naming the object
		del        []string
	}{
		// A bound pod's deletion waits for its kubelet; the token dies as
		// soon as it starts.
		{"Pod", "app-pod", "pod", []string{"delete", "pod", "app-pod", "-n", "default", "--wait=false"}},
		{"Secret", "app-secret", "secret", []string{"delete", "secret", "app-secret", "-n", "default"}},
		{"Node", "n3", "node", []string{"delete", "node", "n3"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			r := p.kubectlAs(t, admin, "create", "token", "app", "-n", "default", "--bound-object-kind", tc.kind, "--bound-object-name", tc.name)
			if r.err != nil {
				t.Fatalf("create token: %s\nportico logs:\n%s", r, p.logs.String())
			}
			tok := strings.TrimSpace(r.stdout)
			k8s, _ := jwtPart(t, tok, 1)["kubernetes.io"].(map[string]any)
			if ref, _ := k8s[tc.claim].(map[string]any); ref["name"] != tc.name || ref["uid"] == "" {
				t.Errorf("claims = %v", k8s)
			}
			if w := p.whoami(t, user{token: tok}); w.Status.UserInfo.Username != "system:serviceaccount:default:app" {
				t.Errorf("whoami = %+v", w.Status.UserInfo)
			}
			p.mustKubectl(t, tc.del...)
			testwait.Until(t, 5*time.Second, "the token refused after its "+tc.claim+" is deleted", func() bool {
				r := p.kubectlAs(t, user{token: tok}, "auth", "whoami")
				return r.err != nil && strings.Contains(r.stderr, "You must be logged in to the server")
			})
		})
	}
}
