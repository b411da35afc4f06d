package kjson_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portico-dev/portico/internal/kjson"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// FuzzDecode: any body, into each kind of target, must not panic; what is
// accepted must be valid JSON (encoding/json agrees), and our output for it
// must be valid JSON that decodes back to the same output.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","labels":{"x":"y"},"creationTimestamp":"2026-11-27T08:16:17Z","ownerReferences":[{"apiVersion":"v1","kind":"K","name":"n","uid":"u","controller":true}]},"data":{"k":"v"},"binaryData":{"b":"AAE="},"immutable":false}`,
		`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"ns","deletionGracePeriodSeconds":0},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active","conditions":[{"type":"t","status":"True","lastTransitionTime":null}]}}`,
		`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1","remainingItemCount":3},"items":[{"metadata":{"name":"a"}},null]}`,
		`{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{}}}`,
		`{"metadata":{"name":"a","name":"b","x":{"y":[1,2,{"z":null}]}}}`,
		`{"data":{"u":"\u00e9\ud83d\ude00\ud800\u2028<>&\"\\\/\b\f\n\r\t"}}`,
		`{"metadata":{"generation":-9223372036854775808}}`,
		`{"a":1e400,"b":-0,"c":0.5e-3}`,
		`[1,"2",true,false,null,{}]`,
		`{"kind":"Pod","apiVersion":"v1","spec":{"volumes":[{"name":"v","hostPath":{"path":"/x"},"configMap":{"name":"c"}}],"containers":[{"name":"c","resources":{"requests":{"cpu":"100m","memory":1e3}},"livenessProbe":{"httpGet":{"port":"http"},"tcpSocket":{"port":80}}}]}}`,
		`{"metadata":{"managedFields":[{"fieldsV1":{"f:a":{"<":[1,2.5e3,"x"]}},"time":"2026-11-27T08:16:17Z"}]}}`,
		`{"eventTime":"2026-11-27T08:16:17.123456Z","series":{"count":1,"lastObservedTime":null}}`,
		`{"spec":{"ports":[{"port":80,"targetPort":"http"},{"port":81,"targetPort":-5}]}}`,
		`{not json`, ``, `null`, ` {} `, `{"x":[[[[[[[[[[[[]]]]]]]]]]]]}`,
	}
	if files, _ := filepath.Glob("testdata/*.json"); len(files) > 0 {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				seeds = append(seeds, string(b))
			}
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	m := newMarshaler()
	targets := []func() proto.Message{
		func() proto.Message { return &corev1.ConfigMap{} },
		func() proto.Message { return &corev1.Namespace{} },
		func() proto.Message { return &corev1.ListConfigMapsResponse{} },
		func() proto.Message { return &corev1.WatchConfigMapsResponse{} },
		func() proto.Message { return &corev1.Status{} },
		func() proto.Message { return &structpb.Value{} },
		func() proto.Message { return &corev1.Pod{} },
		func() proto.Message { return &corev1.Event{} },
		func() proto.Message { return &corev1.Service{} },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, newTarget := range targets {
			for _, opts := range []kjson.DecodeOptions{{}, {AllowUnknown: true}} {
				msg := newTarget()
				err := coreTypes.Decode(data, msg, opts)
				if err != nil {
					continue
				}
				if !json.Valid(data) && !(len(bytes.TrimSpace(data)) == 0) {
					t.Fatalf("accepted invalid JSON %q into %T", data, msg)
				}
				out, err := m.Marshal(msg)
				if err != nil {
					// NaN cannot happen from JSON; anything else is a bug.
					t.Fatalf("marshal %T decoded from %q: %v", msg, data, err)
				}
				if !json.Valid(out) {
					t.Fatalf("invalid output %q", out)
				}
				again := newTarget()
				if err := m.Unmarshal(out, again); err != nil {
					t.Fatalf("own output %s does not decode into %T: %v", out, again, err)
				}
				out2, err := m.Marshal(again)
				if err != nil || !bytes.Equal(out, out2) {
					t.Fatalf("unstable output:\n%s\n%s (%v)", out, out2, err)
				}
			}
		}
	})
}
