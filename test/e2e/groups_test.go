package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/testpeers"
	"github.com/portico-dev/portico/internal/testwait"
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
			real, ok := theirs[k][row.Resource+"/"+sub]
			if !ok {
				t.Errorf("%s %s/%s: kube-apiserver has no such subresource", gv, row.Resource, sub)
				continue
			}
			mine, ok := ours[k][row.Resource+"/"+sub]
			if !ok {
				t.Errorf("%s %s/%s: not in Portico's discovery", gv, row.Resource, sub)
				continue
			}
			if got, want := describeSub(mine), describeSub(real); got != want {
				t.Errorf("%s %s/%s:\n portico        %s\n kube-apiserver %s", gv, row.Resource, sub, got, want)
			}
		}
		// The subresources every client of the kind relies on:
		// controllers write status, kubectl scale and the HPA scale.
		for _, sub := range []string{"status", "scale"} {
			if _, ok := theirs[k][row.Resource+"/"+sub]; ok && !slices.Contains(row.Subresources, sub) {
				t.Errorf("%s %s/%s: kube-apiserver serves it, Portico does not", gv, row.Resource, sub)
			}
		}
	}
	if compared != len(resources.All()) {
		t.Errorf("compared %d resources, want every one of the table's %d", compared, len(resources.All()))
	}
	t.Logf("%d resources in %d group versions discovered as kube-apiserver does", compared, len(ours))
	t.Run("scale", func(t *testing.T) { scaleMatches(t, p, kube) })
	t.Run("events", func(t *testing.T) { eventsMatch(t, p, kube) })
	t.Run("priority", func(t *testing.T) { priorityMatches(t, p, kube) })
	t.Run("validation", func(t *testing.T) { validationMatches(t, p, kube) })
}

// validationMatches: the invalid pods and workloads clients most often
// send are refused with kube-apiserver's code and message, side by side.
func validationMatches(t *testing.T, p *portico, kube *testpeers.KubeAPIServer) {
	clients := sideBySide(t, p, kube)
	const (
		pods   = "/api/v1/namespaces/default/pods"
		deploy = "/apis/apps/v1/namespaces/default/deployments"
		rs     = "/apis/apps/v1/namespaces/default/replicasets"
	)
	tmpl := func(labels, containers string) string {
		return `"template":{"metadata":{"labels":` + labels + `},"spec":{"containers":` + containers + `}}`
	}
	for _, tc := range []struct{ what, path, body string }{
		{"a pod without containers", pods, `{"metadata":{"name":"v1"},"spec":{"containers":[]}}`},
		{"a container without an image", pods, `{"metadata":{"name":"v2"},"spec":{"containers":[{"name":"c"}]}}`},
		{"a container without a name", pods, `{"metadata":{"name":"v3"},"spec":{"containers":[{"image":"nginx"}]}}`},
		{"two containers of one name", pods, `{"metadata":{"name":"v4"},"spec":{"containers":[{"name":"c","image":"a"},{"name":"c","image":"b"}]}}`},
		{"a container name that is no label", pods, `{"metadata":{"name":"v5"},"spec":{"containers":[{"name":"C_1","image":"a"}]}}`},
		{"a deployment without a selector", deploy, `{"metadata":{"name":"v6"},"spec":{` + tmpl(`{"app":"a"}`, `[{"name":"c","image":"a"}]`) + `}}`},
		{"a selector that misses the template", deploy, `{"metadata":{"name":"v7"},"spec":{"selector":{"matchLabels":{"app":"b"}},` + tmpl(`{"app":"a"}`, `[{"name":"c","image":"a"}]`) + `}}`},
		{"negative replicas", rs, `{"metadata":{"name":"v8"},"spec":{"replicas":-2,"selector":{"matchLabels":{"app":"a"}},` + tmpl(`{"app":"a"}`, `[{"name":"c","image":"a"}]`) + `}}`},
		{"a template without an image", rs, `{"metadata":{"name":"v9"},"spec":{"selector":{"matchLabels":{"app":"a"}},` + tmpl(`{"app":"a"}`, `[{"name":"c"}]`) + `}}`},
	} {
		var got [2]string
		for i, c := range clients {
			code, _, raw := httpDo(t, c.c, "POST", c.base+tc.path, "application/json", tc.body)
			got[i] = fmt.Sprintf("%d %s", code, jsonStr(decodeJSON(t, raw), "message"))
		}
		if got[0] != got[1] {
			t.Errorf("%s:\n portico        %s\n kube-apiserver %s", tc.what, got[0], got[1])
		}
	}
}

