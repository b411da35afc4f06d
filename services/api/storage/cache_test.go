package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/testwait"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// startCache starts a cache of s and waits for its first list.
func startCache(tb testing.TB, s *Store[*corev1.ConfigMap], o CacheOptions, beforeWatch func(int64)) *Cache[*corev1.ConfigMap] {
	tb.Helper()
	c := newCache(s, o, beforeWatch)
	tb.Cleanup(c.Stop)
	testwait.Until(tb, 10*time.Second, "the watch cache's first list", c.isReady)
	return c
}

// TestCacheListLikeStore: every list the cache answers is the one etcd
// answers: items, resourceVersion, continue token, remaining count.
func TestCacheListLikeStore(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, ns := range []string{"a", "b", "c"} {
		for i := range 4 {
			obj := cm(ns, fmt.Sprintf("o%d", i), map[string]string{"k": "v"})
			obj.Metadata.Labels = map[string]string{"even": strconv.FormatBool(i%2 == 0)}
			if _, err := s.Create(ctx, ns, obj.Metadata.Name, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := startCache(t, s, CacheOptions{}, nil)
	even := func(obj *corev1.ConfigMap) bool { return obj.Metadata.Labels["even"] == "true" }
	tests := map[string]struct {
		namespace string
		opts      ListOptions[*corev1.ConfigMap]
	}{
		"all":                        {},
		"one namespace":              {namespace: "b"},
		"no such namespace":          {namespace: "zz"},
		"filter":                     {opts: ListOptions[*corev1.ConfigMap]{Filter: even}},
		"limit":                      {opts: ListOptions[*corev1.ConfigMap]{Limit: 5}},
		"limit in a namespace":       {namespace: "c", opts: ListOptions[*corev1.ConfigMap]{Limit: 3}},
		"limit, exactly all":         {namespace: "c", opts: ListOptions[*corev1.ConfigMap]{Limit: 4}},
		"limit with filter":          {opts: ListOptions[*corev1.ConfigMap]{Limit: 2, Filter: even}},
		"limit with filter, the end": {namespace: "a", opts: ListOptions[*corev1.ConfigMap]{Limit: 2, Filter: even}},
		"resourceVersion 0":          {opts: ListOptions[*corev1.ConfigMap]{ResourceVersion: "0", Limit: 7}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for page := 0; ; page++ {
				want, err := s.List(ctx, tc.namespace, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.List(ctx, tc.namespace, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(names(got.Items), names(want.Items)) || got.ResourceVersion != want.ResourceVersion ||
					got.Continue != want.Continue || fmt.Sprint(deref(got.RemainingItemCount)) != fmt.Sprint(deref(want.RemainingItemCount)) {
					t.Fatalf("page %d: cache %v rv %s continue %q remaining %v; etcd %v rv %s continue %q remaining %v", page,
						names(got.Items), got.ResourceVersion, got.Continue, deref(got.RemainingItemCount),
						names(want.Items), want.ResourceVersion, want.Continue, deref(want.RemainingItemCount))
				}
				if got.Continue == "" {
					return
				}
				tc.opts.Continue, tc.opts.ResourceVersion = got.Continue, ""
			}
		})
	}
}

func deref(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

func TestCacheGet(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	want := mustCreate(t, s, "ns", "a")
	got, err := c.Get(ctx, "ns", "a")
	if err != nil || got.Metadata.ResourceVersion != want.Metadata.ResourceVersion || got.Data["k"] != "v" {
		t.Fatalf("Get = %v, %v; want %v", got, err, want)
	}
	// A reader that only encodes is handed the cache's own object.
	if a, b := mustGetShared(t, c, "a"), mustGetShared(t, c, "a"); a != b || a.Data["k"] != "v" {
		t.Fatalf("GetShared handed out %p and %p (%v)", a, b, a.Data)
	}
	// The caller's copy: changing it changes nothing in the cache.
	got.Data["k"] = "changed"
	if again, _ := c.Get(ctx, "ns", "a"); again.Data["k"] != "v" {
		t.Fatalf("a caller's change reached the cache: %v", again)
	}
	for name, tc := range map[string]struct {
		namespace, name string
		want            error
	}{
		"missing":      {"ns", "b", ErrNotFound},
		"other ns":     {"other", "a", ErrNotFound},
		"invalid name": {"ns", "a/b", ErrInvalidKey},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.Get(ctx, tc.namespace, tc.name); !errors.Is(err, tc.want) {
				t.Fatalf("Get(%s/%s) = %v, want %v", tc.namespace, tc.name, err, tc.want)
			}
		})
	}
}

// TestCacheConsistentRead is the cache's promise: a read without
// resourceVersion sees every write finished before it, here writes made
// straight to etcd, bypassing the cache, and writes to other prefixes
// (which the cache's watch never sees: etcd's progress answers).
func mustGetShared(t *testing.T, c *Cache[*corev1.ConfigMap], name string) *corev1.ConfigMap {
	t.Helper()
	obj, err := c.GetShared(t.Context(), "ns", name)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// TestCacheListReadOnly: a List's items are the caller's copies unless
// it says it only reads them; then they are the cache's own objects
// (the same ones on the next list, nothing copied), and a write still
// replaces them with new ones rather than changing what was handed out.
func TestCacheListReadOnly(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	mustCreate(t, s, "ns", "a")
	list := func(readOnly bool) *corev1.ConfigMap {
		t.Helper()
		res, err := c.List(ctx, "ns", ListOptions[*corev1.ConfigMap]{ReadOnly: readOnly})
		if err != nil || len(res.Items) != 1 {
			t.Fatalf("List = %v, %v", res, err)
		}
		return res.Items[0]
	}
	tests := map[string]struct {
		readOnly bool
		wantSame bool
	}{
		"a copy each":     {readOnly: false, wantSame: false},
		"the cache's own": {readOnly: true, wantSame: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			first, second := list(tc.readOnly), list(tc.readOnly)
			if same := first == second; same != tc.wantSame {
				t.Fatalf("the same object twice: %v, want %v", same, tc.wantSame)
			}
		})
	}
	shared := list(true)
	upd := list(false)
	upd.Data["k"] = "new"
	if _, err := s.Update(ctx, "ns", "a", upd); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the cache holds the write", func() bool { return list(true).Data["k"] == "new" })
	if shared.Data["k"] != "v" {
		t.Fatalf("an object handed out read-only was changed by a write: %v", shared.Data)
	}
}

func TestCacheConsistentRead(t *testing.T) {
	s := newStore(t)
	other := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	direct := NewStore(testClient, s.prefix, newConfigMap) // the same keys, no cache
	obj := mustCreate(t, direct, "ns", "a")
	for i := range 30 {
		obj.Data = map[string]string{"k": fmt.Sprint(i)}
		var err error
		if obj, err = direct.Update(ctx, "ns", "a", obj); err != nil {
			t.Fatal(err)
		}
		got, err := c.Get(ctx, "ns", "a")
		if err != nil || got.Data["k"] != fmt.Sprint(i) || got.Metadata.ResourceVersion != obj.Metadata.ResourceVersion {
			t.Fatalf("write %d: Get = %v, %v; want k=%d at %s", i, got, err, i, obj.Metadata.ResourceVersion)
		}
		list, err := c.List(ctx, "", ListOptions[*corev1.ConfigMap]{})
		if err != nil || len(list.Items) != 1 || list.Items[0].Data["k"] != fmt.Sprint(i) {
			t.Fatalf("write %d: List = %v, %v", i, list, err)
		}
		// A write elsewhere: the list must be read at least at its revision.
		o := mustCreate(t, other, "ns", fmt.Sprintf("o%d", i))
		list, err = c.List(ctx, "", ListOptions[*corev1.ConfigMap]{})
		if err != nil || must(parseRV(list.ResourceVersion)) < rvOf(t, o) {
			t.Fatalf("after a write at %d elsewhere: list at %s, %v", rvOf(t, o), list.ResourceVersion, err)
		}
	}
	if _, err := direct.Delete(ctx, "ns", "a", Preconditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "ns", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after a delete: %v", err)
	}
}

// TestCacheConsistentReadsConcurrent: many readers racing one writer each
// see at least the writer's last finished write.
func TestCacheConsistentReadsConcurrent(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	obj := mustCreate(t, s, "ns", "a")
	var written atomic.Int64
	written.Store(rvOf(t, obj))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				before := written.Load()
				got, err := c.Get(ctx, "ns", "a")
				if err != nil {
					t.Error(err)
					return
				}
				if rvOf(t, got) < before {
					t.Errorf("read %d after the write at %d had finished", rvOf(t, got), before)
					return
				}
			}
		})
	}
	for i := range 30 {
		obj.Data = map[string]string{"k": fmt.Sprint(i)}
		out, err := s.Update(ctx, "ns", "a", obj)
		if err != nil {
			t.Fatal(err)
		}
		obj = out
		written.Store(rvOf(t, out))
	}
	close(stop)
	wg.Wait()
}

