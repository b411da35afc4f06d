package storage

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage/value"
)

const secretText = "plaintext-that-must-not-reach-etcd"

// gcmKey is an aesgcm provider key of a name, its material filled with b.
func gcmKey(t testing.TB, name string, b byte) value.Prefixed {
	t.Helper()
	tr, err := value.NewAESGCM(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return value.Prefixed{Prefix: value.Prefix(value.AESGCMName, name), Transformer: tr}
}

func chain(t testing.TB, ps ...value.Prefixed) *value.Chain {
	t.Helper()
	c, err := value.NewChain(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw is what etcd holds under key.
func raw(t *testing.T, key string) []byte {
	t.Helper()
	resp, err := testClient.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		t.Fatalf("nothing stored under %s", key)
	}
	return resp.Kvs[0].Value
}

// assertSealed fails unless etcd holds key under prefix, without the
// secret text.
func assertSealed(t *testing.T, key, prefix string) {
	t.Helper()
	v := raw(t, key)
	if !bytes.HasPrefix(v, []byte(prefix)) {
		t.Fatalf("%s is stored as %.30q, want prefix %q", key, v, prefix)
	}
	if bytes.Contains(v, []byte(secretText)) {
		t.Fatalf("%s is stored with the plaintext", key)
	}
}

func secretCM(namespace, name string) *corev1.ConfigMap {
	return cm(namespace, name, map[string]string{"k": secretText})
}

// TestEncryptedStore: every write path stores ciphertext, every read path
// (get, list, watch, delete's last state) returns the plaintext.
func TestEncryptedStore(t *testing.T) {
	ctx := t.Context()
	plainStore := newStore(t)
	s := NewStore(testClient, plainStore.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k1", 1))))
	const prefix = "k8s:enc:aesgcm:v1:k1:"

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := s.Watch(wctx, "", "")
	if err != nil {
		t.Fatal(err)
	}

	created, err := s.Create(ctx, "ns", "a", secretCM("ns", "a"))
	if err != nil {
		t.Fatal(err)
	}
	assertSealed(t, s.Key("ns", "a"), prefix)
	got, err := s.Get(ctx, "ns", "a")
	if err != nil || got.GetData()["k"] != secretText || got.Metadata.ResourceVersion != created.Metadata.ResourceVersion {
		t.Fatalf("Get = %v, %v", got, err)
	}

	got.Data["k2"] = secretText
	updated, err := s.Update(ctx, "ns", "a", got)
	if err != nil {
		t.Fatal(err)
	}
	assertSealed(t, s.Key("ns", "a"), prefix)
	list, err := s.List(ctx, "ns", ListOptions[*corev1.ConfigMap]{})
	if err != nil || len(list.Items) != 1 || list.Items[0].GetData()["k"] != secretText {
		t.Fatalf("List = %v, %v", list.Items, err)
	}
	// The plain store cannot decode what it reads.
	if _, err := plainStore.Get(ctx, "ns", "a"); err == nil {
		t.Fatalf("a store without the key decoded the ciphertext")
	}

	del, err := s.Delete(ctx, "ns", "a", Preconditions{ResourceVersion: updated.Metadata.ResourceVersion})
	if err != nil || del.GetData()["k"] != secretText {
		t.Fatalf("Delete = %v, %v", del, err)
	}
	for i, want := range []EventType{Added, Modified, Deleted} {
		ev, _ := next(t, events)
		if ev.Type != want || ev.Object.GetData()["k"] != secretText {
			t.Fatalf("event %d: %s, want %s with the plaintext", i, describe(ev), want)
		}
	}
}

// TestEncryptedStoreWrongKey: values written under one key are an error,
// never garbage, for a store with another.
func TestEncryptedStoreWrongKey(t *testing.T) {
	ctx := t.Context()
	a := newStore(t)
	s1 := NewStore(testClient, a.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k1", 1))))
	s2 := NewStore(testClient, a.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k1", 2))))
	if _, err := s1.Create(ctx, "ns", "a", secretCM("ns", "a")); err != nil {
		t.Fatal(err)
	}
	_, err := s2.Get(ctx, "ns", "a")
	if err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("Get with the wrong key: %v", err)
	}
	if _, err := s2.List(ctx, "", ListOptions[*corev1.ConfigMap]{}); err == nil {
		t.Fatalf("List with the wrong key succeeded")
	}
}

// TestRewriteStale: after a rotation (new key first, old key second)
// every object is stored under the new key, and a second pass has nothing
// to do; values written before encryption was on (identity) too.
func TestRewriteStale(t *testing.T) {
	ctx := t.Context()
	base := newStore(t)
	plain := NewStore(testClient, base.prefix, newConfigMap)
	old := NewStore(testClient, base.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k1", 1))))
	rotated := NewStore(testClient, base.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k2", 2), gcmKey(t, "k1", 1), value.Prefixed{Transformer: value.Identity{}})))

	if _, err := plain.Create(ctx, "ns", "was-plain", secretCM("ns", "was-plain")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := old.Create(ctx, "ns", name, secretCM("ns", name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rotated.Create(ctx, "other", "fresh", secretCM("other", "fresh")); err != nil {
		t.Fatal(err)
	}

	n, err := rotated.RewriteStale(ctx)
	if err != nil || n != 4 {
		t.Fatalf("RewriteStale = %d, %v; want 4 (a, b, c and was-plain)", n, err)
	}
	for _, k := range []string{"ns/a", "ns/b", "ns/c", "ns/was-plain", "other/fresh"} {
		ns, name, _ := strings.Cut(k, "/")
		assertSealed(t, rotated.Key(ns, name), "k8s:enc:aesgcm:v1:k2:")
		got, err := rotated.Get(ctx, ns, name)
		if err != nil || got.GetData()["k"] != secretText {
			t.Fatalf("Get %s after the rewrite = %v, %v", k, got, err)
		}
	}
	if n, err := rotated.RewriteStale(ctx); err != nil || n != 0 {
		t.Fatalf("second RewriteStale = %d, %v; want 0", n, err)
	}
	// The old key alone no longer reads them.
	if _, err := old.Get(ctx, "ns", "a"); err == nil {
		t.Fatalf("the old key still reads a rewritten value")
	}
	if n, err := plain.RewriteStale(ctx); err != nil || n != 0 {
		t.Fatalf("RewriteStale without a transformer = %d, %v", n, err)
	}
}

// hookTransformer runs hook before its first write of key.
type hookTransformer struct {
	value.Transformer
	key  string
	once sync.Once
	hook func()
}

func (h *hookTransformer) TransformToStorage(plain []byte, key string) ([]byte, error) {
	if key == h.key {
		h.once.Do(h.hook)
	}
	return h.Transformer.TransformToStorage(plain, key)
}

// TestRewriteStaleLosesNoWrite: a write that lands between the rewrite's
// read and its write wins; the rewrite reads again and leaves it.
func TestRewriteStaleLosesNoWrite(t *testing.T) {
	ctx := t.Context()
	base := newStore(t)
	old := NewStore(testClient, base.prefix, newConfigMap, WithTransformer(chain(t, gcmKey(t, "k1", 1))))
	rotatedChain := chain(t, gcmKey(t, "k2", 2), gcmKey(t, "k1", 1))
	writer := NewStore(testClient, base.prefix, newConfigMap, WithTransformer(rotatedChain))
	for _, name := range []string{"a", "b"} {
		if _, err := old.Create(ctx, "ns", name, secretCM("ns", name)); err != nil {
			t.Fatal(err)
		}
	}
	hook := &hookTransformer{Transformer: rotatedChain, key: base.Key("ns", "a"), hook: func() {
		cur, err := writer.Get(ctx, "ns", "a")
		if err != nil {
			t.Error(err)
			return
		}
		cur.Data["k"] = "written meanwhile"
		if _, err := writer.Update(ctx, "ns", "a", cur); err != nil {
			t.Error(err)
		}
	}}
	rewriter := NewStore(testClient, base.prefix, newConfigMap, WithTransformer(hook))
	n, err := rewriter.RewriteStale(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("RewriteStale = %d, want 1 (b; a was written meanwhile)", n)
	}
	got, err := writer.Get(ctx, "ns", "a")
	if err != nil || got.GetData()["k"] != "written meanwhile" {
		t.Fatalf("the concurrent write was lost: %v, %v", got.GetData(), err)
	}
	assertSealed(t, base.Key("ns", "a"), "k8s:enc:aesgcm:v1:k2:")
	assertSealed(t, base.Key("ns", "b"), "k8s:enc:aesgcm:v1:k2:")
}
