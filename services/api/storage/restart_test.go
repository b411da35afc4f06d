package storage

import (
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/etcd"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestRestartKeepsData stops the embedded etcd after a write and finds the
// object, with the same resourceVersion, in a new member on the same data
// dir.
func TestRestartKeepsData(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "etcd")
	open := func() (*etcd.Embedded, *Store[*corev1.ConfigMap]) {
		e, err := etcd.StartEmbedded(ctx, etcd.EmbeddedOptions{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		c, err := etcd.NewClient(ctx, etcd.ClientOptions{Endpoints: e.Endpoints()})
		if err != nil {
			e.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); e.Close() })
		return e, NewStore(c, "/registry/configmaps/", newConfigMap)
	}

	e, s := open()
	created, err := s.Create(ctx, "ns", "a", cm("ns", "a", map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	e.Close()

	_, s = open()
	got, err := s.Get(ctx, "ns", "a")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, created) {
		t.Fatalf("after restart Get = %v, want %v", got, created)
	}
}
