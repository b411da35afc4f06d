package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/reqmeta"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
)

// entry is a managedFields entry in short: manager, operation,
// subresource and fields.
type entry struct{ manager, operation, subresource, fields string }

func entriesOf(t *testing.T, m *corev1.ObjectMeta) []entry {
	t.Helper()
	var out []entry
	for _, e := range m.GetManagedFields() {
		// An apply that changes nothing records no time, as in
		// kube-apiserver.
		if e.GetFieldsType() != "FieldsV1" || e.GetApiVersion() != "v1" || e.GetTime() == nil && e.GetManager() != "carol" {
			t.Errorf("entry %v: want fieldsType FieldsV1, apiVersion v1 and a time", e)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, e.GetFieldsV1().GetRaw()); err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{e.GetManager(), e.GetOperation(), e.GetSubresource(), compact.String()})
	}
	return out
}

// sameEntries compares entries in any order: kube-apiserver sorts them by
// operation, then time, then manager, and the times may differ.
func sameEntries(got, want []entry) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	for _, l := range [][]entry{got, want} {
		slices.SortFunc(l, func(a, b entry) int { return strings.Compare(a.manager+a.operation, b.manager+b.operation) })
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func applyCM(manager string, force bool, data string) *corev1.PatchConfigMapRequest {
	r := &corev1.PatchConfigMapRequest{Name: "cm", PatchType: patchpkg.ApplyYAML, FieldManager: manager,
		Patch: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: " + data + "\n")}
	if force {
		r.Force = proto.Bool(true)
	}
	return r
}

// TestServerSideApply walks one ConfigMap through the life kubectl gives
// it: applied into being, a conflict, a forced take-over, a field dropped
// by its manager, Update operations mixed in, and managedFields reset.
func TestServerSideApply(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	apply := func(r *corev1.PatchConfigMapRequest, opts ...grpc.CallOption) (*corev1.ConfigMap, error) {
		r.Namespace = ns
		out, err := c.cm.PatchConfigMap(ctx, r, opts...)
		return out.GetConfigMap(), err
	}
	steps := []struct {
		name string
		call func() (*corev1.ConfigMap, error)
		// want are the entries after the step; data the data.
		want   []entry
		data   map[string]string
		reason apierrors.Reason
		// message and causes of a failure.
		message string
		causes  []string
	}{
		{name: "apply creates", call: func() (*corev1.ConfigMap, error) {
			var hdr metadata.MD
			out, err := apply(applyCM("alice", false, "{a: '1', b: '2'}"), grpc.Header(&hdr))
			if got := hdr.Get("x-http-code"); len(got) != 1 || got[0] != "201" {
				t.Errorf("apply that creates: http code %v, want 201", got)
			}
			return out, err
		},
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:a":{},"f:b":{}}}`}}, data: map[string]string{"a": "1", "b": "2"}},
		{name: "same apply again changes nothing", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("alice", false, "{a: '1', b: '2'}")) },
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:a":{},"f:b":{}}}`}}, data: map[string]string{"a": "1", "b": "2"}},
		{name: "another manager conflicts", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("bob", false, "{a: 'x'}")) },
			reason: apierrors.ReasonConflict, message: `Apply failed with 1 conflict: conflict with "alice": .data.a`,
			causes: []string{`FieldManagerConflict .data.a conflict with "alice"`}},
		{name: "an equal value is shared, no conflict", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("carol", false, "{b: '2'}")) },
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:a":{},"f:b":{}}}`}, {"carol", "Apply", "", `{"f:data":{"f:b":{}}}`}},
			data: map[string]string{"a": "1", "b": "2"}},
		{name: "force takes the field", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("bob", true, "{a: 'x'}")) },
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:b":{}}}`}, {"carol", "Apply", "", `{"f:data":{"f:b":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`}},
			data: map[string]string{"a": "x", "b": "2"}},
		{name: "an update is recorded as an Update", call: func() (*corev1.ConfigMap, error) {
			cur, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			if err != nil {
				return nil, err
			}
			up := cur.GetConfigMap()
			up.Data["c"] = "3"
			out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: up, FieldManager: "kubectl-edit"})
			return out.GetConfigMap(), err
		},
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:b":{}}}`}, {"carol", "Apply", "", `{"f:data":{"f:b":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "b": "2", "c": "3"}},
		{name: "a conflict with an Update names its version", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("alice", false, "{b: '2', c: 'z'}")) },
			reason: apierrors.ReasonConflict, message: `Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.c`},
		{name: "a field no longer applied is removed", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("carol", false, "{d: '4'}")) },
			want: []entry{{"alice", "Apply", "", `{"f:data":{"f:b":{}}}`}, {"carol", "Apply", "", `{"f:data":{"f:d":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "b": "2", "c": "3", "d": "4"}},
		{name: "the last manager of a field removes it", call: func() (*corev1.ConfigMap, error) { return apply(applyCM("alice", false, "{}")) },
			want: []entry{{"alice", "Apply", "", `{"f:data":{}}`}, {"carol", "Apply", "", `{"f:data":{"f:d":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "c": "3", "d": "4"}},
		{name: "dry run stores nothing", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{a: 'dry'}")
			r.DryRun = []string{"All"}
			out, err := apply(r)
			if err == nil && out.GetData()["a"] != "dry" {
				t.Errorf("dry run answered %v", out.GetData())
			}
			cur, _ := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			return cur.GetConfigMap(), err
		},
			want: []entry{{"alice", "Apply", "", `{"f:data":{}}`}, {"carol", "Apply", "", `{"f:data":{"f:d":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "c": "3", "d": "4"}},
		{name: "an update sending managedFields unchanged keeps them", call: func() (*corev1.ConfigMap, error) {
			cur, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			if err != nil {
				return nil, err
			}
			out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: cur.GetConfigMap(), FieldManager: "kubectl-edit"})
			return out.GetConfigMap(), err
		},
			want: []entry{{"alice", "Apply", "", `{"f:data":{}}`}, {"carol", "Apply", "", `{"f:data":{"f:d":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "c": "3", "d": "4"}},
		{name: "an update with invalid managedFields keeps the stored ones", call: func() (*corev1.ConfigMap, error) {
			cur, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			if err != nil {
				return nil, err
			}
			up := cur.GetConfigMap()
			up.Metadata.ManagedFields = []*corev1.ManagedFieldsEntry{{Manager: "x", Operation: "Sideways", FieldsType: "FieldsV9"}}
			out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: up, FieldManager: "kubectl-edit"})
			return out.GetConfigMap(), err
		},
			want: []entry{{"alice", "Apply", "", `{"f:data":{}}`}, {"carol", "Apply", "", `{"f:data":{"f:d":{}}}`}, {"bob", "Apply", "", `{"f:data":{"f:a":{}}}`},
				{"kubectl-edit", "Update", "", `{"f:data":{"f:c":{}}}`}},
			data: map[string]string{"a": "x", "c": "3", "d": "4"}},
		// kube-apiserver: managedFields reset on an existing object are
		// tracked again only from the next apply.
		{name: "an update with [{}] resets them", call: func() (*corev1.ConfigMap, error) {
			cur, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			if err != nil {
				return nil, err
			}
			up := cur.GetConfigMap()
			up.Metadata.ManagedFields = []*corev1.ManagedFieldsEntry{{}}
			up.Data["e"] = "5"
			out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: up, FieldManager: "resetter"})
			return out.GetConfigMap(), err
		},
			want: nil,
			data: map[string]string{"a": "x", "c": "3", "d": "4", "e": "5"}},
		{name: "apply naming managedFields is refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{}")
			r.Patch = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, managedFields: []}\n")
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: "metadata.managedFields must be nil"},
		{name: "apply of another version is refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{}")
			r.Patch = []byte("apiVersion: v2\nkind: ConfigMap\nmetadata: {name: cm}\n")
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: "invalid object type: /v2, Kind=ConfigMap"},
		{name: "apply of an unknown field is refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{}")
			r.Patch = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nspec: {}\n")
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: ".spec: field not declared in schema"},
		{name: "apply of another name is refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{}")
			r.Name = "other"
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: "the name of the object (cm) does not match the name on the URL (other)"},
		{name: "apply of no name is refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{}")
			r.Name = "fresh"
			r.Patch = []byte("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n")
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: "the name of the object (fresh based on URL) was undeterminable: name must be provided"},
		{name: "duplicate fields with Strict are refused", call: func() (*corev1.ConfigMap, error) {
			r := applyCM("bob", false, "{a: '1', a: '2'}")
			r.FieldValidation = "Strict"
			return apply(r)
		}, reason: apierrors.ReasonBadRequest, message: "error strict decoding patch"},
		{name: "force on a merge patch is refused", call: func() (*corev1.ConfigMap, error) {
			return apply(&corev1.PatchConfigMapRequest{Name: "cm", PatchType: patchpkg.Merge, Patch: []byte(`{}`), Force: proto.Bool(false)})
		}, reason: apierrors.ReasonInvalid, message: `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`},
		{name: "a field manager too long is refused", call: func() (*corev1.ConfigMap, error) { return apply(applyCM(strings.Repeat("m", 129), false, "{}")) },
			reason: apierrors.ReasonInvalid, message: "fieldManager: Too long: may not be more than 128 bytes"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			out, err := st.call()
			if st.reason != "" {
				if reason(err) != st.reason || !strings.Contains(status.Convert(err).Message(), st.message) {
					t.Fatalf("err = %v, want %s with %q", err, st.reason, st.message)
				}
				if st.causes != nil {
					var got []string
					for _, d := range status.Convert(err).Details() {
						if br, ok := d.(*errdetails.BadRequest); ok {
							for _, v := range br.GetFieldViolations() {
								got = append(got, v.GetReason()+" "+v.GetField()+" "+v.GetDescription())
							}
						}
					}
					if strings.Join(got, "\n") != strings.Join(st.causes, "\n") {
						t.Fatalf("causes %q, want %q", got, st.causes)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := entriesOf(t, out.GetMetadata()); !sameEntries(got, st.want) {
				t.Errorf("managedFields\n got %v\nwant %v", got, st.want)
			}
			if len(out.GetData()) != len(st.data) {
				t.Errorf("data %v, want %v", out.GetData(), st.data)
			}
			for k, v := range st.data {
				if out.GetData()[k] != v {
					t.Errorf("data %v, want %v", out.GetData(), st.data)
				}
			}
		})
	}
}

