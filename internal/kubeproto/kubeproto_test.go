package kubeproto_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	k8scorev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sproto "k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

var (
	jsonMarshaler = kjson.New(kjson.WithTypes(kjson.KubernetesTypes()))
	pbMarshaler   = kubeproto.New(jsonMarshaler)
)

// readHexDump reads a sample as `kubectl -v=9` prints a body:
// "00000000  6b 38 73 00 ...  |k8s.....|".
func readHexDump(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.IndexByte(line, '|'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		b, err := hex.DecodeString(strings.Join(fields[1:], ""))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, b...)
	}
	return out
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	if strings.HasSuffix(name, ".hex") {
		return readHexDump(t, name)
	}
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func k8sScheme(t testing.TB) *k8sruntime.Scheme {
	t.Helper()
	s := k8sruntime.NewScheme()
	if err := k8scorev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// kubeJSON encodes as kube-apiserver's JSON serializer does.
func kubeJSON(t testing.TB, obj any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(obj); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRealSamples(t *testing.T) {
	tests := []struct {
		file   string
		target proto.Message
		opts   kjson.DecodeOptions
		want   string // error, "" for success
		json   string // our JSON of the result
	}{
		{"create-namespace.req.hex", &corev1.Namespace{}, kjson.DecodeOptions{}, "",
			`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"pbns"},"spec":{},"status":{}}` + "\n"},
		{"namespace.resp.pb", &corev1.Namespace{}, kjson.DecodeOptions{}, "",
			`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"pbns","uid":"6190349b-c6b6-428a-8c42-2254bceb71c2","resourceVersion":"214","creationTimestamp":"2026-11-27T08:29:54Z","labels":{"kubernetes.io/metadata.name":"pbns"},"managedFields":[{"manager":"kubectl-create","operation":"Update","apiVersion":"v1","time":"2026-11-27T08:29:54Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:kubernetes.io/metadata.name":{}}}}}]},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}` + "\n"},
		{"create-serviceaccount.req.hex", &corev1.Namespace{}, kjson.DecodeOptions{},
			`ServiceAccount in version "v1" cannot be handled as a Namespace: converting (v1.ServiceAccount) to (core.Namespace): unknown conversion`, ""},
		{"create-serviceaccount.req.hex", &corev1.ServiceAccount{}, kjson.DecodeOptions{}, "",
			`{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"pbsa","namespace":"demo"}}` + "\n"},
		{"create-token.req.hex", &corev1.ConfigMap{}, kjson.DecodeOptions{},
			`TokenRequest in version "v1" cannot be handled as a ConfigMap: converting (v1.TokenRequest) to (core.ConfigMap): unknown conversion`, ""},
		{"create-token.req.hex", &corev1.TokenRequest{}, kjson.DecodeOptions{}, "", ""},
		{"selfsubjectaccessreview.req.hex", &corev1.Namespace{}, kjson.DecodeOptions{},
			`SelfSubjectAccessReview in version "v1" cannot be handled as a Namespace: no kind "SelfSubjectAccessReview" is registered for version "authorization.k8s.io/v1"`, ""},
		{"pod.resp.pb", &corev1.Namespace{}, kjson.DecodeOptions{},
			`Pod in version "v1" cannot be handled as a Namespace: converting (v1.Pod) to (core.Namespace): unknown conversion`, ""},
		{"pod.resp.pb", &corev1.Pod{}, kjson.DecodeOptions{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%T/%v", tt.file, tt.target, tt.opts.AllowUnknown), func(t *testing.T) {
			var unknown []string
			tt.opts.OnUnknown = func(p string) { unknown = append(unknown, p) }
			err := pbMarshaler.Decode(readSample(t, tt.file), tt.target, tt.opts)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("\ngot  %q\nwant %q", got, tt.want)
			}
			if len(unknown) > 0 {
				t.Errorf("unknown fields reported: %v", unknown)
			}
			if tt.json == "" {
				return
			}
			out, err := jsonMarshaler.Marshal(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.json {
				t.Errorf("JSON\ngot  %s\nwant %s", out, tt.json)
			}
		})
	}
}

// TestSamplesAgainstKubernetes decodes the samples with k8s.io/api's own
// protobuf serializer and compares the JSON.
func TestSamplesAgainstKubernetes(t *testing.T) {
	ser := k8sproto.NewSerializer(k8sScheme(t), k8sScheme(t))
	for _, tc := range []struct {
		file string
		k8s  k8sruntime.Object
		ours proto.Message
	}{
		{"create-namespace.req.hex", &k8scorev1.Namespace{}, &corev1.Namespace{}},
		{"namespace.resp.pb", &k8scorev1.Namespace{}, &corev1.Namespace{}},
		{"create-serviceaccount.req.hex", &k8scorev1.ServiceAccount{}, &corev1.ServiceAccount{}},
		{"pod.resp.pb", &k8scorev1.Pod{}, &corev1.Pod{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := readSample(t, tc.file)
			u, err := kubeproto.ParseEnvelope(body)
			if err != nil {
				t.Fatal(err)
			}
			obj, _, err := ser.Decode(body, nil, tc.k8s)
			if err != nil {
				t.Fatal(err)
			}
			obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(u.APIVersion, u.Kind))
			want := kubeJSON(t, obj)

			ours := tc.ours
			if err := pbMarshaler.Decode(body, ours, kjson.DecodeOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := jsonMarshaler.Marshal(ours)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("\nours %s\nk8s  %s", got, want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestKubernetesEncodedObjects encodes k8s.io/api objects with
// kube-apiserver's protobuf serializer (what client-go sends) and checks
// our decode gives the JSON encoding/json gives of the object; and the
// reverse, our envelope read by Kubernetes' serializer.
func TestKubernetesEncodedObjects(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 27, 8, 16, 17, 0, time.UTC))
	meta := metav1.ObjectMeta{
		Name: "cfg", GenerateName: "cfg-", Namespace: "default", UID: "u-1", ResourceVersion: "7", Generation: 1 << 40,
		CreationTimestamp: now, DeletionTimestamp: &now, DeletionGracePeriodSeconds: ptr(int64(0)),
		Labels: map[string]string{"a": "b", "<": ">"}, Annotations: map[string]string{"n": "line\n"},
		Finalizers: []string{"f"},
	}
	withOwners := *meta.DeepCopy()
	withOwners.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "K", Name: "n", UID: "u", Controller: ptr(true), BlockOwnerDeletion: ptr(false)}}
	objects := []struct {
		name  string
		k8s   k8sruntime.Object
		ours  func() proto.Message
		exact bool // byte-identical JSON (no field-order difference in the .proto)
	}{
		{"configmap", &k8scorev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {0, 255}}}, func() proto.Message { return &corev1.ConfigMap{} }, true},
		{"configmap with owners, immutable", &k8scorev1.ConfigMap{ObjectMeta: withOwners, Immutable: ptr(false)}, func() proto.Message { return &corev1.ConfigMap{} }, false},
		{"configmap empty", &k8scorev1.ConfigMap{}, func() proto.Message { return &corev1.ConfigMap{} }, true},
		{"event with zero micro time", &k8scorev1.Event{ObjectMeta: meta, Reason: "r", Series: &k8scorev1.EventSeries{Count: 1, LastObservedTime: metav1.NewMicroTime(now.Add(5000))}},
			func() proto.Message { return &corev1.Event{} }, true},
		{"service", &k8scorev1.Service{ObjectMeta: meta, Spec: k8scorev1.ServiceSpec{Ports: []k8scorev1.ServicePort{
			{Port: 80, TargetPort: intstr.FromString("http")}, {Port: 81, TargetPort: intstr.FromInt32(8081)}}}},
			func() proto.Message { return &corev1.Service{} }, true},
		{"pod with resources", &k8scorev1.Pod{ObjectMeta: withOwners, Spec: k8scorev1.PodSpec{Containers: []k8scorev1.Container{{Name: "c",
			Resources: k8scorev1.ResourceRequirements{Requests: k8scorev1.ResourceList{"cpu": resource.MustParse("250m")}}}}}},
			func() proto.Message { return &corev1.Pod{} }, true},
		{"namespace", &k8scorev1.Namespace{ObjectMeta: meta, Spec: k8scorev1.NamespaceSpec{Finalizers: []k8scorev1.FinalizerName{"kubernetes"}},
			Status: k8scorev1.NamespaceStatus{Phase: "Active", Conditions: []k8scorev1.NamespaceCondition{{Type: "T", Status: "True"}}}}, func() proto.Message { return &corev1.Namespace{} }, true},
	}
	scheme := k8sScheme(t)
	ser := k8sproto.NewSerializer(scheme, scheme)
	for _, obj := range objects {
		t.Run(obj.name, func(t *testing.T) {
			var body bytes.Buffer
			if err := ser.Encode(obj.k8s, &body); err != nil {
				t.Fatal(err)
			}
			gvks, _, err := scheme.ObjectKinds(obj.k8s)
			if err != nil {
				t.Fatal(err)
			}
			obj.k8s.GetObjectKind().SetGroupVersionKind(gvks[0])
			want := kubeJSON(t, obj.k8s)

			ours := obj.ours()
			if err := pbMarshaler.Decode(body.Bytes(), ours, kjson.DecodeOptions{}); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := jsonMarshaler.Marshal(ours)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("\nours %s\nk8s  %s", got, want)
			}
			if obj.exact && !bytes.Equal(got, want) {
				t.Errorf("bytes differ\nours %s\nk8s  %s", got, want)
			}

			// Reverse: our protobuf in our envelope, read by Kubernetes.
			raw, err := proto.Marshal(ours)
			if err != nil {
				t.Fatal(err)
			}
			env := kubeproto.AppendEnvelope(nil, gvks[0].GroupVersion().String(), gvks[0].Kind, raw)
			into := reflect.New(reflect.TypeOf(obj.k8s).Elem()).Interface().(k8sruntime.Object)
			back, _, err := ser.Decode(env, nil, into)
			if err != nil {
				t.Fatalf("k8s decode of our envelope: %v", err)
			}
			back.GetObjectKind().SetGroupVersionKind(gvks[0])
			if again := kubeJSON(t, back); !bytes.Equal(again, want) {
				t.Errorf("k8s read our protobuf as\n%s\nwant\n%s", again, want)
			}
		})
	}
}

