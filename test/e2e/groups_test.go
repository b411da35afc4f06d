package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/testpeers"
)

// TestGroupsMatchKubeAPIServer: every resource Portico serves is
// discovered as a real kube-apiserver v1.37.2 discovers it, side by side
// in one run: its kind, scope, singular name, short names, categories,
// verbs and subresources (those Portico serves).
func TestGroupsMatchKubeAPIServer(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	kube := testpeers.StartKubeAPIServer(t, etcd)
	p := startPortico(t)
	kubeClient := kube.Client(t)

	discover := func(c *http.Client, base, groupVersion string) map[string]metav1.APIResource {
		t.Helper()
		path := "/apis/" + groupVersion
		if !strings.Contains(groupVersion, "/") {
			path = "/api/" + groupVersion
		}
		code, _, body := httpDo(t, c, "GET", base+path, "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s%s: %d %s", base, path, code, body)
		}
		var list metav1.APIResourceList
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			out[r.Name] = r
		}
		return out
	}
	type key struct{ gv string }
	ours, theirs := map[key]map[string]metav1.APIResource{}, map[key]map[string]metav1.APIResource{}
	compared := 0
	for _, row := range resources.All() {
		gv := row.Version
		if row.Group != "" {
			gv = row.Group + "/" + row.Version
		}
		k := key{gv}
		if ours[k] == nil {
			ours[k] = discover(http.DefaultClient, p.insecureURL(), gv)
			theirs[k] = discover(kubeClient, kube.URL, gv)
		}
		mine, ok := ours[k][row.Resource]
		if !ok {
			t.Errorf("%s %s: not in Portico's discovery", gv, row.Resource)
			continue
		}
		real, ok := theirs[k][row.Resource]
		if !ok {
			t.Errorf("%s %s: kube-apiserver does not serve it", gv, row.Resource)
			continue
		}
		describe := func(r metav1.APIResource) string {
			verbs := slices.Sorted(slices.Values(r.Verbs))
			return fmt.Sprintf("kind=%s namespaced=%v singular=%s short=%v categories=%v verbs=%v", r.Kind, r.Namespaced, r.SingularName, r.ShortNames, r.Categories, verbs)
		}
		compared++
		if got, want := describe(mine), describe(real); got != want {
			t.Errorf("%s %s:\n portico        %s\n kube-apiserver %s", gv, row.Resource, got, want)
		}
		for _, sub := range row.Subresources {
			if _, ok := theirs[k][row.Resource+"/"+sub]; !ok {
				t.Errorf("%s %s/%s: kube-apiserver has no such subresource", gv, row.Resource, sub)
			}
			if _, ok := ours[k][row.Resource+"/"+sub]; !ok {
				t.Errorf("%s %s/%s: not in Portico's discovery", gv, row.Resource, sub)
			}
		}
	}
	if compared != len(resources.All()) {
		t.Errorf("compared %d resources, want every one of the table's %d", compared, len(resources.All()))
	}
	t.Logf("%d resources in %d group versions discovered as kube-apiserver does", compared, len(ours))
}

