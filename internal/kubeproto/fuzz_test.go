package kubeproto_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// FuzzEnvelope: any body, into each target, must not panic; what is
// accepted re-encodes (our protobuf in our envelope) to the same message,
// and its JSON decodes back with kjson.
func FuzzEnvelope(f *testing.F) {
	hex, _ := filepath.Glob("testdata/*.hex")
	pb, _ := filepath.Glob("testdata/*.pb")
	for _, name := range append(hex, pb...) {
		f.Add(readSample(f, filepath.Base(name)))
	}
	cm := mustMarshal(&corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"}}, Data: map[string]string{"x": "y"}, Immutable: proto.Bool(true)})
	f.Add(envelope(typeMeta("v1", "ConfigMap"), cm, "", ""))
	f.Add(envelope(nil, withUnknown(cm, 77), "", kubeproto.ContentType))
	f.Add(envelope(typeMeta("v1", "ConfigMap"), cm, "gzip", ""))
	for _, ts := range []*timestamppb.Timestamp{{Seconds: 0, Nanos: 5}, {Seconds: 1e12}, {Seconds: -1}, {Seconds: 1, Nanos: -1}} {
		f.Add(envelope(nil, mustMarshal(&corev1.Namespace{Metadata: &corev1.ObjectMeta{CreationTimestamp: ts}}), "", ""))
	}
	f.Add([]byte("k8s\x00"))
	f.Add([]byte("k8s\x00\x0a\xff\xff\xff\xff\x0f"))
	f.Add([]byte(`{"kind":"ConfigMap"}`))
	f.Add([]byte{})

	targets := []func() proto.Message{
		func() proto.Message { return &corev1.ConfigMap{} },
		func() proto.Message { return &corev1.Namespace{} },
		func() proto.Message { return &corev1.ListNamespacesResponse{} },
		func() proto.Message { return &corev1.DeleteOptions{} },
		func() proto.Message { return &corev1.Pod{} },
		func() proto.Message { return &corev1.Event{} },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newTarget := range targets {
			for _, opts := range []kjson.DecodeOptions{{}, {AllowUnknown: true}} {
				msg := newTarget()
				if err := pbMarshaler.Decode(data, msg, opts); err != nil {
					continue
				}
				apiVersion, kind := jsonMarshaler.Types().KindOf(msg.ProtoReflect().Descriptor())
				raw, err := proto.Marshal(msg)
				if err != nil {
					t.Fatalf("marshal %T: %v", msg, err)
				}
				again := newTarget()
				if err := pbMarshaler.Decode(kubeproto.AppendEnvelope(nil, apiVersion, kind, raw), again, kjson.DecodeOptions{AllowUnknown: true}); err != nil {
					t.Fatalf("own envelope: %v", err)
				}
				if !proto.Equal(msg, again) {
					t.Fatalf("round trip changed %v to %v", msg, again)
				}
				out, err := jsonMarshaler.Marshal(msg)
				if err != nil {
					t.Fatalf("JSON of %v: %v", msg, err)
				}
				fromJSON := newTarget()
				if err := jsonMarshaler.Unmarshal(out, fromJSON); err != nil {
					t.Fatalf("JSON %s does not decode: %v", out, err)
				}
				out2, err := jsonMarshaler.Marshal(fromJSON)
				if err != nil || !bytes.Equal(out, out2) {
					t.Fatalf("JSON unstable:\n%s\n%s", out, out2)
				}
			}
		}
	})
}
