package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestDeletion drives kube's deletion semantics with the real kubectl
// against `portico up` and its built-in controllers: kubectl delete
// --cascade=foreground|orphan|background on an owner with dependents,
// finalizers holding an object, a bound pod's graceful deletion confirmed
// by a grace-0 delete, and a namespace going Terminating, then away with
// its content.
func TestDeletion(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	const ns = "del"
	p.mustKubectlIn(t, "", "create", "namespace", ns)
	k := func(stdin string, args ...string) string {
		t.Helper()
		return p.mustKubectlIn(t, stdin, append(args, "-n", ns)...)
	}
	uid := func(kind, name string) string {
		t.Helper()
		return k("", "get", kind, name, "-o", "jsonpath={.metadata.uid}")
	}
	exists := func(kind, name string) bool {
		t.Helper()
		r := p.kubectlIn(t, "", "get", kind, name, "-n", ns, "-o", "name")
		if r.err != nil && !strings.Contains(r.stderr, "NotFound") {
			t.Fatalf("get %s/%s: %s", kind, name, r)
		}
		return r.err == nil
	}
	// family makes a config map owner with two config map dependents and
	// a pod dependent, each blocking its owner's deletion.
	family := func(owner string) []string {
		t.Helper()
		k("", "create", "configmap", owner)
		ref := fmt.Sprintf("ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: %s, uid: %s, blockOwnerDeletion: true}]", owner, uid("configmap", owner))
		for _, dep := range []string{owner + "-a", owner + "-b"} {
			k(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  %s\n", dep, ref), "create", "-f", "-")
		}
		k(fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s-pod\n  %s\nspec:\n  containers: [{name: c, image: busybox:1.36}]\n", owner, ref), "create", "-f", "-")
		return []string{"configmap/" + owner + "-a", "configmap/" + owner + "-b", "pod/" + owner + "-pod"}
	}
	gone := func(refs []string) bool {
		for _, r := range refs {
			kind, name, _ := strings.Cut(r, "/")
			if exists(kind, name) {
				return false
			}
		}
		return true
	}

	t.Run("cascade foreground", func(t *testing.T) {
		deps := family("fg")
		w := p.watchKubectl(t, "configmaps", "-n", ns)
		if out := k("", "delete", "configmap", "fg", "--cascade=foreground"); !strings.Contains(out, `configmap "fg" deleted`) {
			t.Errorf("delete printed %q", out)
		}
		// kubectl waited for the owner, which waited for its dependents.
		if !gone(deps) {
			t.Errorf("the owner is gone before its dependents")
		}
		w.waitOutput(t, "the owner's DELETED event", func(stdout, _ string) bool { return eventLine(stdout, "DELETED", "fg") >= 0 })
		out := w.stdout.String()
		owner := eventLine(out, "DELETED", "fg")
		for _, dep := range []string{"fg-a", "fg-b"} {
			if i := eventLine(out, "DELETED", dep); i < 0 || i > owner {
				t.Errorf("%s not deleted before its owner:\n%s", dep, out)
			}
		}
		if m := eventLine(out, "MODIFIED", "fg"); m < 0 || m > eventLine(out, "DELETED", "fg-a") {
			t.Errorf("the owner was not marked (foregroundDeletion) before its dependents went:\n%s", out)
		}
	})

	t.Run("cascade orphan", func(t *testing.T) {
		deps := family("or")
		if out := k("", "delete", "configmap", "or", "--cascade=orphan"); !strings.Contains(out, `configmap "or" deleted`) || exists("configmap", "or") {
			t.Errorf("delete printed %q", out)
		}
		for _, d := range deps {
			if got := k("", "get", d, "-o", "jsonpath={.metadata.ownerReferences}"); got != "" {
				t.Errorf("%s still refers to its owner: %s", d, got)
			}
		}
	})

	t.Run("cascade background", func(t *testing.T) {
		deps := family("bg")
		if out := k("", "delete", "configmap", "bg", "--cascade=background"); !strings.Contains(out, `configmap "bg" deleted`) || exists("configmap", "bg") {
			t.Errorf("delete printed %q", out)
		}
		testwait.Until(t, 10*time.Second, "the dependents collected", func() bool { return gone(deps) })
	})

	t.Run("finalizers hold", func(t *testing.T) {
		k("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n", "create", "-f", "-")
		k("", "delete", "configmap", "held", "--wait=false")
		if got := k("", "get", "configmap", "held", "-o", "jsonpath={.metadata.deletionTimestamp}/{.metadata.finalizers}"); !strings.HasSuffix(got, `/["example.com/hold"]`) || strings.HasPrefix(got, "/") {
			t.Errorf("held config map: %q", got)
		}
		k("", "patch", "configmap", "held", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
		if exists("configmap", "held") {
			t.Errorf("still there once its finalizer is gone")
		}
	})

	t.Run("graceful pod", func(t *testing.T) {
		k("apiVersion: v1\nkind: Pod\nmetadata: {name: bound}\nspec:\n  nodeName: n1\n  containers: [{name: c, image: busybox:1.36}]\n", "create", "-f", "-")
		podUID := uid("pod", "bound")
		k("", "delete", "pod", "bound", "--wait=false")
		if got := k("", "get", "pod", "bound", "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}"); got != "30" {
			t.Errorf("deletionGracePeriodSeconds = %q, want 30", got)
		}
		checkRow(t, "pod being deleted", parseTable(t, k("", "get", "pod", "bound")).rows[0], map[string]string{"STATUS": "Terminating"})
		// The kubelet's confirmation: gracePeriodSeconds 0, on its uid.
		code, _, body := httpDo(t, http.DefaultClient, "DELETE", p.insecureURL()+"/api/v1/namespaces/"+ns+"/pods/bound", "application/json",
			`{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"preconditions":{"uid":"`+podUID+`"}}`)
		if code != http.StatusOK || exists("pod", "bound") {
			t.Errorf("grace-0 delete: %d %s", code, body)
		}
	})

	t.Run("namespace lifecycle", func(t *testing.T) {
		const doomed = "doomed"
		p.mustKubectlIn(t, "", "create", "namespace", doomed)
		in := func(stdin string, args ...string) result {
			return p.kubectlIn(t, stdin, append(args, "-n", doomed)...)
		}
		for _, m := range []string{
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n",
			// No kubelet will confirm this one: the cleaner does not wait for it.
			"apiVersion: v1\nkind: Pod\nmetadata: {name: bound}\nspec:\n  nodeName: no-kubelet\n  containers: [{name: c, image: busybox:1.36}]\n",
		} {
			if r := in(m, "create", "-f", "-"); r.err != nil {
				t.Fatal(r)
			}
		}
		del := startBackground(t, "kubectl", "--server", p.insecureURL(), "--cache-dir", t.TempDir(), "delete", "namespace", doomed)
		testwait.Until(t, 10*time.Second, "the namespace Terminating", func() bool {
			return p.mustKubectlIn(t, "", "get", "namespace", doomed, "-o", "jsonpath={.status.phase}") == "Terminating"
		})
		r := in("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n", "create", "-f", "-")
		if r.err == nil || !strings.Contains(r.stderr, "unable to create new content in namespace doomed because it is being terminated") {
			t.Errorf("create in a Terminating namespace: %s", r)
		}
		testwait.Until(t, 10*time.Second, "the content deleted but the held config map", func() bool {
			out := p.mustKubectlIn(t, "", "get", "configmaps,pods", "-n", doomed, "-o", "name")
			return strings.TrimSpace(out) == "configmap/held"
		})
		if got := p.mustKubectlIn(t, "", "get", "namespace", doomed, "-o", "jsonpath={.status.phase}"); got != "Terminating" {
			t.Errorf("a finalizer in the namespace: phase %q, want Terminating", got)
		}
		if r := in("", "patch", "configmap", "held", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`); r.err != nil {
			t.Fatal(r)
		}
		// kubectl delete namespace waits until it is gone.
		del.waitOutput(t, "kubectl delete namespace to finish", func(stdout, _ string) bool {
			select {
			case <-del.done:
				return true
			default:
				return false
			}
		})
		if !strings.Contains(del.stdout.String(), `namespace "doomed" deleted`) || del.cmd.ProcessState.ExitCode() != 0 {
			t.Errorf("kubectl delete namespace: %s %s", del.stdout.String(), del.stderr.String())
		}
		if r := p.kubectlIn(t, "", "get", "namespace", doomed); r.err == nil || !strings.Contains(r.stderr, `namespaces "doomed" not found`) {
			t.Errorf("namespace after its deletion: %s", r)
		}
	})
}

// TestDeletionWithoutBuiltinControllers: with --builtin-controllers=
// (a real kube-controller-manager's setup) nothing empties a Terminating
// namespace; whoever plays the namespace controller deletes the content
// and takes the "kubernetes" finalizer out through
// PUT /api/v1/namespaces/{name}/finalize.
func TestDeletionWithoutBuiltinControllers(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s", "--builtin-controllers=")
	if strings.Contains(p.logs.String(), "built-in controller enabled") {
		t.Fatalf("controllers started:\n%s", p.logs.String())
	}
	p.mustKubectlIn(t, "", "create", "namespace", "manual")
	p.mustKubectlIn(t, "", "create", "configmap", "c", "-n", "manual")
	p.mustKubectlIn(t, "", "delete", "namespace", "manual", "--wait=false")
	ns := p.getJSON(t, "namespace", "manual")
	if jsonStr(ns, "status", "phase") != "Terminating" || jsonStr(ns, "spec", "finalizers", 0) != "kubernetes" {
		t.Fatalf("namespace after delete: %v", ns)
	}
	// The controller's part: empty it, then finalize.
	p.mustKubectlIn(t, "", "delete", "configmap", "c", "-n", "manual")
	url := p.insecureURL() + "/api/v1/namespaces/manual/finalize"
	code, _, body := httpDo(t, http.DefaultClient, "PUT", url, "application/json",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"manual"},"spec":{"finalizers":["bogus"]}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "spec.finalizers[0]") {
		t.Errorf("finalize with a bad name: %d %s", code, body)
	}
	code, _, body = httpDo(t, http.DefaultClient, "PUT", url, "application/json",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"manual"},"spec":{"finalizers":[]}}`)
	if code != http.StatusOK || jsonStr(decodeJSON(t, body), "kind") != "Namespace" {
		t.Errorf("finalize: %d %s", code, body)
	}
	if r := p.kubectlIn(t, "", "get", "namespace", "manual"); r.err == nil || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("namespace after finalize: %s", r)
	}
}

// eventLine is the index of the first `kubectl get -w --output-watch-events`
// line of type typ for the object named name; -1 when there is none.
func eventLine(out, typ, name string) int {
	for i, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == typ && f[1] == name {
			return i
		}
	}
	return -1
}
