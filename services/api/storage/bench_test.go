package storage

import (
	"fmt"
	"testing"
)

func BenchmarkStoreGet(b *testing.B) {
	s := newStore(b)
	mustCreate(b, s, "ns", "a")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "ns", "a"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreGetParallel measures throughput with concurrent readers,
// closer to an api server under load than one reader in a loop.
func BenchmarkStoreGetParallel(b *testing.B) {
	s := newStore(b)
	mustCreate(b, s, "ns", "a")
	ctx := b.Context()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "ns", "a"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkStoreCreate(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	obj := cm("ns", "x", map[string]string{"k": "v"})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Create(ctx, "ns", fmt.Sprintf("o%d", i), obj); err != nil {
			b.Fatal(err)
		}
	}
}