// priorityMatches: the system priority classes exist from the start, and
// a new pod's priority is its class's (or the global default's), or it is
// refused for a class that does not exist, as kube-apiserver's Priority
// admission does, side by side.
func priorityMatches(t *testing.T, p *portico, kube *testpeers.KubeAPIServer) {
	servers := sideBySide(t, p, kube)
	// kube-apiserver has no controller manager here to make the default
	// service account its ServiceAccount admission wants.
	httpDo(t, servers[1].c, "POST", kube.URL+"/api/v1/namespaces/default/serviceaccounts", "application/json", `{"metadata":{"name":"default"}}`)
	pod := func(name, class string) string {
		spec := `"containers":[{"name":"c","image":"nginx"}]`
		if class != "" {
			spec = `"priorityClassName":"` + class + `",` + spec
		}
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{` + spec + `}}`
	}
	steps := []struct {
		what, method, path, body string
		fields                   [][]any // what to compare of a 2xx answer
	}{
		{"system-node-critical", "GET", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical", "", [][]any{{"value"}, {"description"}, {"preemptionPolicy"}, {"globalDefault"}}},
		{"system-cluster-critical", "GET", "/apis/scheduling.k8s.io/v1/priorityclasses/system-cluster-critical", "", [][]any{{"value"}, {"description"}}},
		{"a pod of system-node-critical", "POST", "/api/v1/namespaces/default/pods", pod("critical", "system-node-critical"), [][]any{{"spec", "priority"}, {"spec", "preemptionPolicy"}, {"spec", "priorityClassName"}}},
		{"a pod of a class that does not exist", "POST", "/api/v1/namespaces/default/pods", pod("nowhere", "no-such-class"), nil},
		{"a default class", "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", `{"metadata":{"name":"tables-default"},"value":100,"globalDefault":true,"preemptionPolicy":"Never"}`, [][]any{{"value"}, {"preemptionPolicy"}}},
		{"a pod of no class", "POST", "/api/v1/namespaces/default/pods", pod("plain", ""), [][]any{{"spec", "priority"}, {"spec", "preemptionPolicy"}, {"spec", "priorityClassName"}}},
	}
	for _, st := range steps {
		var got [2]string
		for i, s := range servers {
			code, _, raw := httpDo(t, s.c, st.method, s.base+st.path, "application/json", st.body)
			obj := decodeJSON(t, raw)
			got[i] = fmt.Sprint(code)
			if code >= 300 {
				got[i] += " " + jsonStr(obj, "message")
				continue
			}
			for _, f := range st.fields {
				got[i] += fmt.Sprintf(" %v=%v", f, jsonAt(obj, f...))
			}
		}
		if got[0] != got[1] {
			t.Errorf("%s:\n portico        %s\n kube-apiserver %s", st.what, got[0], got[1])
		}
	}
}

// eventsMatch: an Event is one object in core/v1 and events.k8s.io/v1,
// as in kube-apiserver, side by side: one written in either version reads
// the same in the other (field names converted, same resourceVersion),
// events.k8s.io's field selectors select it, and a watch of one version
// sees a write of the other.
func eventsMatch(t *testing.T, p *portico, kube *testpeers.KubeAPIServer) {
	servers := sideBySide(t, p, kube)
	const (
		core = "/api/v1/namespaces/default/events"
		v1   = "/apis/events.k8s.io/v1/namespaces/default/events"
	)
	// answer is a request's code and body, without what differs by
	// server; rv is the object's resourceVersion.
	answer := func(s sideServer, method, path, body string) (out, rv string) {
		t.Helper()
		code, _, raw := httpDo(t, s.c, method, s.base+path, "application/json", body)
		var v map[string]any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("%s %s %s: %d %s", s.name, method, path, code, raw)
		}
		if m, ok := v["metadata"].(map[string]any); ok {
			rv, _ = m["resourceVersion"].(string)
			for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields"} {
				delete(m, k)
			}
		}
		if items, ok := v["items"].([]any); ok {
			for _, it := range items {
				if m, ok := it.(map[string]any)["metadata"].(map[string]any); ok {
					for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields"} {
						delete(m, k)
					}
				}
			}
		}
		b, _ := json.Marshal(v)
		return fmt.Sprintf("%d %s", code, b), rv
	}
	const coreEvent = `{"apiVersion":"v1","kind":"Event","metadata":{"name":"kubelet.1"},
"involvedObject":{"kind":"Pod","namespace":"default","name":"web","uid":"u-1"},"reason":"Pulled","message":"pulled","type":"Normal",
"source":{"component":"kubelet","host":"n1"},"firstTimestamp":"2026-01-01T00:00:00Z","lastTimestamp":"2026-01-01T00:00:01Z","count":2}`
	const v1Event = `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"sched.1"},
