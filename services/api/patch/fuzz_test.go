package patch

import (
	"runtime"
	"testing"

	k8scorev1 "k8s.io/api/core/v1"
)

// FuzzApply feeds arbitrary patches of every type to Apply: it must never
// panic, never return a document past MaxBytes, and never allocate more
// than a bounded multiple of the limits while trying.
func FuzzApply(f *testing.F) {
	seeds := []struct {
		doc, patch string
		kind       byte
	}{
		{configMap, `{"data":{"b":"2"}}`, 0},
		{configMap, `[{"op":"copy","from":"/data","path":"/data/k0"},{"op":"copy","from":"/data","path":"/data/k1"}]`, 1},
		{configMap, copyBomb(20), 1},
		{containers("c", 3), `{"spec":{"containers":[{"name":"c1","image":"y"}],"$setElementOrder/containers":[{"name":"c1"}]}}`, 2},
		{configMap, nested(200), 0},
		{configMap, `[{"op":"move","from":"/data","path":"/metadata/x"}]`, 1},
	}
	for _, s := range seeds {
		f.Add([]byte(s.doc), []byte(s.patch), s.kind)
	}
	types := []string{Merge, JSON, Strategic}
	limits := Limits{MaxBytes: 64 << 10}
	const allocBound = 256 << 20
	f.Fuzz(func(t *testing.T, doc, patch []byte, kind byte) {
		if len(doc) > 16<<10 || len(patch) > 16<<10 {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		out, err := Apply(doc, patch, types[int(kind)%len(types)], &k8scorev1.Pod{}, limits)
		runtime.ReadMemStats(&after)
		if err == nil && int64(len(out)) > limits.MaxBytes {
			t.Fatalf("result of %d bytes past the %d limit", len(out), limits.MaxBytes)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound {
			t.Fatalf("one patch allocated %d bytes", alloc)
		}
	})
}