// watchAll reads events until n are read or the channel closes.
func watchAll(t *testing.T, ch <-chan Event[*corev1.ConfigMap], n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		ev, ok := next(t, ch)
		if !ok {
			break
		}
		if ev.Type == Bookmark {
			continue
		}
		out = append(out, describe(ev))
		if ev.Type == Error {
			break
		}
	}
	return out
}

// TestCacheWatchResume: a watch from every revision in the window sees
// what etcd's own watch from there sees; before the window it is Gone.
func TestCacheWatchResume(t *testing.T) {
	s := newStore(t)
	const window = 6
	c := startCache(t, s, CacheOptions{WindowSize: window}, nil)
	ctx := t.Context()
	var revs []int64
	obj := mustCreate(t, s, "ns", "a")
	revs = append(revs, rvOf(t, obj))
	revs = append(revs, rvOf(t, mustCreate(t, s, "other", "x")))
	for i := range 4 {
		obj.Data = map[string]string{"k": fmt.Sprint(i)}
		out, err := s.Update(ctx, "ns", "a", obj)
		if err != nil {
			t.Fatal(err)
		}
		obj = out
		revs = append(revs, rvOf(t, out))
	}
	revs = append(revs, rvOf(t, mustCreate(t, s, "ns", "b")))
	// Two deletes in one revision.
	if _, err := s.DeleteNamespace(ctx, "ns"); err != nil {
		t.Fatal(err)
	}
	cur, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 5*time.Second, "the cache has every write", func() bool { return c.revision() >= cur })
	// 9 events, a window of 6: the first three are gone.
	start := revs[2]
	for _, from := range append(revs[2:], cur) {
		for _, ns := range []string{"", "ns"} {
			t.Run(fmt.Sprintf("from %d in %q", from, ns), func(t *testing.T) {
				wctx, cancel := context.WithCancel(ctx)
				defer cancel()
				want, err := s.Watch(wctx, ns, fmt.Sprint(from))
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Watch(wctx, ns, fmt.Sprint(from))
				if err != nil {
					t.Fatal(err)
				}
				n := len(c.window.after(from, s.prefix+ns))
				if w, g := watchAll(t, want, n), watchAll(t, got, n); !slices.Equal(g, w) {
					t.Fatalf("cache watch:\n%v\netcd watch:\n%v", g, w)
				}
			})
		}
	}
	for _, from := range revs[:2] {
		ch, err := c.Watch(ctx, "", fmt.Sprint(from))
		if err != nil {
			t.Fatal(err)
		}
		if ev, _ := next(t, ch); ev.Type != Error || !errors.Is(ev.Err, ErrGone) {
			t.Fatalf("watch from %d, before the window (after %d): %s", from, start, describe(ev))
		}
	}
}