// TestUpdateManagers: the manager of a write is its fieldManager, else
// the client's User-Agent before its first "/".
func TestUpdateManagers(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	tests := map[string]struct {
		fieldManager, userAgent, want string
	}{
		"field manager":       {"kubectl-create", "kubectl/v1.32.4 (linux/amd64) kubernetes/abc", "kubectl-create"},
		"user agent":          {"", "kubectl/v1.32.4 (linux/amd64) kubernetes/abc", "kubectl"},
		"unprintable dropped": {"", "my\x01tool/1.0", "mytool"},
		"grpc client's own":   {"", "", "grpc-go"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cctx := ctx
			if tc.userAgent != "" {
				cctx = metadata.NewOutgoingContext(ctx, reqmeta.WithUserAgent(tc.userAgent))
			}
			cmName := strings.ReplaceAll(name, " ", "-")
			cmName = strings.ReplaceAll(cmName, "'", "")
			out, err := c.cm.CreateConfigMap(cctx, &corev1.CreateConfigMapRequest{Namespace: ns, FieldManager: tc.fieldManager,
				ConfigMap: configMap(cmName, map[string]string{"k": "v"})})
			if err != nil {
				t.Fatal(err)
			}
			got := entriesOf(t, out.GetConfigMap().GetMetadata())
			want := []entry{{tc.want, "Update", "", `{"f:data":{".":{},"f:k":{}}}`}}
			if !sameEntries(got, want) {
				t.Fatalf("managedFields %v, want %v", got, want)
			}
		})
	}
}

