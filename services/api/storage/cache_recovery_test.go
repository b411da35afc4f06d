package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// reflector follows a store as client-go's reflector does: list, watch
// from the list's resourceVersion, watch again from the last one seen
// when a watch ends, list again on 410 Gone. It fails the test on an
// event that shows a lost or duplicated one.
type reflector struct {
	t  *testing.T
	st Interface[*corev1.ConfigMap]

	mu     sync.Mutex
	items  map[string]int64 // namespace/name → resourceVersion
	lastRV string
	lists  int
	events []string
}

func (r *reflector) list(ctx context.Context) error {
	res, err := r.st.List(ctx, "", ListOptions[*corev1.ConfigMap]{})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = map[string]int64{}
	for _, it := range res.Items {
		r.items[it.Metadata.Namespace+"/"+it.Metadata.Name] = rvOf(r.t, it)
	}
	r.lastRV, r.lists = res.ResourceVersion, r.lists+1
	return nil
}

// run follows the store until ctx ends.
func (r *reflector) run(ctx context.Context) {
	if err := r.list(ctx); err != nil {
		r.t.Error(err)
		return
	}
	for ctx.Err() == nil {
		r.mu.Lock()
		from := r.lastRV
		r.mu.Unlock()
		ch, err := r.st.Watch(ctx, "", from)
		if err != nil {
			r.t.Error(err)
			return
		}
		for ev := range ch {
			if ev.Type == Error {
				if errors.Is(ev.Err, ErrGone) {
					if err := r.list(ctx); err != nil && ctx.Err() == nil {
						r.t.Error(err)
						return
					}
				}
				break
			}
			r.apply(ev)
		}
	}
}

func (r *reflector) apply(ev Event[*corev1.ConfigMap]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastRV = ev.Object.Metadata.ResourceVersion
	if ev.Type == Bookmark {
		return
	}
	key, rv := ev.Object.Metadata.Namespace+"/"+ev.Object.Metadata.Name, rvOf(r.t, ev.Object)
	r.events = append(r.events, describe(ev))
	had, ok := r.items[key]
	switch {
	case ev.Type == Added && ok:
		r.t.Errorf("ADDED %s@%d, which it holds at %d: a duplicate", key, rv, had)
	case ev.Type != Added && !ok:
		r.t.Errorf("%s %s@%d, which it does not hold: an event was lost", ev.Type, key, rv)
	case ok && rv <= had:
		r.t.Errorf("%s %s@%d, which it holds at %d: a duplicate", ev.Type, key, rv, had)
	}
	if ev.Type == Deleted {
		delete(r.items, key)
	} else {
		r.items[key] = rv
	}
}

// holds reports whether the reflector holds exactly what etcd does.
func (r *reflector) holds(ctx context.Context, s *Store[*corev1.ConfigMap]) bool {
	res, err := s.List(ctx, "", ListOptions[*corev1.ConfigMap]{})
	if err != nil {
		return false
	}
	want := map[string]int64{}
	for _, it := range res.Items {
		want[it.Metadata.Namespace+"/"+it.Metadata.Name] = rvOf(r.t, it)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Equal(r.items, want)
}

// gate holds the cache's next etcd watch until opened.
type gate struct {
	watches atomic.Int32 // watches the cache asked for
	held    atomic.Pointer[chan struct{}]
}

func (g *gate) beforeWatch(int64) {
	g.watches.Add(1)
	if ch := g.held.Load(); ch != nil {
		<-*ch
	}
}

// hold makes the cache's next etcd watch wait, ends the current one and
// waits until the cache waits; the returned func lets it go on.
func (g *gate) hold(t *testing.T, c *Cache[*corev1.ConfigMap]) (release func()) {
	ch := make(chan struct{})
	g.held.Store(&ch)
	n := g.watches.Load()
	c.breakWatch()
	testwait.Until(t, 10*time.Second, "the cache to watch again", func() bool { return g.watches.Load() > n })
	return func() {
		g.held.Store(nil)
		close(ch)
	}
}

// writes makes every kind of change: a create, an update, a delete, and
// an object created and deleted in between.
func writes(t *testing.T, s *Store[*corev1.ConfigMap], round int) {
	t.Helper()
	ctx := t.Context()
	mustCreate(t, s, "ns", fmt.Sprint("new", round))
	obj, err := s.Get(ctx, "ns", "keep")
	if err != nil {
		t.Fatal(err)
	}
	obj.Data = map[string]string{"k": fmt.Sprint(round)}
	if _, err := s.Update(ctx, "ns", "keep", obj); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "ns", fmt.Sprint("gone", round), Preconditions{}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "ns", "brief")
	if _, err := s.Delete(ctx, "ns", "brief", Preconditions{}); err != nil {
		t.Fatal(err)
	}
}

// TestCacheRecovers: when etcd ends the cache's watch, the cache watches
// again from its revision; when that revision was compacted meanwhile
// (etcd cancels the new watch), it lists again and its watchers get 410
// Gone and list again. Either way a client-go style watcher loses no
// event and sees none twice, and reads stay consistent.
func TestCacheRecovers(t *testing.T) {
	tests := map[string]struct {
		compact bool
		// wantLists: how many times the reflector lists.
		wantLists int
	}{
		"watch ended":                    {compact: false, wantLists: 1},
		"watch ended, history compacted": {compact: true, wantLists: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			mustCreate(t, s, "ns", "keep")
			for i := range 3 {
				mustCreate(t, s, "ns", fmt.Sprint("gone", i))
			}
			var g gate
			c := startCache(t, s, CacheOptions{}, g.beforeWatch)
			r := &reflector{t: t, st: c}
			rctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); r.run(rctx) }()
			defer func() { stop(); <-done }()
			testwait.Until(t, 10*time.Second, "the reflector's list", func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.lists == 1
			})
			r.mu.Lock()
			start := r.lastRV
			r.mu.Unlock()
			etcdEvents, err := s.Watch(ctx, "", start)
			if err != nil {
				t.Fatal(err)
			}

			writes(t, s, 0)
			release := g.hold(t, c)
			writes(t, s, 1) // while the cache does not watch
			if tc.compact {
				cur, err := s.CurrentRevision(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := testClient.Compact(ctx, cur); err != nil {
					t.Fatal(err)
				}
			}
			release()
			writes(t, s, 2)

			testwait.Until(t, 20*time.Second, "the reflector to hold what etcd holds", func() bool { return r.holds(ctx, s) })
			// Reads are fresh again: the last write is seen.
			if got, err := c.Get(ctx, "ns", "keep"); err != nil || got.Data["k"] != "2" {
				t.Fatalf("Get after the recovery: %v, %v", got, err)
			}
			r.mu.Lock()
			lists, seen := r.lists, len(r.events)
			r.mu.Unlock()
			if lists != tc.wantLists {
				t.Errorf("the reflector listed %d times, want %d", lists, tc.wantLists)
			}
			if !tc.compact {
				// Not one event missing: what etcd's own watch saw.
				want := watchAll(t, etcdEvents, seen)
				r.mu.Lock()
				defer r.mu.Unlock()
				if fmt.Sprint(r.events) != fmt.Sprint(want) {
					t.Errorf("the reflector saw\n%v\netcd's watch\n%v", r.events, want)
				}
			}
		})
	}
}
