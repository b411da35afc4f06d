package etcd

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestCompactorReplicas: two replicas' compactors on one etcd compact
// it once per interval between them, each time to the revision of one
// interval earlier; history newer than that stays readable.
func TestCompactorReplicas(t *testing.T) {
	ctx := t.Context()
	e, err := StartEmbedded(ctx, EmbeddedOptions{DataDir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := NewClient(ctx, ClientOptions{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a, b := NewCompactor(c, nil), NewCompactor(c, nil)
	write := func() {
		t.Helper()
		for i := range 3 {
			if _, err := c.Put(ctx, "/k", fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One tick of each replica per interval, a first.
	recorded := map[int]int64{} // interval → the revision its winner recorded
	tests := []struct {
		name      string
		tick      *Compactor
		wantTo    int // compacts to what that interval's winner recorded; -1 none
		wantRecTo int // the interval it wins and records; -1 none
	}{
		{"interval 1: a decides, nothing to compact yet", a, -1, 1},
		{"interval 1: b loses the swap", b, -1, -1},
		{"interval 2: a compacts to interval 1's revision", a, 1, 2},
		{"interval 2: b loses again", b, -1, -1},
		{"interval 3: a compacts to interval 2's revision", a, 2, 3},
		{"interval 3: b loses", b, -1, -1},
	}
	for i, tc := range tests {
		write()
		got, err := tc.tick.Tick(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.wantRecTo >= 0 {
			recorded[tc.wantRecTo] = tc.tick.rev
		}
		want := int64(0)
		if tc.wantTo >= 0 {
			want = recorded[tc.wantTo]
		}
		if got != want {
			t.Fatalf("step %d, %s: compacted to %d, want %d", i, tc.name, got, want)
		}
		if got > 0 {
			if _, err := c.Get(ctx, "/k", clientv3.WithRev(got-1)); !errors.Is(err, rpctypes.ErrCompacted) {
				t.Fatalf("%s: a read before the compaction: %v, want compacted", tc.name, err)
			}
			if _, err := c.Get(ctx, "/k", clientv3.WithRev(got)); err != nil {
				t.Fatalf("%s: a read at the compacted revision: %v", tc.name, err)
			}
		}
	}
	// b takes over when a stops: it wins the swap after learning the
	// version, and compacts to what a recorded last.
	if got, err := b.Tick(ctx); err != nil || got != recorded[3] {
		t.Fatalf("b after a stopped: compacted to %d (%v), want %d", got, err, recorded[3])
	}
}