// envelope builds a body by hand.
func envelope(typeMeta []byte, raw []byte, enc, ct string) []byte {
	b := append([]byte(nil), kubeproto.Magic...)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, typeMeta)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	if enc != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, enc)
	}
	if ct != "" {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, ct)
	}
	return b
}

func typeMeta(apiVersion, kind string) []byte {
	var b []byte
	if apiVersion != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, apiVersion)
	}
	if kind != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, kind)
	}
	return b
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// withUnknown appends an unknown varint field to an encoded message.
func withUnknown(raw []byte, num protowire.Number) []byte {
	raw = protowire.AppendTag(append([]byte(nil), raw...), num, protowire.VarintType)
	return protowire.AppendVarint(raw, 1)
}

func TestDecodeErrors(t *testing.T) {
	cm := mustMarshal(&corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a"}})
	meta := withUnknown(mustMarshal(&corev1.ObjectMeta{Name: "a"}), 17)
	owner := withUnknown(mustMarshal(&corev1.OwnerReference{Name: "o"}), 9)
	meta = protowire.AppendBytes(protowire.AppendTag(meta, 13, protowire.BytesType), mustMarshal(&corev1.OwnerReference{}))
	meta = protowire.AppendBytes(protowire.AppendTag(meta, 13, protowire.BytesType), owner)
	var deep []byte
	deep = protowire.AppendBytes(protowire.AppendTag(deep, 1, protowire.BytesType), meta)
	deep = withUnknown(withUnknown(withUnknown(deep, 99), 99), 5)

	tests := []struct {
		name string
		body []byte
		opts kjson.DecodeOptions
		want string
	}{
		{"good", envelope(typeMeta("v1", "ConfigMap"), cm, "", ""), kjson.DecodeOptions{}, ""},
		{"kind and version defaulted", envelope(nil, cm, "", ""), kjson.DecodeOptions{}, ""},
		{"protobuf content type", envelope(typeMeta("v1", "ConfigMap"), cm, "", kubeproto.ContentType), kjson.DecodeOptions{}, ""},
		{"json body", []byte(`{"kind":"ConfigMap"}`), kjson.DecodeOptions{},
			`the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ({"kind":"ConfigMap"})`},
		{"magic only", []byte("k8s\x00"), kjson.DecodeOptions{},
			`the object provided is unrecognized (must be of type ConfigMap): empty body (6b387300)`},
		{"truncated", envelope(typeMeta("v1", "ConfigMap"), cm, "", "")[:10], kjson.DecodeOptions{},
			`the object provided is unrecognized (must be of type ConfigMap): runtime.Unknown: unexpected EOF (6b3873000a0f0a027631)`},
		{"wrong wire type", append([]byte("k8s\x00"), 0x08, 0x01), kjson.DecodeOptions{},
			`the object provided is unrecognized (must be of type ConfigMap): proto: wrong wireType = 0 for field TypeMeta (6b3873000801)`},
		{"content encoding", envelope(typeMeta("v1", "ConfigMap"), cm, "gzip", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: content encoding "gzip" is not supported`},
		{"json content type", envelope(typeMeta("v1", "ConfigMap"), []byte(`{}`), "", "application/json"), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: content type "application/json" of the raw object is not supported`},
		{"wrong kind", envelope(typeMeta("v1", "Namespace"), cm, "", ""), kjson.DecodeOptions{},
			`Namespace in version "v1" cannot be handled as a ConfigMap: converting (v1.Namespace) to (core.ConfigMap): unknown conversion`},
		{"wrong version", envelope(typeMeta("v2", "ConfigMap"), cm, "", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v2" cannot be handled as a ConfigMap: no kind "ConfigMap" is registered for version "v2"`},
		{"bad raw", envelope(typeMeta("v1", "ConfigMap"), []byte{0x0a, 0x05, 0x01}, "", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: proto:`},
		{"unknown fields by path", envelope(typeMeta("v1", "ConfigMap"), deep, "", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "#99", unknown field "#5", unknown field "metadata.#17", unknown field "metadata.ownerReferences[1].#9"`},
		{"unknown fields allowed", envelope(typeMeta("v1", "ConfigMap"), deep, "", ""), kjson.DecodeOptions{AllowUnknown: true}, ""},
		{"bad FieldsV1", envelope(typeMeta("v1", "ConfigMap"), mustMarshal(&corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a",
			ManagedFields: []*corev1.ManagedFieldsEntry{{FieldsV1: &corev1.FieldsV1{Raw: []byte("{")}}}}}), "", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: metadata.managedFields[0].fieldsV1: not JSON`},
		{"bad timestamp", envelope(typeMeta("v1", "ConfigMap"), mustMarshal(&corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a",
			CreationTimestamp: &timestamppb.Timestamp{Seconds: 1 << 40}}}), "", ""), kjson.DecodeOptions{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: metadata.creationTimestamp: timestamp out of range`},
		{"too large", envelope(typeMeta("v1", "ConfigMap"), cm, "", ""), kjson.DecodeOptions{MaxBytes: 10},
			`Request entity too large: limit is 10`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got corev1.ConfigMap
			err := pbMarshaler.Decode(tt.body, &got, tt.opts)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if tt.want == "" && err != nil || tt.want != "" && !strings.HasPrefix(msg, tt.want) {
				t.Fatalf("\ngot  %q\nwant %q", msg, tt.want)
			}
			if err == nil && got.GetMetadata().GetName() != "a" {
				t.Errorf("decoded %v", &got)
			}
			if err != nil {
				var de *kjson.DecodeError
				if !errors.As(err, &de) {
					t.Errorf("error is %T", err)
				}
			}
		})
	}
	if err := pbMarshaler.Decode(envelope(nil, cm, "", ""), &corev1.ConfigMap{}, kjson.DecodeOptions{MaxBytes: 10}); !errors.Is(err, kjson.ErrRequestEntityTooLarge) {
		t.Errorf("too large is not ErrRequestEntityTooLarge: %v", err)
	}
}

func TestDecoderTargets(t *testing.T) {
	body := readHexDump(t, "create-namespace.req.hex")
	var ns *corev1.Namespace
	if err := pbMarshaler.NewDecoder(bytes.NewReader(body)).Decode(&ns); err != nil {
		t.Fatal(err)
	}
	if ns.GetMetadata().GetName() != "pbns" || ns.GetMetadata().GetCreationTimestamp() != nil {
		t.Errorf("**T: %v", ns)
	}
	var none *corev1.Namespace
	if err := pbMarshaler.NewDecoder(bytes.NewReader(nil)).Decode(&none); err != io.EOF || none != nil {
		t.Errorf("empty body: %v %v", err, none)
	}
	var direct corev1.Namespace
	if err := pbMarshaler.Unmarshal(body, &direct); err != nil || direct.GetMetadata().GetName() != "pbns" {
		t.Errorf("Unmarshal: %v %v", err, &direct)
	}
	var s string
	if err := pbMarshaler.Unmarshal(body, &s); err == nil {
		t.Error("decoded protobuf into a string")
	}
	// Per-request options.
	unk := envelope(nil, withUnknown(mustMarshal(&corev1.Namespace{}), 42), "", "")
	if err := pbMarshaler.NewDecoder(bytes.NewReader(unk)).Decode(&ns); err == nil {
		t.Error("unknown field accepted by default")
	}
	r := kjson.BodyWithOptions(io.NopCloser(bytes.NewReader(unk)), kjson.DecodeOptions{AllowUnknown: true})
	if err := pbMarshaler.NewDecoder(r).Decode(&ns); err != nil {
		t.Errorf("BodyWithOptions: %v", err)
	}
	// The default limit applies while reading.
	big := envelope(nil, mustMarshal(&corev1.ConfigMap{Data: map[string]string{"a": strings.Repeat("x", 3<<20)}}), "", "")
	if err := pbMarshaler.NewDecoder(bytes.NewReader(big)).Decode(&direct); !errors.Is(err, kjson.ErrRequestEntityTooLarge) {
		t.Errorf("default limit: %v", err)
	}
}

func TestAnswersAreJSON(t *testing.T) {
	if ct := pbMarshaler.ContentType(nil); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	out, err := pbMarshaler.Marshal(&corev1.Status{Status: "Success"})
	if err != nil || string(out) != `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}`+"\n" {
		t.Errorf("%s %v", out, err)
	}
	if string(pbMarshaler.Delimiter()) != "\n" {
		t.Error("delimiter")
	}
}

// TestEnvelopeRoundTrip: AppendEnvelope writes what ParseEnvelope reads and
// what kubectl sends (the sample's bytes exactly).
func TestEnvelopeRoundTrip(t *testing.T) {
	body := readHexDump(t, "create-namespace.req.hex")
	u, err := kubeproto.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	if u.APIVersion != "v1" || u.Kind != "Namespace" || u.ContentEncoding != "" || u.ContentType != "" {
		t.Errorf("%+v", u)
	}
	if again := kubeproto.AppendEnvelope(nil, u.APIVersion, u.Kind, u.Raw); !bytes.Equal(again, body) {
		t.Errorf("\n%x\n%x", again, body)
	}
}

type fakeNamespaces struct {
	corev1.UnimplementedNamespaceServiceServer
	mu      sync.Mutex
	created *corev1.Namespace
}

func (f *fakeNamespaces) CreateNamespace(_ context.Context, req *corev1.CreateNamespaceRequest) (*corev1.CreateNamespaceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = req.GetNamespace()
	return &corev1.CreateNamespaceResponse{Namespace: req.GetNamespace()}, nil
}

// TestKubectlCreateThroughGrpcGateway posts kubectl's recorded protobuf
// body to the generated REST handler.
func TestKubectlCreateThroughGrpcGateway(t *testing.T) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler),
		runtime.WithMarshalerOption(kubeproto.ContentType, pbMarshaler),
		runtime.WithForwardResponseRewriter(unwrap),
	)
	fake := &fakeNamespaces{}
	if err := corev1.RegisterNamespaceServiceHandlerServer(context.Background(), mux, fake); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/namespaces?fieldManager=kubectl-create", bytes.NewReader(readHexDump(t, "create-namespace.req.hex")))
	req.Header.Set("Content-Type", kubeproto.ContentType)
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 200 || fake.created.GetMetadata().GetName() != "pbns" {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
	if got := rec.Body.String(); got != `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"pbns"},"spec":{},"status":{}}`+"\n" {
		t.Errorf("answer %s", got)
	}

	req = httptest.NewRequest("POST", "/api/v1/namespaces", bytes.NewReader(readHexDump(t, "create-serviceaccount.req.hex")))
	req.Header.Set("Content-Type", kubeproto.ContentType)
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `ServiceAccount in version \"v1\" cannot be handled as a Namespace`) {
		t.Errorf("wrong kind: %d %s", rec.Code, rec.Body.String())
	}
}

// unwrap answers the one object an RPC's response wraps, as the gateway
// does (GetNamespaceResponse{namespace} → the Namespace).
func unwrap(_ context.Context, msg proto.Message) (any, error) {
	m := msg.ProtoReflect()
	if _, kind := jsonMarshaler.Types().KindOf(m.Descriptor()); kind != "" {
		return msg, nil
	}
	var only protoreflect.Message
	n := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		n++
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			only = v.Message()
		}
		return true
	})
	if n == 1 && only != nil && m.Descriptor().Fields().Len() <= 2 {
		return only.Interface(), nil
	}
	return msg, nil
}
