package kjson_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	k8scorev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	k8sjson "sigs.k8s.io/json"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// gogoMarshaler is what k8s.io/api's generated types have.
type gogoMarshaler interface {
	Marshal() ([]byte, error)
}

func ptr[T any](v T) *T { return &v }

var (
	t1 = metav1.NewTime(time.Date(2026, 11, 27, 8, 16, 17, 0, time.UTC))
	t2 = metav1.NewTime(time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC))
)

func fullMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:                       "cfg",
		GenerateName:               "cfg-",
		Namespace:                  "default",
		SelfLink:                   "/api/v1/namespaces/default/configmaps/cfg",
		UID:                        "cd291769-c14d-4509-9532-e55f0cba8d2b",
		ResourceVersion:            "118",
		Generation:                 1<<62 + 7,
		CreationTimestamp:          t1,
		DeletionTimestamp:          &t2,
		DeletionGracePeriodSeconds: ptr(int64(0)),
		Labels:                     map[string]string{"app": "sample", "a/b": "c", "": "x"},
		Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"ConfigMap"}` + "\n",
			"html":    "<script>&amp;</script>",
			"unicode": "héllo wörld \u2028 \u2029 \x7f",
			"ctl":     "\x00\x01\t\b\f",
		},
		OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "Deployment", Name: "d", UID: "u-1", Controller: ptr(true), BlockOwnerDeletion: ptr(false)},
			{},
		},
		Finalizers: []string{"kubernetes.io/pv-protection", "b"},
	}
}

// k8sObject is one Kubernetes object and the portico message it maps to.
type k8sObject struct {
	name string
	k8s  runtime.Object
	ours proto.Message
}

func k8sObjects() []k8sObject {
	fullCM := &k8scorev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: fullMeta(),
		Immutable:  ptr(false),
		Data:       map[string]string{"k": "v", "html": "<a href=x>&</a>", "empty": "", "multi": "line1\nline2\n"},
		BinaryData: map[string][]byte{"bin": {0, 1, 2, 0xfe, 0xff}, "empty": {}},
	}
	plainMeta := fullMeta()
	plainMeta.OwnerReferences = nil
	plainCM := &k8scorev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: plainMeta,
		Data:       map[string]string{"k": "v"},
		BinaryData: map[string][]byte{"b": []byte("hello")},
	}
	fullNS := &k8scorev1.Namespace{
		TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: plainMeta,
		Spec:       k8scorev1.NamespaceSpec{Finalizers: []k8scorev1.FinalizerName{"kubernetes"}},
		Status: k8scorev1.NamespaceStatus{Phase: "Terminating", Conditions: []k8scorev1.NamespaceCondition{
			{Type: "NamespaceDeletionDiscoveryFailure", Status: "True", LastTransitionTime: t2, Reason: "DiscoveryFailed", Message: "m"},
			{Type: "NamespaceContentRemaining", Status: "False"},
		}},
	}
	nsItem := fullNS.DeepCopy()
	nsItem.TypeMeta = metav1.TypeMeta{}
	cmItem := plainCM.DeepCopy()
	cmItem.TypeMeta = metav1.TypeMeta{}
	return []k8sObject{
		{name: "configmap full", k8s: fullCM, ours: &corev1.ConfigMap{}},
		{name: "configmap", k8s: plainCM, ours: &corev1.ConfigMap{}},
		{name: "configmap minimal", k8s: &k8scorev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "x"}}, ours: &corev1.ConfigMap{}},
		{name: "configmap immutable", k8s: &k8scorev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, Immutable: ptr(true), Data: map[string]string{"a": "b"}}, ours: &corev1.ConfigMap{}},
		{name: "namespace", k8s: fullNS, ours: &corev1.Namespace{}},
		{name: "namespace minimal", k8s: &k8scorev1.Namespace{TypeMeta: metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "pbns"}}, ours: &corev1.Namespace{}},
		{name: "namespace list", k8s: &k8scorev1.NamespaceList{
			TypeMeta: metav1.TypeMeta{Kind: "NamespaceList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "9", Continue: "tok", RemainingItemCount: ptr(int64(0))},
			Items:    []k8scorev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, *nsItem},
		}, ours: &corev1.ListNamespacesResponse{}},
		{name: "configmap list empty", k8s: &k8scorev1.ConfigMapList{TypeMeta: metav1.TypeMeta{Kind: "ConfigMapList", APIVersion: "v1"}, Items: []k8scorev1.ConfigMap{}}, ours: &corev1.ListConfigMapsResponse{}},
		{name: "configmap list", k8s: &k8scorev1.ConfigMapList{
			TypeMeta: metav1.TypeMeta{Kind: "ConfigMapList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "10"},
			Items:    []k8scorev1.ConfigMap{*cmItem, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}},
		}, ours: &corev1.ListConfigMapsResponse{}},
		{name: "status", k8s: &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   "Failure", Message: "m", Reason: "Invalid", Code: 422,
			Details: &metav1.StatusDetails{Name: "n", Group: "apps", Kind: "Deployment", RetryAfterSeconds: 3,
				Causes: []metav1.StatusCause{{Type: "FieldValueInvalid", Message: "bad", Field: "spec.x"}, {}}},
		}, ours: &corev1.Status{}},
		{name: "status with uid", k8s: &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1"},
			Status:   "Success", Details: &metav1.StatusDetails{Name: "n", Kind: "configmaps", UID: "u", Causes: []metav1.StatusCause{{Message: "c"}}},
		}, ours: &corev1.Status{}},
		{name: "delete options", k8s: &metav1.DeleteOptions{
			TypeMeta:           metav1.TypeMeta{Kind: "DeleteOptions", APIVersion: "v1"},
			GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: ptr(k8stypes.UID("u")), ResourceVersion: ptr("")},
			PropagationPolicy: ptr(metav1.DeletePropagationForeground), DryRun: []string{"All"},
		}, ours: &corev1.DeleteOptions{}},
	}
}

// kubeJSON encodes as kube-apiserver's JSON serializer does.
func kubeJSON(t *testing.T, obj any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(obj); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func normalized(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// TestCompatWithKubernetesTypes checks, for objects of k8s.io/api:
// (a) their protobuf (gogo Marshal) decodes into our messages with nothing
// unknown, and our JSON of it equals encoding/json's of the Kubernetes
// object, byte for byte;
// (b) our JSON decodes strictly (sigs.k8s.io/json, as kube-apiserver) into
// the Kubernetes type, giving the same object.
func TestCompatWithKubernetesTypes(t *testing.T) {
	checkCompat(t, k8sObjects())
}

func checkCompat(t *testing.T, objects []k8sObject) {
	m := newMarshaler()
	for _, obj := range objects {
		t.Run(obj.name, func(t *testing.T) {
			pb, err := obj.k8s.(gogoMarshaler).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			ours := proto.Clone(obj.ours)
			if err := proto.Unmarshal(pb, ours); err != nil {
				t.Fatalf("decode k8s protobuf: %v", err)
			}
			if u := unknownFields(ours.ProtoReflect()); len(u) > 0 {
				t.Errorf("fields the .proto lacks: %v", u)
			}
			got, err := m.Marshal(ours)
			if err != nil {
				t.Fatal(err)
			}
			want := kubeJSON(t, obj.k8s)
			if !reflect.DeepEqual(normalized(t, got), normalized(t, want)) {
				t.Fatalf("(a) JSON differs\nours %s\nk8s  %s", got, want)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("(a) same content, different bytes (field order?)\nours %s\nk8s  %s", got, want)
			}

			// (b) our output, read back by kube-apiserver's strict decoder.
			back := reflect.New(reflect.TypeOf(obj.k8s).Elem()).Interface()
			strictErrs, err := k8sjson.UnmarshalStrict(got, back)
			if err != nil {
				t.Fatalf("(b) kube decode: %v", err)
			}
			if len(strictErrs) > 0 {
				t.Fatalf("(b) strict errors: %v", strictErrs)
			}
			if !equality.Semantic.DeepEqual(back, obj.k8s) {
				t.Errorf("(b) decoded object differs\n got %#v\nwant %#v", back, obj.k8s)
			}

			// And our decoder reads encoding/json's output to the same message.
			again := obj.ours.ProtoReflect().New().Interface()
			if err := m.Unmarshal(want, again); err != nil {
				t.Fatalf("decode k8s JSON: %v", err)
			}
			if !proto.Equal(again, normalizeTimes(ours)) {
				t.Errorf("decoding k8s JSON gave\n%v\nwant\n%v", again, ours)
			}
		})
	}
}

// normalizeTimes clears zero Timestamps (an unset meta/v1 Time in gogo's
// protobuf), as JSON has no such value.
func normalizeTimes(m proto.Message) proto.Message {
	c := proto.Clone(m)
	var walk func(protoreflect.Message)
	walk = func(m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap():
			case fd.Message() != nil:
				if fd.Message().FullName() == "google.protobuf.Timestamp" {
					sub := v.Message()
					if sub.Get(sub.Descriptor().Fields().ByNumber(1)).Int() == 0 && sub.Get(sub.Descriptor().Fields().ByNumber(2)).Int() == 0 {
						m.Clear(fd)
					}
					return true
				}
				walk(v.Message())
			}
			return true
		})
	}
	walk(c.ProtoReflect())
	return c
}

func unknownFields(m protoreflect.Message) []string {
	var out []string
	if len(m.GetUnknown()) > 0 {
		out = append(out, string(m.Descriptor().FullName()))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, unknownFields(v.List().Get(i).Message())...)
			}
		case fd.IsMap():
		case fd.Message() != nil:
			out = append(out, unknownFields(v.Message())...)
		}
		return true
	})
	return out
}

// TestWatchEventCompat compares a watch event with meta/v1 WatchEvent's
// JSON.
func TestWatchEventCompat(t *testing.T) {
	m := newMarshaler()
	cm := &k8scorev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "w", ResourceVersion: "5", CreationTimestamp: t1}, Data: map[string]string{"a": "b"}}
	raw := kubeJSON(t, cm)
	want, err := json.Marshal(&metav1.WatchEvent{Type: "MODIFIED", Object: runtime.RawExtension{Raw: bytes.TrimSpace(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &corev1.WatchConfigMapsResponse{Type: "MODIFIED", Object: &corev1.ConfigMap{
		Metadata: &corev1.ObjectMeta{Name: "w", ResourceVersion: "5", CreationTimestamp: ts("2026-11-27T08:16:17Z")},
		Data:     map[string]string{"a": "b"},
	}}
	got, err := m.Marshal(map[string]any{"result": ev})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.HasSuffix(string(got), "\n") {
		t.Error("a stream chunk must not end in a newline: the delimiter follows")
	}
}
