package fieldmanager

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/portico-dev/portico/internal/typeschema"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
)

var (
	configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	podGVK       = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
)

func served(t testing.TB) *typeschema.Schema {
	t.Helper()
	s, err := typeschema.Served()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func object(t testing.TB, s string) map[string]any {
	t.Helper()
	obj, err := patchpkg.DecodeApply([]byte(s), patchpkg.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestOptionsValidate(t *testing.T) {
	s := served(t)
	tests := map[string]struct {
		o    Options
		want string
	}{
		"ok":           {Options{Schema: s, GVK: configMapGVK}, ""},
		"no schema":    {Options{GVK: configMapGVK}, "a schema is required"},
		"unknown kind": {Options{Schema: s, GVK: schema.GroupVersionKind{Version: "v1", Kind: "Gadget"}}, "no type for /v1, Kind=Gadget"},
		"no version":   {Options{Schema: s, GVK: schema.GroupVersionKind{Kind: "ConfigMap"}}, "kind and version are required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestApply: kube-apiserver's answers to apply patches, through the
// managers chain: a creation, a conflict (409 with a cause per field), a
// forced take-over, a wrong kind.
func TestApply(t *testing.T) {
	m, err := New(Options{Schema: served(t), GVK: configMapGVK})
	if err != nil {
		t.Fatal(err)
	}
	created, err := m.Apply(nil, object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n"), "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		patch, manager string
		force          bool
		code           int32
		message        string
		causes         string
	}{
		"conflict": {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n", "bob", false,
			http.StatusConflict, `Apply failed with 1 conflict: conflict with "alice": .data.a`, `[{"reason":"FieldManagerConflict","message":"conflict with \"alice\"","field":".data.a"}]`},
		"forced":     {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n", "bob", true, 0, "", ""},
		"wrong kind": {"apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n", "bob", false, http.StatusBadRequest, "invalid object type: /v1, Kind=Secret", ""},
		"unknown field": {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nspec: {}\n", "bob", false, 0,
			"failed to create typed patch object (/c; /v1, Kind=ConfigMap): .spec: field not declared in schema", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			live, _ := json.Marshal(created)
			var l map[string]any
			_ = json.Unmarshal(live, &l)
			out, err := m.Apply(l, object(t, tc.patch), tc.manager, tc.force)
			if tc.message == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out["data"].(map[string]any)["a"] != "2" {
					t.Fatalf("applied %v", out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v, want %q", err, tc.message)
			}
			st, ok := Status(err)
			if ok != (tc.code != 0) || ok && st.Code != tc.code {
				t.Fatalf("Status = %v %v, want code %d", st, ok, tc.code)
			}
			if tc.causes != "" {
				got, _ := json.Marshal(st.Details.Causes)
				if string(got) != tc.causes {
					t.Fatalf("causes %s, want %s", got, tc.causes)
				}
			}
		})
	}
}

// TestUpdate: the fields a create sets are its manager's; a later update
// by another manager owns what it changed; a foreign version's entry is
// dropped.
func TestUpdate(t *testing.T) {
	// The empty object, as Kubernetes JSON writes it: a spec with no
	// containers is no new field on create.
	empty := object(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"creationTimestamp":null},"spec":{"containers":null},"status":{}}`)
	m, err := New(Options{Schema: served(t), GVK: podGVK, Empty: empty, ResetFields: []string{"status"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}}\nspec: {containers: [{name: c, image: i}]}\nstatus: {phase: Running}\n"
	entries, err := m.Update(nil, object(t, pod), "kubectl-create")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Manager != "kubectl-create" || entries[0].Operation != "Update" || strings.Contains(string(entries[0].FieldsV1.Raw), "status") {
		t.Fatalf("entries %+v", entries)
	}
	live := object(t, pod)
	live["metadata"].(map[string]any)["uid"] = "u"
	enc, _ := json.Marshal(entries)
	var mf []any
	_ = json.Unmarshal(enc, &mf)
	mf = append(mf, map[string]any{"manager": "old", "operation": "Update", "apiVersion": "v0", "fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{}}})
	live["metadata"].(map[string]any)["managedFields"] = mf
	next := object(t, strings.Replace(pod, "{a: b}", "{a: b, c: d}", 1))
	next["metadata"].(map[string]any)["uid"] = "u"
	entries, err = m.Update(live, next, "kubectl-label")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Manager+" "+string(e.FieldsV1.Raw))
	}
	want := []string{`kubectl-create {"f:metadata":{"f:labels":{".":{},"f:a":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{}}}}}`,
		`kubectl-label {"f:metadata":{"f:labels":{"f:c":{}}}}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzApplyPatch feeds arbitrary apply patches through the whole apply
// path (bounded decoding, then the field manager against a live pod): it
// must never panic, and one patch must stay within a bounded multiple of
// the limits in memory.
func FuzzApplyPatch(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: j}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}, {name: c}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, managedFields: [{}]}\n",
		`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","ports":[{"containerPort":80},{"containerPort":80,"protocol":"UDP"}]}]}}`,
		"apiVersion: v1\nkind: Pod\nspec: &s {volumes: [{name: v, emptyDir: {}}]}\nstatus: *s\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {finalizers: [a, a]}\n",
	} {
		f.Add([]byte(s), false)
	}
	m, err := New(Options{Schema: served(f), GVK: podGVK, ResetFields: []string{"status"}})
	if err != nil {
		f.Fatal(err)
	}
	live := object(f, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u}\nspec: {containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n")
	if _, err := m.Apply(nil, object(f, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n"), "first", false); err != nil {
		f.Fatal(err)
	}
	limits := patchpkg.Limits{MaxBytes: 64 << 10}
	const allocBound = 256 << 20
	f.Fuzz(func(t *testing.T, data []byte, force bool) {
		if len(data) > 16<<10 {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if patch, err := patchpkg.DecodeApply(data, limits); err == nil {
			l, _ := json.Marshal(live)
			var copied map[string]any
			_ = json.Unmarshal(l, &copied)
			_, _ = m.Apply(copied, patch, "fuzzer", force)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound {
			t.Fatalf("one patch allocated %d bytes", alloc)
		}
	})
}
