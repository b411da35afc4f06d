package kjson_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/kjson"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

var coreTypes = kjson.KubernetesTypes()

func newMarshaler(opts ...kjson.Option) *kjson.Marshaler {
	return kjson.New(append([]kjson.Option{kjson.WithTypes(coreTypes)}, opts...)...)
}

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

// TestStatusSamples decodes every Status kube-apiserver sent and checks that
// marshaling it again gives the same bytes, trailing newline included.
func TestStatusSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/status-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	m := newMarshaler()
	for _, f := range files {
		if strings.Contains(f, "pretty") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var st corev1.Status
			if err := m.Unmarshal(want, &st); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := m.Marshal(&st)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestGoldenShapes builds objects in Go and compares with what
// kube-apiserver prints for the same content.
func TestGoldenShapes(t *testing.T) {
	notFound := &corev1.Status{
		Status:  "Failure",
		Message: `pods "does-not-exist" not found`,
		Reason:  "NotFound",
		Details: &corev1.StatusDetails{Name: "does-not-exist", Kind: "pods"},
		Code:    404,
	}
	sample404, err := os.ReadFile("testdata/status-404-notfound.json")
	if err != nil {
		t.Fatal(err)
	}
	sample422, err := os.ReadFile("testdata/status-422-invalid.json")
	if err != nil {
		t.Fatal(err)
	}
	invalidMsg := "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	invalid := &corev1.Status{
		Status:  "Failure",
		Message: `Pod "Bad_Name" is invalid: [metadata.name: ` + invalidMsg + `, spec.containers: Required value]`,
		Reason:  "Invalid",
		Details: &corev1.StatusDetails{Name: "Bad_Name", Kind: "Pod", Causes: []*corev1.StatusCause{
			{Reason: "FieldValueInvalid", Message: invalidMsg, Field: "metadata.name"},
			{Reason: "FieldValueRequired", Message: "Required value", Field: "spec.containers"},
		}},
		Code: 422,
	}
	created := ts("2026-11-27T08:16:17Z")
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"status 404 sample", notFound, string(sample404)},
		{"status 422 sample", invalid, string(sample422)},
		{"empty status", &corev1.Status{}, `{"kind":"Status","apiVersion":"v1","metadata":{}}` + "\n"},
		{"success status", &corev1.Status{Status: "Success", Details: &corev1.StatusDetails{Name: "cfg", Kind: "configmaps", Uid: "u-1"}},
			`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"cfg","kind":"configmaps","uid":"u-1"}}` + "\n"},
		{"empty namespace list", &corev1.ListNamespacesResponse{},
			`{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[]}` + "\n"},
		{"empty configmap list with rv", &corev1.ListConfigMapsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "118"}},
			`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"118"},"items":[]}` + "\n"},
		{"namespace as kubectl create ns answers",
			&corev1.Namespace{
				Metadata: &corev1.ObjectMeta{
					Name: "pbns", Uid: "6190349b-c6b6-428a-8c42-2254bceb71c2", ResourceVersion: "148",
					CreationTimestamp: created,
					Labels:            map[string]string{"kubernetes.io/metadata.name": "pbns"},
				},
				Spec:   &corev1.NamespaceSpec{Finalizers: []string{"kubernetes"}},
				Status: &corev1.NamespaceStatus{Phase: "Active"},
			},
			`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"pbns","uid":"6190349b-c6b6-428a-8c42-2254bceb71c2","resourceVersion":"148","creationTimestamp":"2026-11-27T08:16:17Z","labels":{"kubernetes.io/metadata.name":"pbns"}},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}` + "\n"},
		{"bare namespace prints empty spec and status", &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "x"}},
			`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"},"spec":{},"status":{}}` + "\n"},
		{"nil-metadata configmap", &corev1.ConfigMap{},
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{}}` + "\n"},
		{"configmap",
			&corev1.ConfigMap{
				Metadata: &corev1.ObjectMeta{
					Name: "cfg", Namespace: "default", Generation: 1 << 53,
					CreationTimestamp:          created,
					DeletionGracePeriodSeconds: proto.Int64(0),
					Annotations:                map[string]string{"b": "<&>", "a": "line\nbreak\u2028"},
					Finalizers:                 []string{"x/y"},
				},
				Data:       map[string]string{"z": "1", "a": "2", "": "empty key"},
				BinaryData: map[string][]byte{"bin": {0, 1, 2, 0xff}, "empty": {}},
			},
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","namespace":"default","generation":9007199254740992,"creationTimestamp":"2026-11-27T08:16:17Z","deletionGracePeriodSeconds":0,"annotations":{"a":"line\nbreak\u2028","b":"\u003c\u0026\u003e"},"finalizers":["x/y"]},"data":{"":"empty key","a":"2","z":"1"},"binaryData":{"bin":"AAEC/w==","empty":""}}` + "\n"},
		{"optional false is written", &corev1.ConfigMap{Immutable: proto.Bool(false)},
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{},"immutable":false}` + "\n"},
		{"zero timestamp is unset", &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a", CreationTimestamp: &timestamppb.Timestamp{}}},
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}` + "\n"},
		{"owner reference always has its four strings", &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{OwnerReferences: []*corev1.OwnerReference{{}}}},
			`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"ownerReferences":[{"apiVersion":"","kind":"","name":"","uid":""}]}}` + "\n"},
		{"namespace condition with zero time",
			&corev1.Namespace{Status: &corev1.NamespaceStatus{Conditions: []*corev1.NamespaceCondition{{Type: "NamespaceDeletionContentFailure", Status: "False"}}}},
			`{"kind":"Namespace","apiVersion":"v1","metadata":{},"spec":{},"status":{"conditions":[{"type":"NamespaceDeletionContentFailure","status":"False","lastTransitionTime":null}]}}` + "\n"},
		{"list items carry no kind",
			&corev1.ListConfigMapsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "7", Continue: "c", RemainingItemCount: proto.Int64(0)}, Items: []*corev1.ConfigMap{{Metadata: &corev1.ObjectMeta{Name: "a"}}, {}}},
			`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c","remainingItemCount":0},"items":[{"metadata":{"name":"a"}},{"metadata":{}}]}` + "\n"},
		{"unregistered message has no kind", &corev1.GetNamespaceRequest{Name: "x"}, `{"name":"x"}` + "\n"},
	}
	m := newMarshaler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			// And it reads back to the same message.
			back := tt.msg.ProtoReflect().New().Interface()
			if err := m.Unmarshal(got, back); err != nil {
				t.Fatalf("decode own output: %v", err)
			}
			again, err := m.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("round trip changed output:\n%s\n%s", got, again)
			}
		})
	}
}

