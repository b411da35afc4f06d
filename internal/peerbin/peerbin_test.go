package peerbin

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot is a repository root whose test/peers holds a go.mod and go.sum.
func fakeRoot(t *testing.T) Cache {
	t.Helper()
	root := t.TempDir()
	mod := filepath.Join(root, "test", "peers")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.mod"), "module example.com/peers\n\ngo 1.26\n")
	write(t, filepath.Join(mod, "go.sum"), "")
	return Cache{Root: root}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindRoot(t *testing.T) {
	c := fakeRoot(t)
	deep := filepath.Join(c.Root, "test", "e2e", "x")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindRoot(deep)
	if err != nil || got != c.Root {
		t.Fatalf("FindRoot(%s) = %q, %v; want %q", deep, got, err, c.Root)
	}
	if _, err := FindRoot(t.TempDir()); err == nil {
		t.Fatal("FindRoot found a root in a folder without test/peers")
	}
}

// TestFresh: a binary is fresh only with its stamp, and a changed go.sum
// or a removed binary makes it stale.
func TestFresh(t *testing.T) {
	ctx := context.Background()
	c := fakeRoot(t)
	b := All[0]
	fresh := func() bool {
		t.Helper()
		ok, err := c.Fresh(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if fresh() {
		t.Fatal("fresh before any build")
	}
	if err := os.MkdirAll(c.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	stamp, err := c.Stamp(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	write(t, c.Path(b.Name), "binary")
	write(t, c.stampPath(b.Name), stamp+"\n")
	if !fresh() {
		t.Fatal("not fresh with a matching stamp")
	}
	other, err := c.Stamp(ctx, All[1])
	if err != nil {
		t.Fatal(err)
	}
	if other == stamp {
		t.Fatal("two binaries have the same stamp")
	}
	write(t, filepath.Join(c.Module(), "go.sum"), "example.com/x v1.0.0 h1:abc=\n")
	if fresh() {
		t.Fatal("fresh after go.sum changed")
	}
	write(t, c.stampPath(b.Name), mustStamp(t, c, b)+"\n")
	if err := os.Remove(c.Path(b.Name)); err != nil {
		t.Fatal(err)
	}
	if fresh() {
		t.Fatal("fresh without the binary")
	}
}

func mustStamp(t *testing.T, c Cache, b Binary) string {
	t.Helper()
	s, err := c.Stamp(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLookup(t *testing.T) {
	for _, b := range All {
		got, err := Lookup(b.Name)
		if err != nil || got != b {
			t.Errorf("Lookup(%q) = %v, %v", b.Name, got, err)
		}
	}
	if _, err := Lookup("kubelet"); err == nil {
		t.Error("Lookup(kubelet) found a binary")
	}
}
