package kjson_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// benchConfigMap is a typical config map: a dozen labels and annotations,
// an owner, twenty data keys and a binary entry (about 2.5 KB of JSON).
func benchConfigMap() *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		Metadata: &corev1.ObjectMeta{
			Name: "app-config", Namespace: "production", Uid: "cd291769-c14d-4509-9532-e55f0cba8d2b",
			ResourceVersion: "1184467", Generation: 12, CreationTimestamp: ts("2026-11-27T08:16:17Z"),
			Labels:      map[string]string{},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app-config"}}`},
			OwnerReferences: []*corev1.OwnerReference{{
				ApiVersion: "apps/v1", Kind: "Deployment", Name: "app", Uid: "0b0c4f55-9d1e-4a66-9a57-39f0c8d0c111",
				Controller: proto.Bool(true), BlockOwnerDeletion: proto.Bool(true),
			}},
			Finalizers: []string{"example.com/cleanup"},
		},
		Data:       map[string]string{},
		BinaryData: map[string][]byte{"logo.png": make([]byte, 256)},
	}
	for i := 0; i < 6; i++ {
		cm.Metadata.Labels[fmt.Sprintf("app.kubernetes.io/label-%d", i)] = fmt.Sprintf("value-%d", i)
		cm.Metadata.Annotations[fmt.Sprintf("example.com/annotation-%d", i)] = fmt.Sprintf("some annotation text %d", i)
	}
	for i := 0; i < 20; i++ {
		cm.Data[fmt.Sprintf("key-%02d", i)] = fmt.Sprintf("setting.%d=value with some length & <html> %d\n", i, i*i)
	}
	return cm
}

// BenchmarkMarshalConfigMap compares kjson with protojson on one config
// map (what one GET answers).
func BenchmarkMarshalConfigMap(b *testing.B) {
	cm := benchConfigMap()
	m := newMarshaler()
	out, _ := m.Marshal(cm)
	b.Run("kjson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(out)))
		for b.Loop() {
			if _, err := m.Marshal(cm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(out)))
		for b.Loop() {
			if _, err := protojson.Marshal(cm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMarshalConfigMapList is one LIST of 500 of them (about
// 1.3 MB of JSON): the size where the encoding buffer matters.
func BenchmarkMarshalConfigMapList(b *testing.B) {
	list := &corev1.ListConfigMapsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "1184467"}}
	for range 500 {
		list.Items = append(list.Items, benchConfigMap())
	}
	m := newMarshaler()
	out, _ := m.Marshal(list)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := m.Marshal(list); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalConfigMap compares decoding the same body.
func BenchmarkUnmarshalConfigMap(b *testing.B) {
	cm := benchConfigMap()
	m := newMarshaler()
	body, _ := m.Marshal(cm)
	pj, _ := protojson.Marshal(cm)
	b.Run("kjson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		var out corev1.ConfigMap
		for b.Loop() {
			if err := m.Unmarshal(body, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pj)))
		var out corev1.ConfigMap
		for b.Loop() {
			if err := protojson.Unmarshal(pj, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
