package kjson_test

import (
	"bytes"
	"encoding/json"
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestMarshalLargeAnswers: lists large enough to outgrow the pooled
// buffers, then smaller and larger ones of the same type, each encode
// byte for byte as a fresh Marshaler encodes them (the size a large
// answer leaves for the next one changes only where it is written).
func TestMarshalLargeAnswers(t *testing.T) {
	list := func(n int) *corev1.ListConfigMapsResponse {
		l := &corev1.ListConfigMapsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "7"}}
		for range n {
			l.Items = append(l.Items, benchConfigMap())
		}
		return l
	}
	m := newMarshaler()
	tests := []struct {
		name  string
		items int
	}{
		{"large: outgrows the pool", 300},
		{"the same size again", 300},
		{"larger than the last", 900},
		{"much smaller", 3},
		{"none", 0},
		{"large again", 400},
		{"a little smaller", 390},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := list(tc.items)
			got, err := m.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			want, err := newMarshaler().Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d items: %d bytes differ from a fresh marshaler's %d", tc.items, len(got), len(want))
			}
			if !bytes.HasSuffix(got, []byte("}\n")) || !json.Valid(got) {
				t.Fatalf("%d items: not one JSON document and a newline: ...%q", tc.items, got[max(0, len(got)-20):])
			}
		})
	}
}
