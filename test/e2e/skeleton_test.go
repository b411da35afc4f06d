package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKubectlInsecurePort drives the insecure port with the real kubectl:
// the typed commands send Kubernetes protobuf bodies.
func TestKubectlInsecurePort(t *testing.T) {
	p := startPortico(t)

	out := p.mustKubectl(t, "get", "namespaces")
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		if !strings.Contains(out, ns) {
			t.Errorf("get namespaces lacks %s:\n%s", ns, out)
		}
	}
	if out := p.mustKubectl(t, "create", "namespace", "team-a"); !strings.Contains(out, "namespace/team-a created") {
		t.Errorf("create namespace printed %q", out)
	}
	if r := p.kubectl(t, "create", "namespace", "team-a"); r.err == nil || !strings.Contains(r.stderr, `namespaces "team-a" already exists`) {
		t.Errorf("second create of a namespace: %s", r)
	}
	if out := p.mustKubectl(t, "create", "configmap", "app", "-n", "team-a", "--from-literal=color=blue", "--from-literal=size=3"); !strings.Contains(out, "configmap/app created") {
		t.Errorf("create configmap printed %q", out)
	}
	var cm struct {
		Kind       string            `json:"kind"`
		APIVersion string            `json:"apiVersion"`
		Data       map[string]string `json:"data"`
		Metadata   struct {
			Name, Namespace, UID, ResourceVersion, CreationTimestamp string
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(p.mustKubectl(t, "get", "configmap", "app", "-n", "team-a", "-o", "json")), &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Metadata.Name != "app" || cm.Metadata.Namespace != "team-a" {
		t.Errorf("configmap identity = %+v", cm)
	}
	if cm.Data["color"] != "blue" || cm.Data["size"] != "3" {
		t.Errorf("configmap data = %v", cm.Data)
	}
	if len(cm.Metadata.UID) != 36 || cm.Metadata.ResourceVersion == "" || cm.Metadata.ResourceVersion == "0" {
		t.Errorf("server-set metadata missing: %+v", cm.Metadata)
	}
	if _, err := time.Parse(time.RFC3339, cm.Metadata.CreationTimestamp); err != nil {
		t.Errorf("creationTimestamp %q: %v", cm.Metadata.CreationTimestamp, err)
	}
	if r := p.kubectl(t, "create", "configmap", "x", "-n", "no-such-ns"); r.err == nil || !strings.Contains(r.stderr, `namespaces "no-such-ns" not found`) {
		t.Errorf("create in a missing namespace: %s", r)
	}
	if out := p.mustKubectl(t, "delete", "configmap", "app", "-n", "team-a"); !strings.Contains(out, `configmap "app" deleted`) {
		t.Errorf("delete configmap printed %q", out)
	}
	if r := p.kubectl(t, "get", "configmap", "app", "-n", "team-a"); r.err == nil || !strings.Contains(r.stderr, `configmaps "app" not found`) {
		t.Errorf("get after delete: %s", r)
	}
}

// TestWritesSurviveRestartAndSIGKILL: every acknowledged write is in etcd
// before the answer, so neither a clean restart nor SIGKILL loses it.
func TestWritesSurviveRestartAndSIGKILL(t *testing.T) {
	p := startPortico(t)
	p.mustKubectl(t, "create", "namespace", "x")
	p.stop()
	p.start()
	if out := p.mustKubectl(t, "get", "namespace", "x"); !strings.Contains(out, "x") {
		t.Fatalf("namespace x gone after restart: %s", out)
	}
	p.mustKubectl(t, "create", "namespace", "y")
	p.mustKubectl(t, "create", "configmap", "c", "-n", "y", "--from-literal=k=v")
	p.kill()
	p.start()
	for _, args := range [][]string{{"get", "namespace", "x"}, {"get", "namespace", "y"}, {"get", "configmap", "c", "-n", "y"}} {
		p.mustKubectl(t, args...)
	}
}

// TestSecurePortAdminKubeconfig: `portico up` writes an admin kubeconfig
// (client certificate in system:masters) that kubectl uses as is; without
// credentials the secure port answers 401 with a Status.
func TestSecurePortAdminKubeconfig(t *testing.T) {
	p := startPortico(t)
	if !strings.Contains(p.stdout.String(), p.kubeconfig()) {
		t.Errorf("up did not print the kubeconfig path; stdout:\n%s", p.stdout.String())
	}
	r := run(t, "", "kubectl", "--kubeconfig", p.kubeconfig(), "--cache-dir", t.TempDir(), "create", "namespace", "via-tls")
	if r.err != nil {
		t.Fatalf("kubectl over the secure port: %s\nlogs:\n%s", r, p.logs.String())
	}
	if out := p.mustKubectl(t, "get", "ns", "via-tls"); !strings.Contains(out, "via-tls") {
		t.Errorf("namespace made over TLS not seen on the insecure port: %s", out)
	}
	code, _, body := httpDo(t, p.secureClient(t, "", ""), "GET", p.secureURL()+"/api/v1/namespaces", "", "")
	if code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d %s", code, body)
	}
	assertStatus(t, body, 401, "Unauthorized", "Unauthorized")
	code, _, body = httpDo(t, p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key")), "GET", p.secureURL()+"/api/v1/namespaces/default", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"name":"default"`) {
		t.Fatalf("admin certificate: %d %s", code, body)
	}
	// Plain HTTP to the secure port gets an error, never data.
	code, _, body = httpDo(t, http.DefaultClient, "GET", strings.Replace(p.secureURL(), "https", "http", 1)+"/api/v1/namespaces", "", "")
	if code != http.StatusBadRequest || strings.Contains(body, "default") {
		t.Errorf("plain HTTP to the secure port: %d %s", code, body)
	}
}