func TestPretty(t *testing.T) {
	want, err := os.ReadFile("testdata/status-404-notfound-curl-UA-pretty.json")
	if err != nil {
		t.Fatal(err)
	}
	st := &corev1.Status{
		Status: "Failure", Message: `pods "does-not-exist" not found`, Reason: "NotFound",
		Details: &corev1.StatusDetails{Name: "does-not-exist", Kind: "pods"}, Code: 404,
	}
	got, err := newMarshaler().Pretty().Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFloatsAndStringsLikeEncodingJSON(t *testing.T) {
	// Value/Struct are written natively; compare with encoding/json.
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`{"a":1e21,"b":1e-7,"c":0.000001,"d":123456789,"e":-0.5}`, `{"a":1e+21,"b":1e-7,"c":0.000001,"d":123456789,"e":-0.5}`},
		{`{"s":"\u0000\u001f<>&\u2028\u2029\ud800x\"\\\/\b\f\n\r\t é"}`, `{"s":"\u0000\u001f\u003c\u003e\u0026\u2028\u2029�x\"\\/\b\f\n\r\t é"}`},
		{`{"n":null,"t":true,"f":false,"l":[1,"x",{"k":[]}],"o":{}}`, `{"f":false,"l":[1,"x",{"k":[]}],"n":null,"o":{},"t":true}`},
	} {
		m := newMarshaler()
		msg := newStruct()
		if err := m.Unmarshal([]byte(tc.in), msg); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		got, err := m.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSuffix(string(got), "\n") != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func newStruct() *structpb.Struct { return &structpb.Struct{} }

// TestDynamicMessagesMatch writes the same object as a generated message
// (maps read directly) and as a dynamicpb message (through protoreflect).
func TestDynamicMessagesMatch(t *testing.T) {
	m := newMarshaler()
	for _, msg := range []proto.Message{benchConfigMap(), &corev1.Namespace{Metadata: &corev1.ObjectMeta{Labels: map[string]string{"b": "1", "a": "<"}}}} {
		want, err := m.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		dyn := dynamicpb.NewMessage(msg.ProtoReflect().Descriptor())
		if err := proto.Unmarshal(raw, dyn); err != nil {
			t.Fatal(err)
		}
		got, err := m.Marshal(dyn)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dynamic\n%s\ngenerated\n%s", got, want)
		}
		back := dynamicpb.NewMessage(msg.ProtoReflect().Descriptor())
		if err := m.Unmarshal(want, back); err != nil {
			t.Fatal(err)
		}
		gen := msg.ProtoReflect().New().Interface()
		if err := m.Unmarshal(want, gen); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(back, gen) {
			t.Errorf("dynamic decode differs:\n%v\n%v", back, gen)
		}
	}
}
