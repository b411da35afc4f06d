package kjson_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	k8scorev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sjsonser "k8s.io/apimachinery/pkg/runtime/serializer/json"

	"github.com/portico-dev/portico/internal/kjson"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// kubeDecodeError is the message kube-apiserver answers a create with: its
// strict JSON serializer's error, worded by transformDecodeError.
func kubeDecodeError(t *testing.T, body string, into runtime.Object, kind string) string {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := k8scorev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ser := k8sjsonser.NewSerializerWithOptions(k8sjsonser.DefaultMetaFactory, scheme, scheme, k8sjsonser.SerializerOptions{Strict: true})
	_, gvk, err := ser.Decode([]byte(body), &schema.GroupVersionKind{Version: "v1", Kind: kind}, into)
	if err == nil {
		return ""
	}
	if gvk != nil && gvk.Kind != "" {
		return fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, kind, err)
	}
	// apiserver's summarizeData
	summary := body
	switch {
	case body == "":
		summary = "<empty>"
	case body[0] == '{':
		if len(body) > 30 {
			summary = body[:30] + " ..."
		}
	default:
		if len(body) > 30 {
			summary = hex.EncodeToString([]byte(body[:30])) + " ..."
		} else {
			summary = hex.EncodeToString([]byte(body))
		}
	}
	return fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v (%s)", kind, err, summary)
}

// schemeSuffix is how apimachinery names its scheme in "no kind is
// registered" errors; we have no scheme to name.
var schemeSuffix = regexp.MustCompile(` in scheme "[^"]*"`)

