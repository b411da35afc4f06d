package storage

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func BenchmarkRawGetParallel(b *testing.B) {
	s := newStore(b)
	mustCreate(b, s, "ns", "a")
	ctx := b.Context()
	k := s.Key("ns", "a")
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := testClient.Get(ctx, k); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
func BenchmarkRawGetSerializableParallel(b *testing.B) {
	s := newStore(b)
	mustCreate(b, s, "ns", "a")
	ctx := b.Context()
	k := s.Key("ns", "a")
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := testClient.Get(ctx, k, clientv3.WithSerializable()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