// TestApplyStatus: the status subresource records its managers with
// subresource "status" and owns only status; the object's own apply owns
// no status, as kube-apiserver's strategies reset it.
func TestApplyStatus(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, ports: [{containerPort: 80}]}]\nstatus: {message: ignored}\n"
	out, err := c.pods.PatchPod(ctx, &corev1.PatchPodRequest{Namespace: ns, Name: "p", PatchType: patchpkg.ApplyYAML, FieldManager: "kubectl", Patch: []byte(pod)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetPod().GetStatus().GetMessage(); got != "" {
		t.Errorf("status set through the object: %q", got)
	}
	want := []entry{{"kubectl", "Apply", "", `{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}`}}
	if got := entriesOf(t, out.GetPod().GetMetadata()); !sameEntries(got, want) {
		t.Fatalf("managedFields\n got %v\nwant %v", got, want)
	}
	status := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: ignored}\nstatus: {message: hello}\n"
	out2, err := c.pods.PatchPodStatus(ctx, &corev1.PatchPodStatusRequest{Namespace: ns, Name: "p", PatchType: patchpkg.ApplyYAML, FieldManager: "kubelet", Patch: []byte(status)})
	if err != nil {
		t.Fatal(err)
	}
	if out2.GetPod().GetStatus().GetMessage() != "hello" || out2.GetPod().GetSpec().GetNodeName() != "" {
		t.Errorf("status apply: status %v, nodeName %q", out2.GetPod().GetStatus(), out2.GetPod().GetSpec().GetNodeName())
	}
	want = append(want, entry{"kubelet", "Apply", "status", `{"f:status":{"f:message":{}}}`})
	if got := entriesOf(t, out2.GetPod().GetMetadata()); !sameEntries(got, want) {
		t.Fatalf("managedFields\n got %v\nwant %v", got, want)
	}
	// An update of the status records an Update of the subresource.
	p := out2.GetPod()
	p.Status.Reason = "Because"
	out3, err := c.pods.UpdatePodStatus(ctx, &corev1.UpdatePodStatusRequest{Namespace: ns, Name: "p", Pod: p, FieldManager: "kubelet"})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, entry{"kubelet", "Update", "status", `{"f:status":{"f:reason":{}}}`})
	if got := entriesOf(t, out3.GetPod().GetMetadata()); !sameEntries(got, want) {
		t.Fatalf("managedFields\n got %v\nwant %v", got, want)
	}
	// A patch of the status naming another object is refused, as the
	// object's own is (kube-apiserver's checkName).
	for patchType, patch := range map[string]string{
		patchpkg.ApplyYAML: "apiVersion: v1\nkind: Pod\nmetadata: {name: other}\nstatus: {message: x}\n",
		patchpkg.Merge:     `{"metadata":{"name":"other"},"status":{"message":"x"}}`,
	} {
		_, err := c.pods.PatchPodStatus(ctx, &corev1.PatchPodStatusRequest{Namespace: ns, Name: "p", PatchType: patchType, FieldManager: "kubelet", Patch: []byte(patch)})
		if apierrors.ReasonOf(err) != apierrors.ReasonBadRequest || !strings.Contains(err.Error(), "the name of the object (other) does not match the name on the URL (p)") {
			t.Errorf("%s of the status naming another pod: %v", patchType, err)
		}
	}
}