// TestDecodeErrorsLikeKubeAPIServer feeds the same bodies to our decoder and
// to kube-apiserver's, and compares the messages.
func TestDecodeErrorsLikeKubeAPIServer(t *testing.T) {
	bodies := []string{
		// strict: unknown and duplicate fields, by path
		`{"metadata":{"name":"x","bar":1},"spec":{"foo":1},"data":{"a":"b"}}`,
		`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"X","name":"n","uid":"u"},{"apiVersion":"v1","kind":"X","name":"n","uid":"u","zzz":{"deep":[1]}}]}}`,
		`{"metadata":{"name":"a","name":"b"}}`,
		`{"metadata":{"labels":{"a":"1","a":"2","b":"3"}}}`,
		`{"kind":"ConfigMap","kind":"ConfigMap"}`,
		`{"Metadata":{},"DATA":{}}`,
		`{"metadata":{"name":"x"},"metadata":{"namespace":"y","zz":1},"zz":2,"zz":3}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ok"},"data":{"k":"v"},"binaryData":{"b":"aGk="},"immutable":true}`,
		// type errors
		`{"metadata":{"generation":"5"}}`,
		`{"metadata":{"generation":1.5}}`,
		`{"metadata":{"generation":1e3}}`,
		`{"metadata":{"generation":99999999999999999999}}`,
		`{"metadata":{"deletionGracePeriodSeconds":"30"}}`,
		`{"metadata":"x"}`,
		`{"metadata":[]}`,
		`{"metadata":{"finalizers":"a"}}`,
		`{"metadata":{"finalizers":[1]}}`,
		`{"metadata":{"labels":{"a":1}}}`,
		`{"metadata":{"labels":[]}}`,
		`{"metadata":{"ownerReferences":[{"controller":"yes"}]}}`,
		`{"metadata":{"ownerReferences":{}}}`,
		`{"data":[]}`,
		`{"data":{"a":true}}`,
		`{"immutable":"true"}`,
		`{"immutable":1}`,
		`{"binaryData":{"x":"!!"}}`,
		`{"binaryData":{"x":5}}`,
		`{"metadata":{"creationTimestamp":"yesterday"}}`,
		`{"metadata":{"creationTimestamp":""}}`,
		`{"metadata":{"creationTimestamp":5}}`,
		`{"metadata":{"creationTimestamp":{}}}`,
		`{"metadata":{"generation":"5"},"kind":"ConfigMap","apiVersion":"v1"}`,
		// malformed JSON, anywhere
		`{not json`,
		`{"a":}`,
		`{"metadata":{"name":"x"}`,
		`{"metadata":{"generation":"5"},"x":tru}`,
		`{"data":{"a":"b"}} x`,
		`[]`,
		`"str"`,
		`42`,
		`{"kind":5}`,
		`{"apiVersion":["v1"]}`,
		`{"data":{"a":"\x"}}`,
		"{\"data\":{\"a\":\"\x01\"}}",
		`{"data":{"a":"\ud8"}}`,
		`{"metadata":{"name":"` + strings.Repeat("a", 40) + `"`,
		// kind and apiVersion
		`{"kind":"ConfigMap","apiVersion":"v2"}`,
		`{"kind":"Bogus","apiVersion":"v1"}`,
		`{"apiVersion":"apps/v1"}`,
		// null
		`{"metadata":null,"data":null,"binaryData":null,"immutable":null}`,
		`{"metadata":{"labels":{"a":null},"finalizers":[null],"ownerReferences":[null],"creationTimestamp":null}}`,
		`null`,
		`{"kind":null,"apiVersion":null}`,
		// strings
		`{"data":{"u":"\u00e9\ud83d\ude00\ud800\u2028<>&","raw":"é\u0000"}}`,
	}
	compareDecodeErrors(t, "ConfigMap", func() runtime.Object { return &k8scorev1.ConfigMap{} }, func() proto.Message { return &corev1.ConfigMap{} }, bodies)

	// Inline fields, IntOrString, Quantity, MicroTime, FieldsV1.
	compareDecodeErrors(t, "Pod", func() runtime.Object { return &k8scorev1.Pod{} }, func() proto.Message { return &corev1.Pod{} }, []string{
		`{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"}},{"name":"w","configMap":{"name":"cfg","defaultMode":420}}]}}`,
		`{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"},"bogus":1}]}}`,
		`{"spec":{"volumes":[{"name":"v","hostPath":{"path":"/a"},"hostPath":{"path":"/b"}}]}}`,
		`{"spec":{"volumes":[{"name":"v","hostPath":"x"}]}}`,
		`{"spec":{"volumes":[{"name":"v","configMap":{"name":5}}]}}`,
		`{"spec":{"containers":[{"name":"c","livenessProbe":{"httpGet":{"port":"http"},"initialDelaySeconds":"3"}}]}}`,
		`{"spec":{"containers":[{"name":"c","livenessProbe":{"tcpSocket":{"port":80},"exec":{"command":["x"]}}}]}}`,
		`{"spec":{"containers":[{"name":"c","livenessProbe":{"tcpSocket":{"port":1.5}}}]}}`,
		`{"spec":{"containers":[{"name":"c","livenessProbe":{"tcpSocket":{"port":true}}}]}}`,
		`{"spec":{"containers":[{"name":"c","livenessProbe":{"tcpSocket":{"port":null}}}]}}`,
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m","memory":"1Gi","x":1.5,"y":null}}}]}}`,
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"abc"}}}]}}`,
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1Xi"}}}]}}`,
		`{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":true}}}]}}`,
		`{"spec":{"containers":[{"name":"c","env":[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"k","zz":1}}}]}]}}`,
		`{"metadata":{"managedFields":[{"manager":"m","fieldsV1":{"f:a":{}},"time":"2026-11-27T08:16:17Z"}]}}`,
		`{"metadata":{"managedFields":[{"fieldsV1":[1,"x",null]}]}}`,
		`{"metadata":{"managedFields":[{"fieldsV1":null}]}}`,
	})
	compareDecodeErrors(t, "Event", func() runtime.Object { return &k8scorev1.Event{} }, func() proto.Message { return &corev1.Event{} }, []string{
		`{"eventTime":"2026-11-27T08:16:17.123456Z","series":{"count":1,"lastObservedTime":"2026-11-27T08:16:17.000000+02:00"}}`,
		`{"eventTime":"2026-11-27T08:16:17Z"}`,
		`{"eventTime":5}`,
		`{"eventTime":null}`,
	})
	compareDecodeErrors(t, "Service", func() runtime.Object { return &k8scorev1.Service{} }, func() proto.Message { return &corev1.Service{} }, []string{
		`{"spec":{"ports":[{"port":80,"targetPort":"http"},{"port":443,"targetPort":8443}]}}`,
		`{"spec":{"ports":[{"port":"80"}]}}`,
		`{"spec":{"ports":[{"port":80,"targetPort":{}}]}}`,
		`{"spec":{"ports":[{"port":80,"targetPort":99999999999}]}}`,
	})
}