// TestWorkloadGenerations: a Deployment served by the generic engine
// counts its spec's changes in metadata.generation, and keeps status to
// its subresource, as kube-apiserver's strategy does: a write of the
// object leaves the status alone, a write of the status leaves the spec
// and the generation alone.
func TestWorkloadGenerations(t *testing.T) {
	p := startPortico(t)
	base := p.insecureURL() + "/apis/apps/v1/namespaces/default/deployments"
	do := func(method, url, contentType, body string, want int) map[string]any {
		t.Helper()
		code, _, out := httpDo(t, http.DefaultClient, method, url, contentType, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, url, code, want, out)
		}
		return decodeJSON(t, out)
	}
	generation := func(obj map[string]any) string { return fmt.Sprint(jsonAt(obj, "metadata", "generation")) }
	const merge = "application/merge-patch+json"
	created := do("POST", base, "application/json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}},
"status":{"replicas":7}}`, http.StatusCreated)
	if g := generation(created); g != "1" {
		t.Errorf("generation after create = %s, want 1", g)
	}
	if s := jsonAt(created, "status", "replicas"); s != nil {
		t.Errorf("a create set status.replicas to %v", s)
	}
	scaled := do("PATCH", base+"/web", merge, `{"spec":{"replicas":3},"status":{"replicas":9}}`, http.StatusOK)
	if g := generation(scaled); g != "2" {
		t.Errorf("generation after a spec change = %s, want 2", g)
	}
	if s := jsonAt(scaled, "status", "replicas"); s != nil {
		t.Errorf("a write of the object set status.replicas to %v", s)
	}
	labelled := do("PATCH", base+"/web", merge, `{"metadata":{"labels":{"team":"a"}}}`, http.StatusOK)
	if g := generation(labelled); g != "2" {
		t.Errorf("generation after a metadata change = %s, want 2", g)
	}
	status := do("PATCH", base+"/web/status", merge, `{"spec":{"replicas":5},"status":{"replicas":3,"observedGeneration":2}}`, http.StatusOK)
	if g, r, s := generation(status), jsonAt(status, "spec", "replicas"), jsonAt(status, "status", "replicas"); g != "2" || fmt.Sprint(r) != "3" || fmt.Sprint(s) != "3" {
		t.Errorf("after a status write: generation %s, spec.replicas %v, status.replicas %v; want 2, 3, 3", g, r, s)
	}
}

// TestBootstrapRoles: the control plane's identities may do what
// kube-apiserver's bootstrap policy lets them, and no more, from the first
// start: the scheduler reads the storage and resource kinds and holds its
// leader lease, a controller's service account writes its kind's status,
// a kubelet's view is not widened.
func TestBootstrapRoles(t *testing.T) {
	p := startPortico(t, "--authorization-mode", "Node,RBAC")
	p.waitPolicy(t)
	tests := []struct {
		as, ns string
		args   []string
		want   string
	}{
		{"system:kube-scheduler", "", []string{"list", "csinodes.storage.k8s.io"}, "yes"},
		{"system:kube-scheduler", "", []string{"watch", "resourceslices.resource.k8s.io"}, "yes"},
		{"system:kube-scheduler", "", []string{"create", "pods", "--subresource=binding"}, "yes"},
		{"system:kube-scheduler", "kube-system", []string{"update", "leases.coordination.k8s.io/kube-scheduler"}, "yes"},
		{"system:kube-scheduler", "", []string{"delete", "deployments.apps"}, "no"},
		{"system:kube-controller-manager", "kube-system", []string{"create", "leases.coordination.k8s.io"}, "yes"},
		{"system:serviceaccount:kube-system:deployment-controller", "default", []string{"update", "deployments.apps", "--subresource=status"}, "yes"},
		{"system:serviceaccount:kube-system:deployment-controller", "default", []string{"create", "replicasets.apps"}, "yes"},
		{"system:serviceaccount:kube-system:deployment-controller", "default", []string{"get", "secrets"}, "no"},
	}
	for _, tc := range tests {
		args := append([]string{"auth", "can-i"}, tc.args...)
		args = append(args, "--as", tc.as)
		if tc.ns != "" {
			args = append(args, "-n", tc.ns)
		}
		r := p.kubectlAs(t, user{kubeconfig: p.kubeconfig()}, args...)
		if got := strings.TrimSpace(r.stdout); got != tc.want {
			t.Errorf("%s: kubectl %s = %q, want %q (%s)", tc.as, strings.Join(tc.args, " "), got, tc.want, r.stderr)
		}
	}
	// An admin's change to a bootstrap role survives a restart when it
	// says so; a deleted rule of one that does not is put back.
	p.mustKubectl(t, "annotate", "clusterrole", "system:volume-scheduler", "rbac.authorization.kubernetes.io/autoupdate=false", "--overwrite")
	p.mustKubectl(t, "patch", "clusterrole", "system:volume-scheduler", "--type=json", "-p", `[{"op":"replace","path":"/rules","value":[]}]`)
	p.mustKubectl(t, "patch", "clusterrole", "system:node-proxier", "--type=json", "-p", `[{"op":"replace","path":"/rules","value":[]}]`)
	p.stop()
	p.start()
	if got := p.mustKubectl(t, "get", "clusterrole", "system:volume-scheduler", "-o", "jsonpath={.rules}"); got != "" && got != "[]" && got != "null" {
		t.Errorf("the admin's emptied system:volume-scheduler was refilled: %s", got)
	}
	if got := p.mustKubectl(t, "get", "clusterrole", "system:node-proxier", "-o", "jsonpath={.rules}"); got == "" || got == "[]" || got == "null" {
		t.Error("system:node-proxier's rules were not put back")
	}
}