// TestWritesThatChangeNothing: an apply or an update that leaves the
// object as stored writes nothing (the resourceVersion stays), as in
// kube-apiserver; one that changes it is written.
func TestWritesThatChangeNothing(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	first := applyCM("alice", false, "{a: '1'}")
	first.Namespace = ns
	created, err := c.cm.PatchConfigMap(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	rv := created.GetConfigMap().GetMetadata().GetResourceVersion()
	tests := []struct {
		name  string
		write func() (*corev1.ConfigMap, error)
		same  bool
	}{
		{"the same apply", func() (*corev1.ConfigMap, error) {
			r := applyCM("alice", false, "{a: '1'}")
			r.Namespace = ns
			out, err := c.cm.PatchConfigMap(ctx, r)
			return out.GetConfigMap(), err
		}, true},
		{"an update sending the stored object", func() (*corev1.ConfigMap, error) {
			cur, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm"})
			if err != nil {
				return nil, err
			}
			out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: cur.GetConfigMap(), FieldManager: "alice"})
			return out.GetConfigMap(), err
		}, true},
		{"an apply that changes a value", func() (*corev1.ConfigMap, error) {
			r := applyCM("alice", false, "{a: '2'}")
			r.Namespace = ns
			out, err := c.cm.PatchConfigMap(ctx, r)
			return out.GetConfigMap(), err
		}, false},
	}
	for _, tc := range tests {
		out, err := tc.write()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := out.GetMetadata().GetResourceVersion()
		if (got == rv) != tc.same {
			t.Errorf("%s: resourceVersion %s, was %s; want it the same: %v", tc.name, got, rv, tc.same)
		}
		rv = got
	}
}
