package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/portico-dev/portico/internal/etcd"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// testClient talks to the embedded etcd shared by every test of the
// package; each test works under its own key prefix.
var testClient *clientv3.Client

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "portico-storage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	e, err := etcd.StartEmbedded(ctx, etcd.EmbeddedOptions{DataDir: filepath.Join(dir, "etcd")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	testClient, err = etcd.NewClient(ctx, etcd.ClientOptions{Endpoints: e.Endpoints()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testClient.Close()
	return m.Run()
}

func newConfigMap() *corev1.ConfigMap { return new(corev1.ConfigMap) }

var storeSeq atomic.Int64

// newStore returns a ConfigMap store under a prefix of its own, also when
// a test or benchmark runs more than once.
func newStore(tb testing.TB) *Store[*corev1.ConfigMap] {
	tb.Helper()
	prefix := fmt.Sprintf("/registry/%s-%d/", strings.ReplaceAll(tb.Name(), "/", "_"), storeSeq.Add(1))
	return NewStore(testClient, prefix, newConfigMap)
}

func cm(namespace, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		Metadata: &corev1.ObjectMeta{Name: name, Namespace: namespace, Uid: "uid-" + namespace + "-" + name},
		Data:     data,
	}
}

// mustCreate creates namespace/name and returns it as stored.
func mustCreate(tb testing.TB, s *Store[*corev1.ConfigMap], namespace, name string) *corev1.ConfigMap {
	tb.Helper()
	out, err := s.Create(tb.Context(), namespace, name, cm(namespace, name, map[string]string{"k": "v"}))
	if err != nil {
		tb.Fatalf("create %s/%s: %v", namespace, name, err)
	}
	return out
}

func names(items []*corev1.ConfigMap) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.GetMetadata().GetNamespace() + "/" + it.GetMetadata().GetName()
	}
	return out
}