// compareDecodeErrors decodes each body with ours and kube-apiserver's
// decoders and compares the messages.
func compareDecodeErrors(t *testing.T, kind string, k8s func() runtime.Object, ours func() proto.Message, bodies []string) {
	m := newMarshaler()
	for _, body := range bodies {
		t.Run(kind+" "+body, func(t *testing.T) {
			want := schemeSuffix.ReplaceAllString(kubeDecodeError(t, body, k8s(), kind), "")
			var got string
			if err := m.Unmarshal([]byte(body), ours()); err != nil {
				got = err.Error()
			}
			if got != want {
				t.Errorf("\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		target proto.Message
		want   string // "" for success
	}{
		{"namespace into configmap", `{"kind":"Namespace","apiVersion":"v1"}`, &corev1.ConfigMap{},
			`Namespace in version "v1" cannot be handled as a ConfigMap: converting (v1.Namespace) to (core.ConfigMap): unknown conversion`},
		{"configmap list into configmap", `{"kind":"ConfigMapList","apiVersion":"v1","items":[]}`, &corev1.ConfigMap{},
			`ConfigMapList in version "v1" cannot be handled as a ConfigMap: converting (v1.ConfigMapList) to (core.ConfigMap): unknown conversion`},
		{"kind mismatch wins over type errors", `{"kind":"Namespace","metadata":{"generation":"1"}}`, &corev1.ConfigMap{},
			`Namespace in version "v1" cannot be handled as a ConfigMap: converting (v1.Namespace) to (core.ConfigMap): unknown conversion`},
		{"delete options as meta.k8s.io/v1", `{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0}`, &corev1.DeleteOptions{}, ""},
		{"delete options as v1", `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}`, &corev1.DeleteOptions{}, ""},
		{"delete options unknown", `{"orphan":true}`, &corev1.DeleteOptions{},
			`DeleteOptions in version "v1" cannot be handled as a DeleteOptions: strict decoding error: unknown field "orphan"`},
		{"unregistered target keeps raw errors", `{"name":1}`, &corev1.GetNamespaceRequest{},
			`json: cannot unmarshal number into Go struct field GetNamespaceRequest.name of type string`},
		{"unregistered target accepts kind", `{"kind":"X","apiVersion":"y","name":"n"}`, &corev1.GetNamespaceRequest{}, ""},
		{"unregistered target unknown field", `{"nme":"n"}`, &corev1.GetNamespaceRequest{},
			`strict decoding error: unknown field "nme"`},
		{"field named kind is a field", `{"kind":"Deployment","apiVersion":"apps/v1"}`, &corev1.OwnerReference{}, ""},
		{"a non-string kind fails reading the kind, as in kube-apiserver", `{"kind":5}`, &corev1.OwnerReference{},
			`the object provided is unrecognized (must be of type OwnerReference): couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .kind of type string ({"kind":5})`},
		{"too deep", `{"x":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`, &corev1.ConfigMap{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: json: nesting exceeds the limit of 100 levels`},
		{"deep unknown", `{"x":` + strings.Repeat(`{"a":`, 150) + `1` + strings.Repeat(`}`, 150) + `}`, &corev1.ConfigMap{},
			`ConfigMap in version "v1" cannot be handled as a ConfigMap: json: nesting exceeds the limit of 100 levels`},
		{"list items strict paths", `{"items":[{"metadata":{"x":1}},{"y":2}],"metadata":{"z":3}}`, &corev1.ListConfigMapsResponse{},
			`ConfigMapList in version "v1" cannot be handled as a ConfigMapList: strict decoding error: unknown field "items[0].metadata.x", unknown field "items[1].y", unknown field "metadata.z"`},
		{"watch event", `{"type":"ADDED","object":{"metadata":{"name":"a"}}}`, &corev1.WatchConfigMapsResponse{}, ""},
	}
	m := newMarshaler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Unmarshal([]byte(tt.body), tt.target)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("\ngot  %q\nwant %q", got, tt.want)
			}
			if err != nil {
				var de *kjson.DecodeError
				if !errors.As(err, &de) {
					t.Errorf("error is %T, not *DecodeError", err)
				}
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	m := newMarshaler()
	var cm corev1.ConfigMap
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n","generation":9223372036854775807,
		"deletionGracePeriodSeconds":0,"creationTimestamp":"2026-11-27T08:16:17.999+02:00","labels":{"a":null},
		"ownerReferences":[null,{"controller":false}],"finalizers":["x",null]},
		"immutable":false,"data":{"k":"\u00e9\ud83d\ude00"},"binaryData":{"b":"AAEC/w==","e":""}}`
	if err := m.Unmarshal([]byte(body), &cm); err != nil {
		t.Fatal(err)
	}
	want := &corev1.ConfigMap{
		Metadata: &corev1.ObjectMeta{
			Name: "n", Generation: 1<<63 - 1, DeletionGracePeriodSeconds: proto.Int64(0),
			CreationTimestamp: ts("2026-11-27T06:16:17Z"), // seconds precision, as meta/v1 Time
			Labels:            map[string]string{"a": ""},
			OwnerReferences:   []*corev1.OwnerReference{{}, {Controller: proto.Bool(false)}},
			Finalizers:        []string{"x", ""},
		},
		Immutable:  proto.Bool(false),
		Data:       map[string]string{"k": "é😀"},
		BinaryData: map[string][]byte{"b": {0, 1, 2, 0xff}, "e": {}},
	}
	if !proto.Equal(&cm, want) {
		t.Errorf("got  %v\nwant %v", &cm, want)
	}

	// null unsets, and the target is reset first.
	if err := m.Unmarshal([]byte(`{"metadata":null,"immutable":null,"data":null}`), &cm); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&cm, &corev1.ConfigMap{}) {
		t.Errorf("null did not unset: %v", &cm)
	}
	// A later duplicate list replaces, a later duplicate map merges (as
	// encoding/json), and both are reported when allowed.
	var dups []string
	opts := kjson.DecodeOptions{AllowUnknown: true, OnDuplicate: func(p string) { dups = append(dups, p) }}
	if err := coreTypes.Decode([]byte(`{"metadata":{"finalizers":["a","b"],"finalizers":["c"],"labels":{"x":"1"},"labels":{"y":"2"}}}`), &cm, opts); err != nil {
		t.Fatal(err)
	}
	if got := cm.Metadata.Finalizers; len(got) != 1 || got[0] != "c" {
		t.Errorf("finalizers %v", got)
	}
	if len(cm.Metadata.Labels) != 2 {
		t.Errorf("labels %v", cm.Metadata.Labels)
	}
	if fmt.Sprint(dups) != "[metadata.finalizers metadata.labels]" {
		t.Errorf("duplicates reported: %v", dups)
	}
}

func TestDecodeOptions(t *testing.T) {
	body := []byte(`{"metadata":{"name":"a","foo":1,"name":"b"},"bar":{"x":1}}`)
	var unknown, dup []string
	warn := kjson.DecodeOptions{
		AllowUnknown: true,
		OnUnknown:    func(p string) { unknown = append(unknown, p) },
		OnDuplicate:  func(p string) { dup = append(dup, p) },
	}
	var cm corev1.ConfigMap
	if err := coreTypes.Decode(body, &cm, warn); err != nil {
		t.Fatalf("warn: %v", err)
	}
	if cm.GetMetadata().GetName() != "b" {
		t.Errorf("name %q", cm.GetMetadata().GetName())
	}
	if fmt.Sprint(unknown) != "[metadata.foo bar]" || fmt.Sprint(dup) != "[metadata.name]" {
		t.Errorf("unknown %v duplicate %v", unknown, dup)
	}
	if err := coreTypes.Decode(body, &cm, kjson.DecodeOptions{AllowUnknown: true}); err != nil {
		t.Fatalf("ignore: %v", err)
	}
	err := coreTypes.Decode(body, &cm, kjson.DecodeOptions{})
	var de *kjson.DecodeError
	if !errors.As(err, &de) || fmt.Sprint(de.Strict) != `[unknown field "metadata.foo" duplicate field "metadata.name" unknown field "bar"]` {
		t.Errorf("strict: %v (%#v)", err, de)
	}

	// Size limit.
	big := []byte(`{"data":{"a":"` + strings.Repeat("x", 100) + `"}}`)
	err = coreTypes.Decode(big, &cm, kjson.DecodeOptions{MaxBytes: 50})
	if !errors.Is(err, kjson.ErrRequestEntityTooLarge) || err.Error() != "Request entity too large: limit is 50" {
		t.Errorf("size limit: %v", err)
	}
	if err := coreTypes.Decode(big, &cm, kjson.DecodeOptions{MaxBytes: -1}); err != nil {
		t.Errorf("no limit: %v", err)
	}
	// The default limit is 3 MiB, checked while reading.
	huge := strings.NewReader(`{"data":{"a":"` + strings.Repeat("x", 3<<20) + `"}}`)
	err = newMarshaler().NewDecoder(huge).Decode(&cm)
	if !errors.Is(err, kjson.ErrRequestEntityTooLarge) || err.Error() != "Request entity too large: limit is 3145728" {
		t.Errorf("default size limit: %v", err)
	}
	// Depth limit.
	deep := []byte(`{"x":` + strings.Repeat(`[`, 20) + strings.Repeat(`]`, 20) + `}`)
	if err := coreTypes.Decode(deep, &cm, kjson.DecodeOptions{MaxDepth: 10}); err == nil || !strings.Contains(err.Error(), "limit of 10 levels") {
		t.Errorf("depth: %v", err)
	}
}

// TestDecoderTargets covers what grpc-gateway hands a decoder.
func TestDecoderTargets(t *testing.T) {
	m := newMarshaler()

	// **T, nil: allocated.
	var ns *corev1.Namespace
	if err := m.NewDecoder(strings.NewReader(`{"metadata":{"name":"a"}}`)).Decode(&ns); err != nil {
		t.Fatal(err)
	}
	if ns.GetMetadata().GetName() != "a" {
		t.Errorf("**T: %v", ns)
	}
	// **T, set: reused.
	prev := ns
	if err := m.NewDecoder(strings.NewReader(`{"metadata":{"name":"b"}}`)).Decode(&ns); err != nil {
		t.Fatal(err)
	}
	if ns != prev || ns.GetMetadata().GetName() != "b" {
		t.Errorf("**T reuse: %v", ns)
	}
	// An empty body is io.EOF and leaves a nil target nil.
	var none *corev1.DeleteOptions
	for _, body := range []string{"", "  \n"} {
		if err := m.NewDecoder(strings.NewReader(body)).Decode(&none); err != io.EOF {
			t.Errorf("empty body %q: %v", body, err)
		}
	}
	if none != nil {
		t.Errorf("empty body allocated %v", none)
	}
	// A second Decode is io.EOF.
	dec := m.NewDecoder(strings.NewReader(`{}`))
	var cm corev1.ConfigMap
	if err := dec.Decode(&cm); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&cm); err != io.EOF {
		t.Errorf("second decode: %v", err)
	}
	// A truncated body is not io.EOF.
	if err := m.NewDecoder(strings.NewReader(`{"metadata":`)).Decode(&ns); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("truncated body: %v", err)
	}
	// Non-message targets fall back to strict encoding/json.
	var s []string
	if err := m.Unmarshal([]byte(`["a"]`), &s); err != nil || len(s) != 1 {
		t.Errorf("[]string: %v %v", s, err)
	}
	var st struct{ A int }
	if err := m.Unmarshal([]byte(`{"B":1}`), &st); err == nil {
		t.Error("unknown field in a Go struct accepted")
	}
	// Per-request options ride on the body.
	body := kjson.BodyWithOptions(io.NopCloser(strings.NewReader(`{"foo":1}`)), kjson.DecodeOptions{AllowUnknown: true})
	if err := m.NewDecoder(body).Decode(&cm); err != nil {
		t.Errorf("BodyWithOptions: %v", err)
	}
	if err := m.NewDecoder(strings.NewReader(`{"foo":1}`)).Decode(&cm); err == nil {
		t.Error("strict by default")
	}
	// http.MaxBytesReader's error is the size error too.
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"data":{}}`))
	rec := httptest.NewRecorder()
	req.Body = http.MaxBytesReader(rec, req.Body, 4)
	if err := m.NewDecoder(req.Body).Decode(&cm); !errors.Is(err, kjson.ErrRequestEntityTooLarge) {
		t.Errorf("MaxBytesReader: %v", err)
	}
}

func TestNewTypes(t *testing.T) {
	for _, tc := range []struct {
		msg  proto.Message
		typ  kjson.Type
		want string
	}{
		{&corev1.Namespace{}, kjson.Type{Kind: "Namespace"}, "Kind and APIVersion must be set together"},
		{&corev1.Namespace{}, kjson.Type{AlwaysEmit: []string{"spek"}}, `AlwaysEmit names no field "spek"`},
		{&corev1.Namespace{}, kjson.Type{AlwaysEmit: []string{"metadata"}, Objects: []string{"spec", "x"}}, `Objects names no message field "x"`},
		{&corev1.ConfigMap{}, kjson.Type{Objects: []string{"data"}}, `Objects names no message field "data"`},
		{&corev1.Namespace{}, kjson.Type{APIVersion: "v1", Kind: "Namespace"}, ""},
		{&corev1.ConfigMap{}, kjson.Type{Encoding: "Bogus"}, `unknown Encoding "Bogus"`},
		{&corev1.ConfigMap{}, kjson.Type{Encoding: kjson.EncodingQuantity}, "does not have the fields Encoding Quantity needs"},
		{&corev1.ConfigMap{}, kjson.Type{Inline: []string{"metadata"}, EmitNull: []string{"data"}}, ""},
		{&corev1.Namespace{}, kjson.Type{Inline: []string{"nope"}}, `Inline names no singular message field "nope"`},
	} {
		_, err := kjson.NewTypes(kjson.Entry{Msg: tc.msg, Type: tc.typ})
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewTypes(%v): %v, want %q", tc.typ, err, tc.want)
		}
	}
	base, err := kjson.NewTypes(kjson.Entry{Msg: &corev1.Namespace{}, Type: kjson.Type{APIVersion: "v1", Kind: "Namespace"}})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := base.Lookup(protoreflect.FullName("portico.core.v1.Namespace"))
	if !ok || typ.Kind != "Namespace" {
		t.Errorf("Lookup: %v %v", typ, ok)
	}
	// With makes a new registry and leaves the old one as it was.
	more, err := base.With(kjson.Entry{Msg: &corev1.ConfigMap{}, Type: kjson.Type{APIVersion: "v1", Kind: "ConfigMap"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := more.Lookup("portico.core.v1.ConfigMap"); !ok {
		t.Error("With: the new entry is missing")
	}
	if _, ok := more.Lookup("portico.core.v1.Namespace"); !ok {
		t.Error("With: the old entry is missing")
	}
	if _, ok := base.Lookup("portico.core.v1.ConfigMap"); ok {
		t.Error("With changed the registry it extended")
	}
}

// TestQuantityCanonical: a quantity is kept as kube-apiserver writes it
// back, in canonical form.
func TestQuantityCanonical(t *testing.T) {
	m := newMarshaler()
	for _, q := range []string{"1000m", "0.5Gi", "100m", "1e3", "1.5", " 2 ", "+3k", "0"} {
		t.Run(q, func(t *testing.T) {
			body := `{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"` + q + `"}}}]}}`
			var pod corev1.Pod
			if err := m.Unmarshal([]byte(body), &pod); err != nil {
				t.Fatal(err)
			}
			var k8s k8scorev1.Pod
			if err := json.Unmarshal([]byte(body), &k8s); err != nil {
				t.Fatal(err)
			}
			want := k8s.Spec.Containers[0].Resources.Requests.Cpu().String()
			if got := pod.GetSpec().GetContainers()[0].GetResources().GetRequests()["cpu"].GetString_(); got != want {
				t.Fatalf("cpu %q kept as %q, kube-apiserver keeps %q", q, got, want)
			}
		})
	}
}

// TestDecodeManagedFieldsReset: managedFields [] is kube-apiserver's
// request to reset them; proto3 has no empty list apart from none, so it
// decodes as [{}], the other form of that request. Other lists keep [].
func TestDecodeManagedFieldsReset(t *testing.T) {
	tests := map[string]struct {
		body string
		want []*corev1.ManagedFieldsEntry
	}{
		"empty list resets":        {`{"metadata":{"managedFields":[]}}`, []*corev1.ManagedFieldsEntry{{}}},
		"[{}] stays":               {`{"metadata":{"managedFields":[{}]}}`, []*corev1.ManagedFieldsEntry{{}}},
		"null is none":             {`{"metadata":{"managedFields":null}}`, nil},
		"absent is none":           {`{"metadata":{}}`, nil},
		"entries stay as they are": {`{"metadata":{"managedFields":[{"manager":"m"}]}}`, []*corev1.ManagedFieldsEntry{{Manager: "m"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var cm corev1.ConfigMap
			if err := newMarshaler().Unmarshal([]byte(tc.body), &cm); err != nil {
				t.Fatal(err)
			}
			got := cm.GetMetadata().GetManagedFields()
			if len(got) != len(tc.want) {
				t.Fatalf("managedFields = %v, want %v", got, tc.want)
			}
			for i := range got {
				if !proto.Equal(got[i], tc.want[i]) {
					t.Fatalf("managedFields = %v, want %v", got, tc.want)
				}
			}
		})
	}
	var cm corev1.ConfigMap
	if err := newMarshaler().Unmarshal([]byte(`{"metadata":{"finalizers":[]}}`), &cm); err != nil || len(cm.Metadata.Finalizers) != 0 {
		t.Fatalf("finalizers %v, %v", cm.Metadata.Finalizers, err)
	}
}
