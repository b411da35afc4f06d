package api

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestEncodedEventsOnce: the watchers of one event (the same object, type,
// response message and field) share one encoding, made once even when
// they ask at the same time; another object, type, message or field is
// encoded on its own.
func TestEncodedEventsOnce(t *testing.T) {
	const cmEvent = "portico.core.v1.WatchConfigMapsResponse"
	a := &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a"}}
	b := &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a"}} // equal to a, not a
	tests := []struct {
		name        string
		keys        []encodedKey
		wantEncodes int
	}{
		{"one event, many watchers", repeat(encodedKey{a, eventAdded, cmEvent, "object"}, 100), 1},
		{"an equal copy is not the same object", []encodedKey{{a, eventAdded, cmEvent, "object"}, {b, eventAdded, cmEvent, "object"}}, 2},
		{"types apart", []encodedKey{{a, eventAdded, cmEvent, "object"}, {a, eventModified, cmEvent, "object"}, {a, eventDeleted, cmEvent, "object"}}, 3},
		{"response messages apart", []encodedKey{{a, eventAdded, cmEvent, "object"}, {a, eventAdded, "portico.core.v1.WatchOtherResponse", "object"}}, 2},
		{"metadata alone apart", []encodedKey{{a, eventAdded, cmEvent, "object"}, {a, eventAdded, cmEvent, "partial_object_metadata"}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEncodedEvents()
			var encodes atomic.Int64
			var wg sync.WaitGroup
			got := make([][]byte, len(tc.keys))
			for i, k := range tc.keys {
				wg.Go(func() {
					b, err := e.get(k, func() ([]byte, error) {
						encodes.Add(1)
						return fmt.Appendf(nil, "%p/%s/%s/%s", k.obj, k.typ, k.resp, k.field), nil
					})
					if err != nil {
						t.Error(err)
					}
					got[i] = b
				})
			}
			wg.Wait()
			if n := encodes.Load(); n != int64(tc.wantEncodes) {
				t.Fatalf("encoded %d times, want %d", n, tc.wantEncodes)
			}
			for i, k := range tc.keys {
				if want := fmt.Sprintf("%p/%s/%s/%s", k.obj, k.typ, k.resp, k.field); string(got[i]) != want {
					t.Fatalf("key %d got %q, want %q", i, got[i], want)
				}
			}
		})
	}
}

func TestEncodedEventsBounded(t *testing.T) {
	const cmEvent = "portico.core.v1.WatchConfigMapsResponse"
	tests := map[string]struct {
		size  int // bytes per encoding
		count int
		max   int // entries held at most
	}{
		"many small events": {size: 10, count: 3 * maxEncodedEvents, max: maxEncodedEvents},
		"a few large ones":  {size: 4 << 20, count: 20, max: maxEncodedBytes/(4<<20) + 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEncodedEvents()
			for i := range tc.count {
				obj := &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: fmt.Sprint(i)}}
				if _, err := e.get(encodedKey{obj, eventAdded, cmEvent, "object"}, func() ([]byte, error) { return make([]byte, tc.size), nil }); err != nil {
					t.Fatal(err)
				}
				if n := len(e.entries); n > tc.max {
					t.Fatalf("after %d events %d held, want at most %d", i+1, n, tc.max)
				}
			}
		})
	}
}

func repeat[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}