"eventTime":"2026-01-01T00:00:00.000001Z","reportingController":"default-scheduler","reportingInstance":"default-scheduler-n1","action":"Scheduling",
"reason":"FailedScheduling","regarding":{"kind":"Pod","namespace":"default","name":"big","uid":"u-2"},"note":"0/3 nodes are available","type":"Warning",
"series":{"count":2,"lastObservedTime":"2026-01-01T00:00:02.000002Z"}}`
	steps := []struct {
		what, method, path, body string
		sameRV                   bool // the same object as the step before
	}{
		{"create a core event", "POST", core, coreEvent, false},
		{"read it as events.k8s.io", "GET", v1 + "/kubelet.1", "", true},
		{"create an events.k8s.io event", "POST", v1, v1Event, false},
		{"read it as core", "GET", core + "/sched.1", "", true},
		{"select by regarding.name", "GET", v1 + "?fieldSelector=regarding.name%3Dbig", "", false},
		{"select by reportingController", "GET", v1 + "?fieldSelector=reportingController%3Ddefault-scheduler", "", false},
		{"a core-only field label", "GET", v1 + "?fieldSelector=source%3Dkubelet", "", false},
		{"select core by reportingComponent", "GET", core + "?fieldSelector=reportingComponent%3Ddefault-scheduler", "", false},
	}
	var lastRV [2]string
	for _, st := range steps {
		var got [2]string
		var rvs [2]string
		for i, s := range servers {
			got[i], rvs[i] = answer(s, st.method, st.path, st.body)
			if st.sameRV && rvs[i] != lastRV[i] {
				t.Errorf("%s on %s: resourceVersion %s, the other version's is %s", st.what, s.name, rvs[i], lastRV[i])
			}
		}
		lastRV = rvs
		if got[0] != got[1] {
			t.Errorf("%s (%s %s):\n portico        %s\n kube-apiserver %s", st.what, st.method, st.path, got[0], got[1])
		}
	}
	// A watch of core events sees an events.k8s.io write.
	w := p.watchKubectl(t, "events")
	defer w.stop()
	body := strings.Replace(strings.Replace(v1Event, "sched.1", "sched.2", 1), "0/3 nodes are available", "seen by the watch", 1)
	testwait.Until(t, 10*time.Second, "kubectl's watch of core events started", func() bool {
		code, _, _ := httpDo(t, http.DefaultClient, "POST", p.insecureURL()+v1, "application/json", body)
		return code == http.StatusCreated
	})
	w.waitOutput(t, "the watch of core events shows the events.k8s.io event", func(stdout, _ string) bool {
		return strings.Contains(stdout, "seen by the watch")
	})
	if out := p.mustKubectl(t, "get", "events.events.k8s.io", "sched.1"); !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "pod/big") {
		t.Errorf("kubectl get events.events.k8s.io: the row lacks the reason or the object:\n%s", out)
	}
}

// scaleMatches: the scale subresource answers as kube-apiserver's does,
// side by side: the Scale of a Deployment and of a ReplicationController,
// a PUT and a merge patch that set spec.replicas (and bump the
// generation), a negative count (422) and a stale resourceVersion (409);
// and `kubectl scale` works on Portico.
func scaleMatches(t *testing.T, p *portico, kube *testpeers.KubeAPIServer) {
	servers := sideBySide(t, p, kube)
	const (
		deploy = "/apis/apps/v1/namespaces/default/deployments"
		rc     = "/api/v1/namespaces/default/replicationcontrollers"
	)
	template := `"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`
	// answer is one request's code and body without what differs by
	// server (uid, resourceVersion, creation time).
	answer := func(s sideServer, method, path, contentType, body string) string {
		t.Helper()
		code, _, out := httpDo(t, s.c, method, s.base+path, contentType, body)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s %s %s: %d %s", s.name, method, path, code, out)
		}
		if m, ok := v["metadata"].(map[string]any); ok {
			delete(m, "uid")
			delete(m, "resourceVersion")
			delete(m, "creationTimestamp")
		}
		b, _ := json.Marshal(v)
		return fmt.Sprintf("%d %s", code, b)
	}
	steps := []struct {
		what, method, path, contentType, body string
	}{
		{"create a Deployment", "POST", deploy, "application/json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["db"]}]},` + template + `}}`},
		{"read its Scale", "GET", deploy + "/web/scale", "", ""},
		{"PUT a Scale", "PUT", deploy + "/web/scale", "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":5}}`},
		{"merge-patch a Scale", "PATCH", deploy + "/web/scale", "application/merge-patch+json", `{"spec":{"replicas":4}}`},
		{"strategic-patch a Scale", "PATCH", deploy + "/web/scale", "application/strategic-merge-patch+json", `{"spec":{"replicas":3}}`},
		{"the Deployment after", "GET", deploy + "/web", "", ""},
		{"a negative count", "PUT", deploy + "/web/scale", "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":-1}}`},
		{"a stale resourceVersion", "PUT", deploy + "/web/scale", "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","resourceVersion":"1"},"spec":{"replicas":1}}`},
		{"another name", "PUT", deploy + "/web/scale", "application/json", `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"other"},"spec":{"replicas":1}}`},
		{"the Scale of none", "GET", deploy + "/none/scale", "", ""},
		{"create a ReplicationController", "POST", rc, "application/json", `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"rc"},"spec":{"replicas":1,"selector":{"app":"web"},` + template + `}}`},
		{"read its Scale", "GET", rc + "/rc/scale", "", ""},
		{"merge-patch its Scale", "PATCH", rc + "/rc/scale", "application/merge-patch+json", `{"spec":{"replicas":0}}`},
	}
	for _, st := range steps {
		mine, real := answer(servers[0], st.method, st.path, st.contentType, st.body), answer(servers[1], st.method, st.path, st.contentType, st.body)
		if st.what == "the Deployment after" {
			// Compare what the scale writes changed, not the whole object
			// (managedFields and defaults have their own tests).
			var a, b map[string]any
			_ = json.Unmarshal([]byte(mine[4:]), &a)
			_ = json.Unmarshal([]byte(real[4:]), &b)
			mine = fmt.Sprintf("replicas=%v generation=%v", jsonAt(a, "spec", "replicas"), jsonAt(a, "metadata", "generation"))
			real = fmt.Sprintf("replicas=%v generation=%v", jsonAt(b, "spec", "replicas"), jsonAt(b, "metadata", "generation"))
		}
		if mine != real {
			t.Errorf("%s (%s %s):\n portico        %s\n kube-apiserver %s", st.what, st.method, st.path, mine, real)
		}
	}
	if out := p.mustKubectl(t, "scale", "deployment", "web", "--replicas=7"); !strings.Contains(out, "deployment.apps/web scaled") {
		t.Errorf("kubectl scale: %q", out)
	}
	if got := p.mustKubectl(t, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "7" {
		t.Errorf("after kubectl scale --replicas=7, spec.replicas = %s", got)
	}
}

// sideServer is one of the two servers a side-by-side check asks.
type sideServer struct {
	name, base string
	c          *http.Client
}

// sideBySide are Portico (its insecure port) and kube-apiserver, in
// that order.
func sideBySide(t *testing.T, p *portico, kube *testpeers.KubeAPIServer) []sideServer {
	return []sideServer{{"portico", p.insecureURL(), http.DefaultClient}, {"kube-apiserver", kube.URL, kube.Client(t)}}
}

// describeSub is what discovery says of a subresource: the kind it takes
// and answers (with its group and version when another's) and its verbs.
func describeSub(r metav1.APIResource) string {
	return fmt.Sprintf("kind=%s group=%s version=%s namespaced=%v verbs=%v", r.Kind, r.Group, r.Version, r.Namespaced, slices.Sorted(slices.Values(r.Verbs)))
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

// TestBindings: the scheduler's two ways to bind a pod, pods/{name}/binding
// and the namespace's bindings collection, set spec.nodeName and the
// PodScheduled condition, carry the binding's annotations, and refuse a
// pod already bound (409), as kube-apiserver's.
func TestBindings(t *testing.T) {
	p := startPortico(t)
	base := p.insecureURL() + "/api/v1/namespaces/default"
	for _, name := range []string{"a", "b"} {
		p.mustKubectl(t, "run", name, "--image=busybox", "--restart=Never")
	}
	binding := func(pod, node string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Binding","metadata":{"name":%q,"annotations":{"scheduled-by":"test"}},"target":{"apiVersion":"v1","kind":"Node","name":%q}}`, pod, node)
	}
	for _, tc := range []struct{ url, pod string }{{base + "/bindings", "a"}, {base + "/pods/b/binding", "b"}} {
		code, _, body := httpDo(t, http.DefaultClient, "POST", tc.url, "application/json", binding(tc.pod, "node-1"))
		if code != http.StatusCreated || jsonStr(decodeJSON(t, body), "status") != "Success" {
			t.Fatalf("POST %s: %d %s", tc.url, code, body)
		}
		pod := decodeJSON(t, p.mustKubectl(t, "get", "pod", tc.pod, "-o", "json"))
		if got := jsonStr(pod, "spec", "nodeName"); got != "node-1" {
			t.Errorf("%s: spec.nodeName = %q", tc.pod, got)
		}
		if got := jsonStr(pod, "metadata", "annotations", "scheduled-by"); got != "test" {
			t.Errorf("%s: the binding's annotation = %q", tc.pod, got)
		}
		scheduled := false
		conds, _ := jsonAt(pod, "status", "conditions").([]any)
		for _, c := range conds {
			scheduled = scheduled || (jsonStr(c, "type") == "PodScheduled" && jsonStr(c, "status") == "True" && jsonStr(c, "lastTransitionTime") != "")
		}
		if !scheduled {
			t.Errorf("%s: no PodScheduled=True condition: %v", tc.pod, conds)
		}
		code, _, body = httpDo(t, http.DefaultClient, "POST", tc.url, "application/json", binding(tc.pod, "node-2"))
		if st := decodeJSON(t, body); code != http.StatusConflict || !strings.Contains(jsonStr(st, "message"), `is already assigned to node "node-1"`) {
			t.Errorf("binding %s again: %d %s", tc.pod, code, body)
		}
	}
	code, _, body := httpDo(t, http.DefaultClient, "POST", base+"/bindings", "application/json", `{"apiVersion":"v1","kind":"Binding","target":{"name":"node-1"}}`)
	if code != http.StatusUnprocessableEntity {
		t.Errorf("a binding without a pod's name: %d %s", code, body)
	}
}