// TestCacheWatchLive: a watch from now, and from a revision the cache
// has not reached yet, sees the later writes only.
func TestCacheWatchLive(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	now, err := c.Watch(ctx, "", "0")
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s, "ns", "a")
	future, err := c.Watch(ctx, "", fmt.Sprint(rvOf(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	b := mustCreate(t, s, "ns", "b")
	if got := watchAll(t, now, 2); !slices.Equal(got, []string{
		"ADDED ns/a@" + a.Metadata.ResourceVersion + " k=v", "ADDED ns/b@" + b.Metadata.ResourceVersion + " k=v"}) {
		t.Fatalf("watch from 0: %v", got)
	}
	if got := watchAll(t, future, 1); !slices.Equal(got, []string{"ADDED ns/b@" + b.Metadata.ResourceVersion + " k=v"}) {
		t.Fatalf("watch from %d: %v", rvOf(t, a), got)
	}
}

// TestCacheWatchShared: watchers that only read are handed the cache's
// own object for an event, the same one each; a Watch gets its own copy,
// with the same content.
func TestCacheWatchShared(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{}, nil)
	ctx := t.Context()
	tests := map[string]func(context.Context, string, string) (<-chan Event[*corev1.ConfigMap], error){
		"shared":       c.WatchShared,
		"shared again": c.WatchShared,
		"a copy":       c.Watch,
	}
	chans := map[string]<-chan Event[*corev1.ConfigMap]{}
	for name, watch := range tests {
		ch, err := watch(ctx, "ns", "0")
		if err != nil {
			t.Fatal(err)
		}
		chans[name] = ch
	}
	mustCreate(t, s, "ns", "a")
	got := map[string]*corev1.ConfigMap{}
	for name, ch := range chans {
		select {
		case ev := <-ch:
			if ev.Type != Added || ev.Object.GetMetadata().GetName() != "a" {
				t.Fatalf("%s: %s", name, describe(ev))
			}
			got[name] = ev.Object
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event", name)
		}
	}
	if got["shared"] != got["shared again"] {
		t.Error("two shared watchers were handed different objects")
	}
	if got["a copy"] == got["shared"] || !proto.Equal(got["a copy"], got["shared"]) {
		t.Error("Watch was not handed an equal copy of its own")
	}
}

// TestCacheSlowWatcher: a watcher that does not read is closed with an
// error once its buffer is full; the cache and the other watchers go on.
func TestCacheSlowWatcher(t *testing.T) {
	s := newStore(t)
	c := startCache(t, s, CacheOptions{WatcherBuffer: 2}, nil)
	ctx := t.Context()
	slow, err := c.Watch(ctx, "", "0")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.Watch(ctx, "", "0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	var fastSeen []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range fast {
			if ev.Type != Bookmark {
				fastSeen = append(fastSeen, describe(ev))
			}
			if len(fastSeen) == n {
				return
			}
		}
	}()
	for i := range n {
		mustCreate(t, s, "ns", fmt.Sprint("o", i))
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the fast watcher saw %d of %d events", len(fastSeen), n)
	}
	var last Event[*corev1.ConfigMap]
	seen := 0
	for ev := range slow {
		last = ev
		seen++
	}
	if last.Type != Error || !errors.Is(last.Err, ErrWatcherTooSlow) || seen > 2+1+1 {
		t.Fatalf("the slow watcher saw %d events, the last %s", seen, describe(last))
	}
}

