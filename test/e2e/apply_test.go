package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/testpeers"
)

// Server-side apply with the real kubectl: the same scenario runs against
// Portico and, where the real peers are built, a real kube-apiserver,
// and what each step leaves (exit, conflict message, data, managedFields)
// is compared.

// applyTarget is a server the scenario drives: Portico or kube-apiserver.
type applyTarget struct {
	name    string
	kubectl func(t *testing.T, stdin string, args ...string) result
	// client and url reach the REST API with an admin's rights.
	client *http.Client
	url    string
}

// porticoTarget is p as an applyTarget (the insecure port).
func porticoTarget(p *portico) applyTarget {
	return applyTarget{name: "portico", kubectl: p.kubectlIn, client: http.DefaultClient, url: p.insecureURL()}
}

// kubeTarget is a real kube-apiserver as an applyTarget.
func kubeTarget(t *testing.T, s *testpeers.KubeAPIServer) applyTarget {
	return applyTarget{
		name: "kube-apiserver",
		kubectl: func(t *testing.T, stdin string, args ...string) result {
			t.Helper()
			return run(t, stdin, "kubectl", append([]string{"--kubeconfig", s.Kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
		},
		client: s.Client(t), url: s.URL,
	}
}

// managedEntry is a managedFields entry without its time; fields is
// fieldsV1 as compact JSON (keys sorted).
type managedEntry struct{ Manager, Operation, Subresource, Fields string }

func (e managedEntry) String() string {
	return fmt.Sprintf("%s/%s/%s %s", e.Manager, e.Operation, e.Subresource, e.Fields)
}

// managedOf reads an object's managedFields, sorted by manager and
// operation (kube-apiserver orders them by operation and time).
func managedOf(t *testing.T, obj map[string]any) []managedEntry {
	t.Helper()
	list, _ := jsonAt(obj, "metadata", "managedFields").([]any)
	var out []managedEntry
	for _, e := range list {
		fields, err := json.Marshal(jsonAt(e, "fieldsV1"))
		if err != nil {
			t.Fatal(err)
		}
		if ft := jsonStr(e, "fieldsType"); ft != "FieldsV1" {
			t.Errorf("entry %v: fieldsType %q", e, ft)
		}
		out = append(out, managedEntry{jsonStr(e, "manager"), jsonStr(e, "operation"), jsonStr(e, "subresource"), string(fields)})
	}
	sortEntries(out)
	return out
}

func sortEntries(l []managedEntry) {
	slices.SortFunc(l, func(a, b managedEntry) int {
		return strings.Compare(a.Manager+"\x00"+a.Operation, b.Manager+"\x00"+b.Operation)
	})
}

// applyStep is one command of the scenario and what Portico must leave.
type applyStep struct {
	name  string
	stdin string
	args  []string
	// object is the "kind/name" read after the step.
	object string
	fails  bool
	// stderr must be in kubectl's error output when the step fails.
	stderr string
	// data is the ConfigMap's data after the step (nil: not checked).
	data map[string]any
	// managed are the object's managedFields after the step.
	managed []managedEntry
	// sameVersion: the step leaves the resourceVersion as it was.
	sameVersion bool
	// image is a pod's first container's image after the step ("": not
	// checked).
	image string
	// compared: managed is not checked, only compared with kube-apiserver's.
	compared bool
}

// stepOutcome is what a step left, compared between the servers.
type stepOutcome struct {
	ok      bool
	errLine string
	data    map[string]any
	managed []managedEntry
	rv      string
}

// configMapYAML is a ConfigMap manifest in namespace default with the
// data keys and values given (no data field without them).
func configMapYAML(name string, data ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\n", name)
	if len(data) > 0 {
		b.WriteString("data:\n")
	}
	for i := 0; i+1 < len(data); i += 2 {
		fmt.Fprintf(&b, "  %s: %q\n", data[i], data[i+1])
	}
	return b.String()
}

// dataFields is fieldsV1 owning the named keys of .data.
func dataFields(keys ...string) string {
	f := map[string]any{}
	for _, k := range keys {
		f["f:"+k] = map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"f:data": f})
	return string(b)
}

const serviceYAML = `apiVersion: v1
kind: Service
metadata:
  name: ssa-svc
  namespace: default
  labels: {app: ssa}
spec:
  type: LoadBalancer
  selector: {app: ssa}
  ports:
  - port: 80
    targetPort: 8080
`

const podStatusYAML = `apiVersion: v1
kind: Pod
metadata:
  name: ssa-pod
  namespace: default
status:
  conditions:
  - type: Ready
    status: "False"
`

// podStatusFields is what podStatusYAML's applier owns: conditions are a
// list map keyed by type.
const podStatusFields = `{"f:status":{"f:conditions":{"k:{\"type\":\"Ready\"}":{".":{},"f:status":{},"f:type":{}}}}}`

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: ssa-pod
  namespace: default
spec:
  containers:
  - name: c
    image: busybox:1.36
    ports:
    - containerPort: 80
`

// podFields is what podYAML's applier owns: containers and their ports
// are list maps (by name; by containerPort and the defaulted protocol).
const podFields = `{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}`

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: ssa-secret
  namespace: default
type: Opaque
stringData:
  a: one
`

const roleBindingYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ssa-rb
  namespace: default
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ssa-role}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
`

const roleYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: ssa-role
  namespace: default
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
`

// applyScenario are the steps: one ConfigMap through two appliers (a
// repeated apply, a conflict, force, fields given up), kubectl label, a
// server dry run; another through kubectl create, replace, annotate and
// patch, then a conflicting apply; client-side apply and its migration to
// server-side; a Secret's stringData, a Namespace, a Service (a list map
// keyed by port and a defaulted protocol), a Pod and its status
// subresource (reset fields both ways), a RoleBinding's immutable roleRef
// and a Role (an atomic list).
func applyScenario() []applyStep {
	return append(applySteps(), manyUpdaters()...)
}

// manyUpdaters label one ConfigMap by twelve managers: past ten Update
// managers kube-apiserver folds the oldest into "ancient-changes".
func manyUpdaters() []applyStep {
	var steps []applyStep
	for i := range 12 {
		steps = append(steps, applyStep{name: fmt.Sprintf("label by manager %d", i), object: "configmap/ssa-upd", compared: true,
			args: []string{"label", "-n", "default", "configmap/ssa-upd", fmt.Sprintf("l%d=x", i), fmt.Sprintf("--field-manager=labeler-%02d", i)}})
	}
	return steps
}

// cappedView is what of manyUpdaters' managedFields is the same on every
// run: the labelers' entries, and which managers there are. The entries
// folded into ancient-changes are the oldest by time, which has seconds
// only: of the earlier managers that wrote within one second, which are
// folded is decided by the order of a map, on kube-apiserver as here.
func cappedView(l []managedEntry) []managedEntry {
	var out []managedEntry
	for _, e := range l {
		switch {
		case e.Manager == "ancient-changes":
			e.Fields = ""
		case !strings.HasPrefix(e.Manager, "labeler-"):
			e = managedEntry{Manager: "(earlier)", Operation: e.Operation}
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

// applySteps are applyScenario's steps but manyUpdaters.
func applySteps() []applyStep {
	ssa := func(manager string, extra ...string) []string {
		return append([]string{"apply", "--server-side", "--field-manager=" + manager, "-f", "-"}, extra...)
	}
	const cm = "configmap/ssa-cm"
	svcFields := func(labels ...string) string {
		l := map[string]any{}
		for _, k := range labels {
			l["f:"+k] = map[string]any{}
		}
		b, _ := json.Marshal(map[string]any{
			"f:metadata": map[string]any{"f:labels": l},
			"f:spec": map[string]any{
				"f:selector": map[string]any{},
				"f:type":     map[string]any{},
				"f:ports": map[string]any{
					`k:{"port":80,"protocol":"TCP"}`: map[string]any{".": map[string]any{}, "f:port": map[string]any{}, "f:targetPort": map[string]any{}},
				},
			},
		})
		return string(b)
	}
	return []applyStep{
		{name: "a creates", stdin: configMapYAML("ssa-cm", "key", "1", "other", "x"), args: ssa("a"), object: cm,
			data:    map[string]any{"key": "1", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("key", "other")}}},
		{name: "a changes its field", stdin: configMapYAML("ssa-cm", "key", "2", "other", "x"), args: ssa("a"), object: cm,
			data:    map[string]any{"key": "2", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("key", "other")}}},
		{name: "a applies the same again", stdin: configMapYAML("ssa-cm", "key", "2", "other", "x"), args: ssa("a"), object: cm,
			data:    map[string]any{"key": "2", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("key", "other")}}, sameVersion: true},
		{name: "b conflicts", stdin: configMapYAML("ssa-cm", "key", "3"), args: ssa("b"), object: cm, fails: true,
			stderr:  `Apply failed with 1 conflict: conflict with "a": .data.key`,
			data:    map[string]any{"key": "2", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("key", "other")}}, sameVersion: true},
		{name: "b forces", stdin: configMapYAML("ssa-cm", "key", "3"), args: ssa("b", "--force-conflicts"), object: cm,
			data:    map[string]any{"key": "3", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("other")}, {"b", "Apply", "", dataFields("key")}}},
		{name: "b adds a field", stdin: configMapYAML("ssa-cm", "key", "3", "extra", "e"), args: ssa("b"), object: cm,
			data:    map[string]any{"key": "3", "other": "x", "extra": "e"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("other")}, {"b", "Apply", "", dataFields("extra", "key")}}},
		{name: "b gives a field up", stdin: configMapYAML("ssa-cm", "key", "3"), args: ssa("b"), object: cm,
			data:    map[string]any{"key": "3", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("other")}, {"b", "Apply", "", dataFields("key")}}},
		{name: "kubectl label", args: []string{"label", "-n", "default", cm, "team=x"}, object: cm,
			data: map[string]any{"key": "3", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("other")}, {"b", "Apply", "", dataFields("key")},
				{"kubectl-label", "Update", "", `{"f:metadata":{"f:labels":{".":{},"f:team":{}}}}`}}},
		{name: "server dry run", stdin: configMapYAML("ssa-cm", "key", "9", "other", "y"), args: ssa("a", "--force-conflicts", "--dry-run=server"), object: cm,
			data: map[string]any{"key": "3", "other": "x"},
			managed: []managedEntry{{"a", "Apply", "", dataFields("other")}, {"b", "Apply", "", dataFields("key")},
				{"kubectl-label", "Update", "", `{"f:metadata":{"f:labels":{".":{},"f:team":{}}}}`}}, sameVersion: true},
		{name: "a gives up every field", stdin: configMapYAML("ssa-cm"), args: ssa("a"), object: cm,
			data: map[string]any{"key": "3"},
			managed: []managedEntry{{"b", "Apply", "", dataFields("key")},
				{"kubectl-label", "Update", "", `{"f:metadata":{"f:labels":{".":{},"f:team":{}}}}`}}},

		{name: "kubectl create", args: []string{"create", "configmap", "ssa-upd", "-n", "default", "--from-literal=k=v"}, object: "configmap/ssa-upd",
			data:    map[string]any{"k": "v"},
			managed: []managedEntry{{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}}}`}}},
		{name: "kubectl replace", stdin: configMapYAML("ssa-upd", "k", "v", "r", "w"), args: []string{"replace", "-f", "-"}, object: "configmap/ssa-upd",
			data: map[string]any{"k": "v", "r": "w"},
			managed: []managedEntry{{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}}}`},
				{"kubectl-replace", "Update", "", `{"f:data":{"f:r":{}}}`}}},
		{name: "server-side apply after updates", stdin: configMapYAML("ssa-upd", "k", "v2"), args: ssa("c"), object: "configmap/ssa-upd", fails: true,
			stderr: `Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.k`,
			data:   map[string]any{"k": "v", "r": "w"},
			managed: []managedEntry{{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}}}`},
				{"kubectl-replace", "Update", "", `{"f:data":{"f:r":{}}}`}}, sameVersion: true},
		{name: "kubectl annotate", args: []string{"annotate", "-n", "default", "configmap/ssa-upd", "note=n"}, object: "configmap/ssa-upd",
			managed: []managedEntry{{"kubectl-annotate", "Update", "", `{"f:metadata":{"f:annotations":{".":{},"f:note":{}}}}`},
				{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}}}`}, {"kubectl-replace", "Update", "", `{"f:data":{"f:r":{}}}`}}},
		{name: "kubectl patch", args: []string{"patch", "-n", "default", "configmap/ssa-upd", "-p", `{"data":{"p":"q"}}`}, object: "configmap/ssa-upd",
			data: map[string]any{"k": "v", "r": "w", "p": "q"},
			managed: []managedEntry{{"kubectl-annotate", "Update", "", `{"f:metadata":{"f:annotations":{".":{},"f:note":{}}}}`},
				{"kubectl-create", "Update", "", `{"f:data":{".":{},"f:k":{}}}`}, {"kubectl-patch", "Update", "", `{"f:data":{"f:p":{}}}`},
				{"kubectl-replace", "Update", "", `{"f:data":{"f:r":{}}}`}}},
		{name: "client-side apply", stdin: configMapYAML("ssa-csa", "k", "v"), args: []string{"apply", "-f", "-"}, object: "configmap/ssa-csa",
			data: map[string]any{"k": "v"},
			managed: []managedEntry{{"kubectl-client-side-apply", "Update", "",
				`{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}`}}},

		{name: "server-side apply after client-side apply", stdin: configMapYAML("ssa-csa", "k", "v2"), args: []string{"apply", "--server-side", "-f", "-"}, object: "configmap/ssa-csa",
			data: map[string]any{"k": "v2"},
			managed: []managedEntry{{"kubectl", "Apply", "", `{"f:data":{"f:k":{}}}`},
				{"kubectl-last-applied", "Apply", "", `{"f:metadata":{"f:annotations":{"f:kubectl.kubernetes.io/last-applied-configuration":{}}}}`}}},
		{name: "secret stringData applied", stdin: secretYAML, args: ssa("sec"), object: "secret/ssa-secret",
			data:    map[string]any{"a": "b25l"},
			managed: []managedEntry{{"sec", "Apply", "", `{"f:stringData":{"f:a":{}},"f:type":{}}`}}},
		{name: "namespace applied", stdin: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ssa-ns\n  labels: {team: x}\n", args: ssa("ns"), object: "namespace/ssa-ns",
			managed: []managedEntry{{"ns", "Apply", "", `{"f:metadata":{"f:labels":{"f:team":{}}}}`}}},
		{name: "service applied", stdin: serviceYAML, args: ssa("svc"), object: "service/ssa-svc",
			managed: []managedEntry{{"svc", "Apply", "", svcFields("app")}}},
		{name: "service applied again", stdin: strings.Replace(serviceYAML, "labels: {app: ssa}", "labels: {app: ssa, tier: web}", 1), args: ssa("svc"), object: "service/ssa-svc",
			managed: []managedEntry{{"svc", "Apply", "", svcFields("app", "tier")}}},
		{name: "pod applied", stdin: podYAML, args: ssa("pod"), object: "pod/ssa-pod", image: "busybox:1.36",
			managed: []managedEntry{{"pod", "Apply", "", podFields}}},
		{name: "pod image changed", stdin: strings.Replace(podYAML, "busybox:1.36", "busybox:1.37", 1), args: ssa("pod"), object: "pod/ssa-pod", image: "busybox:1.37",
			managed: []managedEntry{{"pod", "Apply", "", podFields}}},
		{name: "pod status applied", stdin: podStatusYAML, args: ssa("kubelet", "--subresource=status"), object: "pod/ssa-pod",
			managed: []managedEntry{{"pod", "Apply", "", podFields}, {"kubelet", "Apply", "status", podStatusFields}}},
		{name: "pod status in a main apply is no one's", stdin: podYAML + podStatusYAML[strings.Index(podStatusYAML, "status:"):], args: ssa("pod"), object: "pod/ssa-pod", image: "busybox:1.36",
			managed: []managedEntry{{"pod", "Apply", "", podFields}, {"kubelet", "Apply", "status", podStatusFields}}},
		{name: "pod spec in a status apply is no one's", stdin: strings.Replace(podYAML, "busybox:1.36", "busybox:1.38", 1) + podStatusYAML[strings.Index(podStatusYAML, "status:"):], args: ssa("kubelet", "--subresource=status"), object: "pod/ssa-pod", image: "busybox:1.36",
			managed: []managedEntry{{"pod", "Apply", "", podFields}, {"kubelet", "Apply", "status", podStatusFields}}},
		{name: "role binding applied", stdin: roleBindingYAML, args: ssa("rbac"), object: "rolebinding/ssa-rb",
			managed: []managedEntry{{"rbac", "Apply", "", `{"f:roleRef":{},"f:subjects":{}}`}}},
		{name: "role binding's roleRef is immutable", stdin: strings.Replace(roleBindingYAML, "name: ssa-role", "name: other-role", 1), args: ssa("rbac"), object: "rolebinding/ssa-rb", fails: true,
			stderr:  `The RoleBinding "ssa-rb" is invalid: roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"other-role"}: field is immutable`,
			managed: []managedEntry{{"rbac", "Apply", "", `{"f:roleRef":{},"f:subjects":{}}`}}, sameVersion: true},
		{name: "role applied", stdin: roleYAML, args: ssa("rbac"), object: "role/ssa-role",
			managed: []managedEntry{{"rbac", "Apply", "", `{"f:rules":{}}`}}},
		{name: "role applied again", stdin: strings.Replace(roleYAML, "[get, list]", "[get]", 1), args: ssa("rbac"), object: "role/ssa-role",
			managed: []managedEntry{{"rbac", "Apply", "", `{"f:rules":{}}`}}},
	}
}

