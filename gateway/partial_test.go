package gateway

import (
	"context"
	"encoding/binary"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestPartialRewrite cuts answers down and encodes them in Kubernetes
// protobuf, decoded here with apimachinery's own types.
func TestPartialRewrite(t *testing.T) {
	j := kjson.New(kjson.WithTypes(kjson.KubernetesTypes()))
	p, pb := partialer{j}, partialProtobuf{j}
	meta := func(name string) *corev1.ObjectMeta {
		return &corev1.ObjectMeta{Name: name, Namespace: "ns", Uid: "u-" + name, ResourceVersion: "5", Labels: map[string]string{"a": "b"}}
	}
	cm := &corev1.ConfigMap{Metadata: meta("one"), Data: map[string]string{"k": "v"}}
	tests := map[string]struct {
		as        string
		msg       any
		wantKind  string
		wantNames []string
		wantJSON  string
	}{
		"object from a patch": {as: asPartial, msg: cm, wantKind: "PartialObjectMetadata", wantNames: []string{"one"},
			wantJSON: `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"one","namespace":"ns","uid":"u-one","resourceVersion":"5","labels":{"a":"b"}}}` + "\n"},
		"metadata-only get": {as: asPartial, msg: &corev1.PartialObjectMetadata{Metadata: meta("one")}, wantKind: "PartialObjectMetadata", wantNames: []string{"one"}},
		"metadata-only list": {as: asPartialList, wantKind: "PartialObjectMetadataList", wantNames: []string{"one", "two"},
			msg: &corev1.ListConfigMapsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "9"},
				PartialObjectMetadataItems: []*corev1.PartialObjectMetadata{{Metadata: meta("one")}, {Metadata: meta("two")}}}},
		"deletecollection": {as: asPartialList, wantKind: "PartialObjectMetadataList", wantNames: []string{"one"},
			msg: &corev1.DeleteCollectionConfigMapsResponse{Items: []*corev1.ConfigMap{cm}}},
		"empty list": {as: asPartialList, msg: &corev1.ListConfigMapsResponse{}, wantKind: "PartialObjectMetadataList",
			wantJSON: `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},"items":null}` + "\n"},
		"status": {as: asPartial, msg: &corev1.Status{Status: "Success"}, wantKind: "Status"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), outputKey{}, output{as: tc.as, protobuf: true})
			v, err := p.rewrite(ctx, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantJSON != "" {
				got, err := j.Marshal(v)
				if err != nil || string(got) != tc.wantJSON {
					t.Errorf("JSON %s (%v), want %s", got, err, tc.wantJSON)
				}
			}
			b, err := pb.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			u, err := kubeproto.ParseEnvelope(b)
			if err != nil {
				t.Fatal(err)
			}
			if u.Kind != tc.wantKind || (tc.wantKind != "Status" && u.APIVersion != "meta.k8s.io/v1") {
				t.Fatalf("envelope %s %s, want meta.k8s.io/v1 %s", u.APIVersion, u.Kind, tc.wantKind)
			}
			var names []string
			switch tc.wantKind {
			case "PartialObjectMetadata":
				var got metav1.PartialObjectMetadata
				if err := got.Unmarshal(u.Raw); err != nil {
					t.Fatal(err)
				}
				names = append(names, got.Name)
				if got.Labels["a"] != "b" || string(got.UID) != "u-one" {
					t.Errorf("decoded %+v", got.ObjectMeta)
				}
			case "PartialObjectMetadataList":
				var got metav1.PartialObjectMetadataList
				if err := got.Unmarshal(u.Raw); err != nil {
					t.Fatal(err)
				}
				for _, it := range got.Items {
					names = append(names, it.Name)
				}
			}
			if len(names) != len(tc.wantNames) || (len(names) > 0 && names[len(names)-1] != tc.wantNames[len(tc.wantNames)-1]) {
				t.Errorf("names %v, want %v", names, tc.wantNames)
			}
		})
	}
}

// TestPartialWatchFrame: a watch event is a length-prefixed meta/v1
// WatchEvent whose object is a whole protobuf body.
func TestPartialWatchFrame(t *testing.T) {
	j := kjson.New(kjson.WithTypes(kjson.KubernetesTypes()))
	ctx := context.WithValue(context.Background(), outputKey{}, output{as: asPartial, protobuf: true})
	v, err := partialer{j}.rewrite(ctx, &corev1.WatchConfigMapsResponse{Type: "ADDED",
		PartialObjectMetadata: &corev1.PartialObjectMetadata{Metadata: &corev1.ObjectMeta{Name: "one", ResourceVersion: "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	if js, err := j.Marshal(map[string]any{"result": v}); err != nil || string(js) != `{"type":"ADDED","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"one","resourceVersion":"3"}}}` {
		t.Errorf("JSON event %s (%v)", js, err)
	}
	b, err := partialProtobuf{j}.Marshal(map[string]any{"result": v})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
		t.Fatalf("frame length %d, body %d bytes", n, len(b)-4)
	}
	var ev metav1.WatchEvent
	if err := ev.Unmarshal(b[4:]); err != nil {
		t.Fatal(err)
	}
	u, err := kubeproto.ParseEnvelope(ev.Object.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var obj metav1.PartialObjectMetadata
	if err := obj.Unmarshal(u.Raw); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "ADDED" || u.Kind != "PartialObjectMetadata" || obj.Name != "one" || obj.ResourceVersion != "3" {
		t.Errorf("event %s %s %s@%s", ev.Type, u.Kind, obj.Name, obj.ResourceVersion)
	}
}
