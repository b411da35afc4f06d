package api

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
	"github.com/portico-dev/portico/services/api/storage"
)

// countingStore counts the reads of the object a write is made on.
type countingStore[T storage.Object] struct {
	storage.Interface[T]
	gets atomic.Int64
}

func (c *countingStore[T]) Get(ctx context.Context, ns, name string) (T, error) {
	c.gets.Add(1)
	return c.Interface.Get(ctx, ns, name)
}

// TestOneReadPerWrite: a PATCH, an UPDATE and a DELETE each read the
// stored object once and write on that read (compare-and-swap on its
// revision), never reading it again first.
func TestOneReadPerWrite(t *testing.T) {
	c := newAPI(t)
	ns := newNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	counting := &countingStore[*corev1.ConfigMap]{Interface: c.svc.configMaps.store}
	c.svc.configMaps.store = counting
	created, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: &corev1.ConfigMap{
		Metadata: &corev1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what  string
		write func() error
	}{
		{"merge patch", func() error {
			_, err := c.cm.PatchConfigMap(ctx, &corev1.PatchConfigMapRequest{Namespace: ns, Name: "cm", PatchType: patchpkg.Merge, Patch: []byte(`{"data":{"b":"2"}}`)})
			return err
		}},
		{"update", func() error {
			cur := created.GetConfigMap()
			cur.Data = map[string]string{"c": "3"}
			cur.Metadata.ResourceVersion = ""
			_, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "cm", ConfigMap: cur})
			return err
		}},
		{"delete", func() error {
			_, err := c.cm.DeleteConfigMap(ctx, &corev1.DeleteConfigMapRequest{Namespace: ns, Name: "cm"})
			return err
		}},
	} {
		before := counting.gets.Load()
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if n := counting.gets.Load() - before; n != 1 {
			t.Errorf("%s read the object %d times, want 1", tc.what, n)
		}
	}
}