// runApplyScenario runs the steps against tg, checking each against its
// expectations, and returns what each left.
func runApplyScenario(t *testing.T, tg applyTarget, steps []applyStep) []stepOutcome {
	t.Helper()
	get := func(object string) map[string]any {
		t.Helper()
		r := tg.kubectl(t, "", "get", "-n", "default", object, "-o", "json", "--show-managed-fields")
		if r.err != nil {
			t.Fatalf("%s: get %s: %s", tg.name, object, r)
		}
		return decodeJSON(t, r.stdout)
	}
	var out []stepOutcome
	for _, s := range steps {
		var before string
		if s.sameVersion {
			before = jsonStr(get(s.object), "metadata", "resourceVersion")
		}
		r := tg.kubectl(t, s.stdin, s.args...)
		o := stepOutcome{ok: r.err == nil}
		if r.err != nil {
			o.errLine = errorLine(r.stderr)
		}
		switch {
		case s.fails && r.err == nil:
			t.Errorf("%s: %s: succeeded, want a failure:\n%s", tg.name, s.name, r)
		case !s.fails && r.err != nil:
			t.Errorf("%s: %s: %s", tg.name, s.name, r)
		case s.fails && !strings.Contains(r.stderr, s.stderr):
			t.Errorf("%s: %s: stderr does not say %q:\n%s", tg.name, s.name, s.stderr, r.stderr)
		}
		obj := get(s.object)
		o.data, _ = obj["data"].(map[string]any)
		o.managed = managedOf(t, obj)
		o.rv = jsonStr(obj, "metadata", "resourceVersion")
		if img := jsonStr(obj, "spec", "containers", 0, "image"); s.image != "" && img != s.image {
			t.Errorf("%s: %s: image %q, want %q", tg.name, s.name, img, s.image)
		}
		if s.data != nil && !jsonEqual(o.data, s.data) {
			t.Errorf("%s: %s: data %v, want %v", tg.name, s.name, o.data, s.data)
		}
		want := slices.Clone(s.managed)
		sortEntries(want)
		if !s.compared && !slices.Equal(o.managed, want) {
			t.Errorf("%s: %s: managedFields\n%v\nwant\n%v", tg.name, s.name, o.managed, want)
		}
		if s.sameVersion && o.rv != before {
			t.Errorf("%s: %s: resourceVersion %s became %s", tg.name, s.name, before, o.rv)
		}
		out = append(out, o)
	}
	return out
}