func TestEventRing(t *testing.T) {
	tests := map[string]struct {
		size      int
		revs      []int64
		wantStart int64
		wantAfter []int64 // after revision 0
	}{
		"empty":            {size: 3, wantStart: 10},
		"not full":         {size: 3, revs: []int64{11, 12}, wantStart: 10, wantAfter: []int64{11, 12}},
		"full":             {size: 3, revs: []int64{11, 12, 13}, wantStart: 10, wantAfter: []int64{11, 12, 13}},
		"wrapped":          {size: 3, revs: []int64{11, 12, 13, 14, 15}, wantStart: 12, wantAfter: []int64{13, 14, 15}},
		"a revision split": {size: 2, revs: []int64{11, 11, 12}, wantStart: 11, wantAfter: []int64{11, 12}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := newEventRing[*corev1.ConfigMap](tc.size)
			r.reset(10)
			for _, rev := range tc.revs {
				r.add(cacheEvent[*corev1.ConfigMap]{key: "/p/k", rev: rev})
			}
			var after []int64
			for _, ev := range r.after(0, "/p/") {
				after = append(after, ev.rev)
			}
			if r.startRev != tc.wantStart || !slices.Equal(after, tc.wantAfter) {
				t.Fatalf("start %d, events %v; want %d, %v", r.startRev, after, tc.wantStart, tc.wantAfter)
			}
		})
	}
}

// TestRevisionBatcher: readers share a fetch, but never one sent before
// they asked.
func TestRevisionBatcher(t *testing.T) {
	var fetches atomic.Int64
	release := make(chan struct{})
	b := &revisionBatcher{timeout: 5 * time.Second, fetch: func(ctx context.Context) (int64, error) {
		n := fetches.Add(1)
		<-release
		return n, nil
	}}
	ctx := t.Context()
	first := make(chan int64)
	go func() { rev, _ := b.get(ctx); first <- rev }()
	testwait.Until(t, 5*time.Second, "the first fetch sent", func() bool { return fetches.Load() == 1 })
	// Asked while fetch 1 is in flight: they wait for fetch 2, together.
	later := make(chan int64, 5)
	for range 5 {
		go func() { rev, _ := b.get(ctx); later <- rev }()
	}
	testwait.Until(t, 5*time.Second, "the later readers waiting", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.next != nil && b.next.readers == 5
	})
	close(release)
	if rev := <-first; rev != 1 {
		t.Fatalf("the first reader got fetch %d", rev)
	}
	for range 5 {
		if rev := <-later; rev != 2 {
			t.Fatalf("a later reader got fetch %d, want 2", rev)
		}
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func must(n int64, err error) int64 {
	if err != nil {
		return -1
	}
	return n
}
