package kjson_test

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestPartialObjectMetadata checks the metadata-only kinds against
// encoding/json of apimachinery's types, as kube-apiserver fills them
// (each list item with its kind and apiVersion).
func TestPartialObjectMetadata(t *testing.T) {
	typeMeta := metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"}
	k8sItem := metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: "a", Namespace: "ns", UID: types.UID("u1"), ResourceVersion: "7", Labels: map[string]string{"x": "y"},
		CreationTimestamp: metav1.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}
	item := &corev1.PartialObjectMetadata{Metadata: &corev1.ObjectMeta{
		Name: "a", Namespace: "ns", Uid: "u1", ResourceVersion: "7", Labels: map[string]string{"x": "y"},
		CreationTimestamp: ts("2026-01-02T03:04:05Z"),
	}}
	tests := map[string]struct {
		msg  proto.Message
		want any
	}{
		"object": {msg: item, want: k8sItem},
		"list": {
			msg: &corev1.PartialObjectMetadataList{Metadata: &corev1.ListMeta{ResourceVersion: "9"}, Items: []*corev1.PartialObjectMetadata{item}},
			want: metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"},
				ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []metav1.PartialObjectMetadata{k8sItem}},
		},
		"empty list": {
			msg:  &corev1.PartialObjectMetadataList{},
			want: metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"}},
		},
	}
	m := newMarshaler()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := m.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want)+"\n" {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}