// TestStatusErrors: errors are Kubernetes Status bodies with the codes and
// wording of kube-apiserver (../shared/reference/samples).
func TestStatusErrors(t *testing.T) {
	p := startPortico(t)
	c := http.DefaultClient
	base := p.insecureURL()

	code, hdr, body := httpDo(t, c, "GET", base+"/api/v1/namespaces/default/configmaps/does-not-exist", "", "")
	if code != 404 || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("404: %d %v", code, hdr)
	}
	if body != `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"does-not-exist\" not found","reason":"NotFound","details":{"name":"does-not-exist","kind":"configmaps"},"code":404}`+"\n" {
		t.Errorf("404 body: %s", body)
	}
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"a":"1"}}`
	if code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json", cm); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var created struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json", cm)
	if code != 409 {
		t.Errorf("create twice: %d", code)
	}
	assertStatus(t, body, 409, "AlreadyExists", `configmaps "c1" already exists`)

	update := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1","resourceVersion":"` + created.Metadata.ResourceVersion + `"},"data":{"a":"2"}}`
	if code, _, body = httpDo(t, c, "PUT", base+"/api/v1/namespaces/default/configmaps/c1", "application/json", update); code != 200 || !strings.Contains(body, `"a":"2"`) {
		t.Fatalf("update: %d %s", code, body)
	}
	code, _, body = httpDo(t, c, "PUT", base+"/api/v1/namespaces/default/configmaps/c1", "application/json", update)
	if code != 409 {
		t.Errorf("stale update: %d", code)
	}
	assertStatus(t, body, 409, "Conflict", `Operation cannot be fulfilled on configmaps "c1": the object has been modified; please apply your changes to the latest version and try again`)

	code, _, body = httpDo(t, c, "GET", base+"/api/v1/no-such-thing", "", "")
	if code != 404 || body != `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}`+"\n" {
		t.Errorf("bad path: %d %s", code, body)
	}
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "text/plain", "hello")
	if code != 415 {
		t.Errorf("text/plain body: %d %s", code, body)
	}
	assertStatus(t, body, 415, "UnsupportedMediaType", "the body of the request was in an unknown format")
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json", "{not json")
	if code != 400 {
		t.Errorf("malformed JSON: %d %s", code, body)
	}
	assertStatus(t, body, 400, "BadRequest", "")
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c2"},"dta":{"a":"1"}}`)
	if code != 400 || !strings.Contains(body, `unknown field \"dta\"`) {
		t.Errorf("unknown field, Strict: %d %s", code, body)
	}
	// Warn, the default, stores the object and says what it dropped.
	code, hdr, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c3","colour":"x"},"data":{"a":"1"}}`)
	if code != 201 || hdr.Get("Warning") != `299 - "unknown field \"metadata.colour\""` {
		t.Errorf("unknown field, Warn: %d %q %s", code, hdr.Get("Warning"), body)
	}
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`)
	if code != 422 {
		t.Errorf("invalid name: %d %s", code, body)
	}
	assertStatus(t, body, 422, "Invalid", `ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value`)
	code, _, body = httpDo(t, c, "POST", base+"/api/v1/namespaces/default/configmaps", "application/json", `{"metadata":{"name":"big"},"data":{"a":"`+strings.Repeat("x", 4<<20)+`"}}`)
	if code != 413 {
		t.Errorf("4 MiB body: %d", code)
	}
	assertStatus(t, body, 413, "RequestEntityTooLarge", "")

	for _, path := range []string{"/healthz", "/livez", "/readyz"} {
		if code, _, body := httpDo(t, c, "GET", base+path, "", ""); code != 200 || body != "ok" {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
}

// TestWatchStreamsEvents: ?watch=true streams newline-delimited
// {"type","object"} events from a resourceVersion.
func TestWatchStreamsEvents(t *testing.T) {
	p := startPortico(t)
	base := p.insecureURL()
	_, _, body := httpDo(t, http.DefaultClient, "GET", base+"/api/v1/namespaces/default/configmaps", "", "")
	var list struct {
		Kind     string                           `json:"kind"`
		Metadata struct{ ResourceVersion string } `json:"metadata"`
		Items    []any                            `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "ConfigMapList" || list.Items == nil || list.Metadata.ResourceVersion == "" {
		t.Fatalf("empty list: %s", body)
	}
	resp, err := http.Get(base + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=" + list.Metadata.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("watch: %d %v", resp.StatusCode, resp.Header)
	}
	p.mustKubectl(t, "create", "configmap", "w1", "--from-literal=a=1")
	p.mustKubectl(t, "delete", "configmap", "w1")
	sc := bufio.NewScanner(resp.Body)
	var types []string
	for len(types) < 2 && sc.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Object struct {
				Kind     string                `json:"kind"`
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		if ev.Object.Kind != "ConfigMap" || ev.Object.Metadata.Name != "w1" {
			t.Errorf("event object: %s", sc.Text())
		}
		types = append(types, ev.Type)
	}
	if strings.Join(types, ",") != "ADDED,DELETED" {
		t.Errorf("events = %v", types)
	}
}

func assertStatus(t *testing.T, body string, code int, reason, msgPrefix string) {
	t.Helper()
	var st struct {
		Kind, APIVersion, Status, Message, Reason string
		Code                                      int
		Metadata                                  map[string]any
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Errorf("not a Status: %s", body)
		return
	}
	if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != "Failure" || st.Code != code || st.Reason != reason || st.Metadata == nil || !strings.HasPrefix(st.Message, msgPrefix) {
		t.Errorf("Status = %+v, want code %d reason %s message %q...", st, code, reason, msgPrefix)
	}
}