// errorLine is the first line of kubectl's error output: the server's
// message (the conflicts of an apply).
func errorLine(stderr string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	return l
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestApplyKubectl runs the scenario against Portico: kubectl apply
// --server-side creates and changes objects, two managers of one field
// conflict until one forces, a field its applier gives up goes while
// another manager's stays, Update managers are named after kubectl's
// commands, a server dry run stores nothing. It also checks what kubectl
// shows of managedFields.
func TestApplyKubectl(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	runApplyScenario(t, porticoTarget(p), applyScenario())

	t.Run("managedFields shown only when asked", func(t *testing.T) {
		shown := p.mustKubectlIn(t, "", "get", "configmap", "ssa-cm", "-n", "default", "-o", "yaml", "--show-managed-fields")
		for _, want := range []string{"managedFields:", "manager: b", "operation: Apply", "manager: kubectl-label", "operation: Update", "fieldsType: FieldsV1", "fieldsV1:", "f:key: {}"} {
			if !strings.Contains(shown, want) {
				t.Errorf("--show-managed-fields does not show %q:\n%s", want, shown)
			}
		}
		if hidden := p.mustKubectlIn(t, "", "get", "configmap", "ssa-cm", "-n", "default", "-o", "yaml"); strings.Contains(hidden, "managedFields") {
			t.Errorf("managedFields shown without --show-managed-fields:\n%s", hidden)
		}
	})
}

// applyPatch sends an apply patch (or another patch type) to tg over
// REST and returns the answer's code and body; path is under namespace
// default's, or the whole path when it starts with /.
func applyPatch(t *testing.T, tg applyTarget, path, query, contentType, body string) (int, http.Header, string) {
	t.Helper()
	url := tg.url + "/api/v1/namespaces/default/" + path
	if strings.HasPrefix(path, "/") {
		url = tg.url + path
	}
	if query != "" {
		url += "?" + query
	}
	return httpDo(t, tg.client, http.MethodPatch, url, contentType, body)
}

// TestApplyHTTP: over raw HTTP, an apply patch without fieldManager and
// force on a merge patch are 422 PatchOptions, an apply of an unknown
// field with fieldValidation=Strict and a malformed patch are refused
// with a Status, and an apply conflict is a 409 Status naming the field
// and its manager in a cause.
func TestApplyHTTP(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	tg := porticoTarget(p)
	const apply = "application/apply-patch+yaml"
	if code, _, body := applyPatch(t, tg, "configmaps/h", "fieldManager=a", apply, configMapYAML("h", "key", "1")); code != http.StatusCreated {
		t.Fatalf("apply create: %d %s", code, body)
	}
	tests := map[string]struct {
		path, query, contentType, body string
		code                           int
		reason, causeField, message    string
	}{
		"apply without fieldManager": {"configmaps/h", "", apply, configMapYAML("h", "key", "2"),
			422, "Invalid", "fieldManager", "is required for apply patch"},
		"force on a merge patch": {"configmaps/h", "fieldManager=a&force=true", "application/merge-patch+json", `{"data":{"key":"2"}}`,
			422, "Invalid", "force", "may not be specified for non-apply patch"},
		"unknown field, Strict": {"configmaps/h", "fieldManager=a&fieldValidation=Strict", apply, configMapYAML("h", "key", "2") + "bogus: 1\n",
			400, "BadRequest", "", ".bogus: field not declared in schema"},
		"duplicate field, Strict": {"configmaps/h", "fieldManager=a&fieldValidation=Strict", apply, configMapYAML("h", "key", "2", "key", "3"),
			400, "BadRequest", "", `line 8: key "key" already set in map`},
		"not YAML": {"configmaps/h", "fieldManager=a", apply, "{[",
			400, "BadRequest", "", "error decoding patch: error converting YAML to JSON"},
		"not an object": {"configmaps/h", "fieldManager=a", apply, "- 1\n",
			400, "BadRequest", "", "error decoding patch: error unmarshaling JSON"},
		"conflict": {"configmaps/h", "fieldManager=b", apply, configMapYAML("h", "key", "2"),
			409, "Conflict", ".data.key", `conflict with "a"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, body := applyPatch(t, tg, tc.path, tc.query, tc.contentType, tc.body)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, body)
			}
			st := apiStatusOf(t, body)
			if st.Code != tc.code || st.Reason != tc.reason || !strings.Contains(st.Message, tc.message) {
				t.Errorf("Status %+v, want code %d reason %s message with %q", st, tc.code, tc.reason, tc.message)
			}
			if tc.causeField != "" && (len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != tc.causeField) {
				t.Errorf("causes %+v, want one on %s", st.Details.Causes, tc.causeField)
			}
		})
	}
}

// TestApplyGRPC: the api's Patch RPC with patch_type
// application/apply-patch+yaml records the managedFields the REST apply
// of the same manifest records, and answers a conflict as Aborted with
// the same words.
func TestApplyGRPC(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	cert, key := p.pki("admin.crt"), p.pki("admin.key")
	patch := func(name, manager string, force bool, data ...string) result {
		t.Helper()
		req := map[string]any{"namespace": "default", "name": name, "patchType": "application/apply-patch+yaml",
			"patch": base64.StdEncoding.EncodeToString([]byte(configMapYAML(name, data...))), "fieldManager": manager}
		if force {
			req["force"] = true
		}
		b, _ := json.Marshal(req)
		return p.grpcurl(t, cert, key, "-d", string(b), p.apiAddr(), "portico.core.v1.ConfigMapService/PatchConfigMap")
	}
	r := patch("g", "m", false, "key", "1", "other", "x")
	if r.err != nil {
		t.Fatalf("PatchConfigMap: %s", r)
	}
	got := grpcManaged(t, decodeJSON(t, r.stdout))
	p.mustKubectlIn(t, configMapYAML("rest", "key", "1", "other", "x"), "apply", "--server-side", "--field-manager=m", "-f", "-")
	rest := managedOf(t, p.getJSON(t, "configmap", "rest", "-n", "default", "--show-managed-fields"))
	if !slices.Equal(got, rest) || len(got) != 1 || got[0].Operation != "Apply" {
		t.Errorf("gRPC apply recorded\n%v\nREST apply\n%v", got, rest)
	}
	r = patch("g", "other", false, "key", "2")
	if r.err == nil || !strings.Contains(r.stderr, "Aborted") || !strings.Contains(r.stderr, `conflict with \"m\": .data.key`) && !strings.Contains(r.stderr, `conflict with "m": .data.key`) {
		t.Errorf("a conflicting gRPC apply: %s", r)
	}
	if r = patch("g", "other", true, "key", "2"); r.err != nil {
		t.Fatalf("forced gRPC apply: %s", r)
	}
	want := []managedEntry{{"m", "Apply", "", dataFields("other")}, {"other", "Apply", "", dataFields("key")}}
	if got := grpcManaged(t, decodeJSON(t, r.stdout)); !slices.Equal(got, want) {
		t.Errorf("after force: %v, want %v", got, want)
	}
}

// grpcManaged reads the managedFields of a PatchConfigMapResponse as
// grpcurl prints it (protojson: fieldsV1.Raw is base64).
func grpcManaged(t *testing.T, resp map[string]any) []managedEntry {
	t.Helper()
	list, _ := jsonAt(resp, "configMap", "metadata", "managedFields").([]any)
	var out []managedEntry
	for _, e := range list {
		raw, err := base64.StdEncoding.DecodeString(jsonStr(e, "fieldsV1", "Raw"))
		if err != nil {
			t.Fatal(err)
		}
		var fields any
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatalf("fieldsV1 %q: %v", raw, err)
		}
		compact, _ := json.Marshal(fields)
		out = append(out, managedEntry{jsonStr(e, "manager"), jsonStr(e, "operation"), jsonStr(e, "subresource"), string(compact)})
	}
	sortEntries(out)
	return out
}

// TestApplyBesideKubeAPIServer runs the scenario against Portico and a
// real kube-apiserver v1.37.2 and compares what every step left (exit,
// the server's message, data, managedFields), then sends both the same
// raw PATCH requests (a conflict, bad options, bad patches, a dry-run
// create, status subresource applies) and compares code, Status and
// Warning headers, or the object's data and managedFields on success.
func TestApplyBesideKubeAPIServer(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	kube := kubeTarget(t, testpeers.StartKubeAPIServer(t, etcd))
	p := startPortico(t, "--shutdown-grace-period", "2s")
	port := porticoTarget(p)
	// No kube-controller-manager makes the default service account a pod
	// needs; Portico's built-in controllers do.
	if r := kube.kubectl(t, "", "create", "serviceaccount", "default", "-n", "default"); r.err != nil {
		t.Fatalf("kube-apiserver: create serviceaccount default: %s", r)
	}
	steps := applyScenario()
	want := runApplyScenario(t, kube, steps)
	got := runApplyScenario(t, port, steps)
	for i, s := range steps {
		w, g := want[i], got[i]
		if s.compared {
			w.managed, g.managed = cappedView(w.managed), cappedView(g.managed)
		}
		if w.ok != g.ok || w.errLine != g.errLine || !jsonEqual(w.data, g.data) || !slices.Equal(w.managed, g.managed) {
			t.Errorf("%s: portico left\n%+v\nkube-apiserver\n%+v", s.name, g, w)
		}
	}

	const apply = "application/apply-patch+yaml"
	// typing marks a patch with a field the kind does not have: kube-apiserver
	// answers 500 (the typed conversion's error is not an API error), Portico
	// 400 with the same message, since the client sent it.
	cases := map[string]struct {
		path, query, contentType, body string
		typing                         bool
	}{
		"conflict":                            {"configmaps/ssa-cm", "fieldManager=z", apply, configMapYAML("ssa-cm", "key", "4"), false},
		"apply without fieldManager":          {"configmaps/ssa-cm", "", apply, configMapYAML("ssa-cm", "key", "4"), false},
		"force on a merge patch":              {"configmaps/ssa-cm", "fieldManager=z&force=true", "application/merge-patch+json", `{"data":{"key":"4"}}`, false},
		"duplicate field, Strict":             {"configmaps/ssa-cm", "fieldManager=z&fieldValidation=Strict", apply, configMapYAML("ssa-cm", "key", "2", "key", "3"), false},
		"not YAML":                            {"configmaps/ssa-cm", "fieldManager=z", apply, "{[", false},
		"not an object":                       {"configmaps/ssa-cm", "fieldManager=z", apply, "- 1\n", false},
		"no kind":                             {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nmetadata: {name: ssa-cm}\n", false},
		"another kind":                        {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: Secret\nmetadata: {name: ssa-cm}\n", false},
		"another version":                     {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v2\nkind: ConfigMap\nmetadata: {name: ssa-cm}\n", false},
		"another name":                        {"configmaps/ssa-cm", "fieldManager=z", apply, configMapYAML("other", "key", "2"), false},
		"no name, new object":                 {"configmaps/nameless", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", false},
		"no name, stored object":              {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", false},
		"another namespace":                   {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm, namespace: kube-system}\n", false},
		"another namespace, new":              {"configmaps/fresh", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh, namespace: kube-system}\n", false},
		"stale resourceVersion":               {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm, resourceVersion: \"1\"}\n", false},
		"managedFields in the patch":          {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm, managedFields: [{manager: x, operation: Apply}]}\n", false},
		"uid of no object":                    {"configmaps/fresh", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh, uid: 6a1e0f3c-0000-4000-8000-000000000000}\n", false},
		"bad fieldManager":                    {"configmaps/ssa-cm", "fieldManager=%01", apply, configMapYAML("ssa-cm", "key", "4"), false},
		"fieldManager too long":               {"configmaps/ssa-cm", "fieldManager=" + strings.Repeat("m", 129), apply, configMapYAML("ssa-cm", "key", "4"), false},
		"merge patch by its User-Agent":       {"configmaps/ssa-upd", "", "application/merge-patch+json", `{"data":{"ua":"go"}}`, false},
		"apply to the status of a config map": {"configmaps/ssa-cm/status", "fieldManager=z", apply, configMapYAML("ssa-cm"), false},
		"apply to the status of no pod":       {"pods/nope/status", "fieldManager=z", apply, "apiVersion: v1\nkind: Pod\nmetadata: {name: nope}\nstatus: {phase: Running}\n", false},
		"status apply naming another pod":     {"pods/ssa-pod/status", "fieldManager=z", apply, "apiVersion: v1\nkind: Pod\nmetadata: {name: other}\nstatus: {phase: Running}\n", false},
		"status apply naming no pod":          {"pods/ssa-pod/status", "fieldManager=z", apply, "apiVersion: v1\nkind: Pod\nstatus: {message: hi}\n", false},
		"status apply without fieldManager":   {"pods/ssa-pod/status", "", apply, "apiVersion: v1\nkind: Pod\nmetadata: {name: ssa-pod}\nstatus: {message: hi}\n", false},
		"status apply conflict":               {"pods/ssa-pod/status", "fieldManager=z", apply, "apiVersion: v1\nkind: Pod\nmetadata: {name: ssa-pod}\nstatus: {conditions: [{type: Ready, status: \"True\"}]}\n", false},
		"no apiVersion":                       {"configmaps/ssa-cm", "fieldManager=z", apply, "kind: ConfigMap\nmetadata: {name: ssa-cm}\n", false},
		"two documents":                       {"configmaps/ssa-cm", "fieldManager=z", apply, configMapYAML("ssa-cm", "two", "docs") + "---\n" + configMapYAML("ssa-cm", "key", "5"), false},
		"a number for a string":               {"configmaps/ssa-cm", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-cm}\ndata: {n: 1}\n", true},
		"dry-run create":                      {"configmaps/fresh", "fieldManager=z&dryRun=All", apply, configMapYAML("fresh", "a", "b"), false},
		"unknown field, Strict":               {"configmaps/ssa-cm", "fieldManager=z&fieldValidation=Strict", apply, configMapYAML("ssa-cm", "key", "2") + "bogus: 1\n", true},
		"status of a config map":              {"configmaps/ssa-cm", "fieldManager=z", apply, configMapYAML("ssa-cm") + "status: {}\n", true},
		"no namespace":                        {"/api/v1/namespaces/nowhere/configmaps/x", "fieldManager=z", apply, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			wc, wh, wb := applyPatch(t, kube, c.path, c.query, c.contentType, c.body)
			gc, gh, gb := applyPatch(t, port, c.path, c.query, c.contentType, c.body)
			if !slices.Equal(wh.Values("Warning"), gh.Values("Warning")) {
				t.Errorf("portico warned %q, kube-apiserver %q", gh.Values("Warning"), wh.Values("Warning"))
			}
			if (wc < 300) != (gc < 300) {
				t.Fatalf("portico answered %d\n%s\nkube-apiserver %d\n%s", gc, gb, wc, wb)
			}
			if wc < 300 {
				w, g := decodeJSON(t, wb), decodeJSON(t, gb)
				if wc != gc || !jsonEqual(w["data"], g["data"]) || !slices.Equal(managedOf(t, w), managedOf(t, g)) {
					t.Errorf("portico answered %d\n%s\nkube-apiserver %d\n%s", gc, gb, wc, wb)
				}
				return
			}
			ws, gs := apiStatusOf(t, wb), apiStatusOf(t, gb)
			if c.typing && wc == http.StatusInternalServerError && gc == http.StatusBadRequest && gs.Reason == "BadRequest" {
				wc, ws.Code, ws.Reason = gc, gs.Code, gs.Reason
			}
			if wc != gc || ws.Code != gs.Code || ws.Reason != gs.Reason || ws.Message != gs.Message || !jsonEqual(ws.Details, gs.Details) {
				t.Errorf("portico answered %d\n%s\nkube-apiserver %d\n%s", gc, gb, wc, wb)
			}
		})
	}
	for _, tg := range []applyTarget{kube, port} {
		if r := tg.kubectl(t, "", "get", "configmap", "fresh", "-n", "default"); r.err == nil || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("%s: the dry-run apply created the object: %s", tg.name, r)
		}
	}
}
