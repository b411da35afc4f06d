package storage

import (
	"fmt"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
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

// readers are the two implementations of Interface a benchmark reads
// through: etcd itself, and the watch cache in front of it.
func readers(b *testing.B, s *Store[*corev1.ConfigMap]) map[string]Interface[*corev1.ConfigMap] {
	return map[string]Interface[*corev1.ConfigMap]{"etcd": s, "cache": startCache(b, s, CacheOptions{}, nil)}
}

// BenchmarkGet: a consistent Get (no resourceVersion) from etcd and
// from the cache, one reader and 16 a core.
func BenchmarkGet(b *testing.B) {
	s := newStore(b)
	mustCreate(b, s, "ns", "a")
	ctx := b.Context()
	for _, name := range []string{"etcd", "cache"} {
		st := readers(b, s)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Get(ctx, "ns", "a"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := st.Get(ctx, "ns", "a"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkList: a list of 100 objects of 1000 (one namespace), consistent
// and from resourceVersion 0, and a label-selected one.
func BenchmarkList(b *testing.B) {
	s := newStore(b)
	ctx := b.Context()
	for i := range 1000 {
		obj := cm(fmt.Sprint("ns", i%10), fmt.Sprint("o", i), map[string]string{"k": "v"})
		obj.Metadata.Labels = map[string]string{"app": fmt.Sprint("a", i%100)}
		if _, err := s.Create(ctx, obj.Metadata.Namespace, obj.Metadata.Name, obj); err != nil {
			b.Fatal(err)
		}
	}
	selected := func(obj *corev1.ConfigMap) bool { return obj.Metadata.Labels["app"] == "a7" }
	for _, name := range []string{"etcd", "cache"} {
		st := readers(b, s)[name]
		for opt, o := range map[string]ListOptions[*corev1.ConfigMap]{
			"namespace":     {},
			"namespace-rv0": {ResourceVersion: "0"},
			"selector":      {Filter: selected},
		} {
			ns := "ns3"
			if opt == "selector" {
				ns = ""
			}
			b.Run(name+"-"+opt, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := st.List(ctx, ns, o); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
