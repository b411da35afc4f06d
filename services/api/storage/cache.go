package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
)

// ErrWatcherTooSlow ends a cache watch whose consumer fell more than
// CacheOptions.WatcherBuffer events behind; it may watch again from the
// last resourceVersion it saw.
var ErrWatcherTooSlow = errors.New("storage: the watcher could not keep up; watch again from its last resourceVersion")

// errCacheStopped ends the watches of a stopped cache.
var errCacheStopped = errors.New("storage: the watch cache stopped")

// CacheOptions configure a Cache; the zero value is the defaults.
type CacheOptions struct {
	// WindowSize is how many recent events the cache keeps for watches
	// that resume from a resourceVersion (kube-apiserver's
	// --default-watch-cache-size); older ones get ErrGone. Default 100.
	WindowSize int
	// WatcherBuffer is how many events one watcher may fall behind
	// before it is closed with ErrWatcherTooSlow. Default 100.
	WatcherBuffer int
	// MaxWait bounds how long a consistent read waits for the cache to
	// reach etcd's current revision; past it etcd answers. Default 3s.
	MaxWait time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Validate reports options out of range.
func (o CacheOptions) Validate() error {
	var errs []error
	if o.WindowSize < 0 {
		errs = append(errs, fmt.Errorf("storage: watch cache window size %d is negative", o.WindowSize))
	}
	if o.WatcherBuffer < 0 {
		errs = append(errs, fmt.Errorf("storage: watch cache watcher buffer %d is negative", o.WatcherBuffer))
	}
	if o.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("storage: watch cache wait %s is negative", o.MaxWait))
	}
	return errors.Join(errs...)
}

func (o CacheOptions) withDefaults() CacheOptions {
	if o.WindowSize == 0 {
		o.WindowSize = 100
	}
	if o.WatcherBuffer == 0 {
		o.WatcherBuffer = 100
	}
	if o.MaxWait == 0 {
		o.MaxWait = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// progressRetry is how often the cache asks etcd for watch progress
// again while a consistent read waits (etcd ignores a request while the
// watch is catching up).
const progressRetry = 100 * time.Millisecond

// Cache is the watch cache of one resource, as kube-apiserver's cacher:
// it lists the store's prefix once, then follows it with one etcd watch,
// keeping every object decoded in memory and a window of recent events.
// Gets, lists and watches are served from memory with the store's
// semantics; writes go to the store.
//
//   - A read without resourceVersion is as fresh as a quorum read: the
//     cache fetches etcd's current revision (one fetch shared by every
//     reader that arrived before it was sent) and waits until its watch
//     has reached it, asking etcd for watch progress when nothing changes
//     (kube-apiserver's consistent reads from cache, KEP-2340).
//   - List with ResourceVersion "0" is answered at once from whatever the
//     cache holds; an exact ResourceVersion and continue tokens (later
//     pages are read at the first page's revision, which etcd keeps and
//     the cache does not) are answered by the store.
//   - Watch from a revision replays the window after it, then follows;
//     older than the window (or compacted in etcd) is ErrGone.
//
// When the etcd watch ends the cache watches again from its revision;
// when that revision has been compacted it lists again and ends every
// watch with ErrGone, so their clients list again, as kube-apiserver's
// cacher does. Until the first list, and while listing again, every call
// goes to the store.
type Cache[T Object] struct {
	store *Store[T]
	opts  CacheOptions
	log   *slog.Logger
	revs  revisionBatcher

	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	kick    chan struct{} // a waiting reader wants watch progress
	waiting atomic.Int32  // readers waiting for the cache to catch up

	mu sync.RWMutex
	// ready: the state below follows etcd; false before the first list
	// and while listing again.
	ready bool
	// rev is the revision the cache holds: every event up to it is applied.
	rev int64
	// objects by key, with resourceVersion set; never modified once here.
	objects map[string]T
	keys    []string // of objects, sorted
	window  eventRing[T]
	// watchers receive the events after they are applied.
	watchers map[*cacheWatcher[T]]struct{}
	// changed is closed and replaced whenever rev or ready changes.
	changed chan struct{}
	// stream is the context of the current etcd watch (progress requests
	// must name its stream), endWatch ends it; nil between watches.
	stream   context.Context
	endWatch context.CancelFunc
	// lastBookmark is when watchers were last sent a bookmark.
	lastBookmark time.Time

	// beforeWatch, when set (tests), runs before each etcd watch is
	// opened, from the cache's revision.
	beforeWatch func(fromRev int64)
}

// NewCache starts the watch cache of s; Stop ends it. Options out of
// range panic (check them with Validate).
func NewCache[T Object](s *Store[T], o CacheOptions) *Cache[T] {
	return newCache(s, o, nil)
}

// newCache is NewCache with a hook run before each etcd watch.
func newCache[T Object](s *Store[T], o CacheOptions, beforeWatch func(int64)) *Cache[T] {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache[T]{
		store: s, opts: o, log: o.Logger.With("prefix", s.prefix),
		revs: revisionBatcher{fetch: s.CurrentRevision, timeout: o.MaxWait},
		ctx:  ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1),
		objects: map[string]T{}, window: newEventRing[T](o.WindowSize),
		watchers: map[*cacheWatcher[T]]struct{}{}, changed: make(chan struct{}),
		beforeWatch: beforeWatch,
	}
	go c.run()
	go c.requestProgress()
	return c
}

// Stop ends the cache and its watches and waits for its etcd watch to end.
func (c *Cache[T]) Stop() {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready = false
	c.dropAllLocked(errCacheStopped)
	c.broadcastLocked()
}

// Create writes to the store.
func (c *Cache[T]) Create(ctx context.Context, namespace, name string, obj T) (T, error) {
	return c.store.Create(ctx, namespace, name, obj)
}

// Update writes to the store.
func (c *Cache[T]) Update(ctx context.Context, namespace, name string, obj T) (T, error) {
	return c.store.Update(ctx, namespace, name, obj)
}

// Delete writes to the store.
func (c *Cache[T]) Delete(ctx context.Context, namespace, name string, pre Preconditions) (T, error) {
	return c.store.Delete(ctx, namespace, name, pre)
}

// DeleteNamespace writes to the store.
func (c *Cache[T]) DeleteNamespace(ctx context.Context, namespace string) (int64, error) {
	return c.store.DeleteNamespace(ctx, namespace)
}

// RewriteStale rewrites in the store (it reads the stored values).
func (c *Cache[T]) RewriteStale(ctx context.Context) (int, error) {
	return c.store.RewriteStale(ctx)
}

// Get returns the current object, as fresh as the store's linearizable
// read, or ErrNotFound.
func (c *Cache[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	return c.get(ctx, namespace, name, false)
}

// GetShared is Get for a caller that only reads the object (encodes
// it): it is handed the cache's own, never modified once held, not a
// copy.
func (c *Cache[T]) GetShared(ctx context.Context, namespace, name string) (T, error) {
	return c.get(ctx, namespace, name, true)
}

func (c *Cache[T]) get(ctx context.Context, namespace, name string, shared bool) (T, error) {
	var zero T
	key, err := c.store.key(namespace, name)
	if err != nil {
		return zero, err
	}
	ok, err := c.fresh(ctx)
	if err != nil {
		return zero, err
	}
	if !ok {
		return c.store.Get(ctx, namespace, name)
	}
	c.mu.RLock()
	obj, found := c.objects[key]
	c.mu.RUnlock()
	if !found {
		return zero, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if shared {
		return obj, nil
	}
	return proto.Clone(obj).(T), nil
}

// List is Store.List: from memory unless the options ask for an exact
// revision or continue a paged list.
func (c *Cache[T]) List(ctx context.Context, namespace string, o ListOptions[T]) (ListResult[T], error) {
	prefix, err := c.store.listPrefix(namespace)
	if err != nil {
		return ListResult[T]{}, err
	}
	switch {
	case o.Continue != "", o.ResourceVersion != "" && o.ResourceVersion != "0":
		return c.store.List(ctx, namespace, o)
	case o.ResourceVersion == "0":
		if !c.isReady() {
			return c.store.List(ctx, namespace, o)
		}
	default:
		ok, err := c.fresh(ctx)
		if err != nil {
			return ListResult[T]{}, err
		}
		if !ok {
			return c.store.List(ctx, namespace, o)
		}
	}
	res := c.list(prefix, o)
	if !o.ReadOnly {
		for i, obj := range res.Items {
			res.Items[i] = proto.Clone(obj).(T)
		}
	}
	return res, nil
}

// list reads one page from memory, as Store.List pages etcd.
func (c *Cache[T]) list(prefix string, o ListOptions[T]) ListResult[T] {
	c.mu.RLock()
	defer c.mu.RUnlock()
	first, _ := slices.BinarySearch(c.keys, prefix)
	res := ListResult[T]{Items: make([]T, 0), ResourceVersion: fmt.Sprint(c.rev)}
	paging := o.Limit > 0
	var lastKey string
	i := first
	for ; i < len(c.keys) && strings.HasPrefix(c.keys[i], prefix); i++ {
		if paging && int64(len(res.Items)) >= o.Limit {
			break
		}
		obj := c.objects[c.keys[i]]
		if o.Filter == nil || o.Filter(obj) {
			res.Items = append(res.Items, obj)
			lastKey = c.keys[i]
		}
	}
	if paging && int64(len(res.Items)) >= o.Limit && i < len(c.keys) && strings.HasPrefix(c.keys[i], prefix) {
		res.Continue = encodeContinue(c.rev, strings.TrimPrefix(lastKey, prefix)+"\x00")
		if o.Filter == nil {
			end, _ := slices.BinarySearch(c.keys, clientv3.GetPrefixRangeEnd(prefix))
			n := int64(end-first) - int64(len(res.Items))
			res.RemainingItemCount = &n
		}
	}
	return res
}

// RequestProgress is Store.RequestProgress for the cache's watchers: it
// asks etcd for the progress of the cache's own watch, and the watchers
// get a Bookmark when that moves the cache forward. While the cache is not
// ready its watches are the store's, so the store is asked.
func (c *Cache[T]) RequestProgress(ctx context.Context) error {
	if !c.isReady() {
		return c.store.RequestProgress(ctx)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// Watch is Store.Watch served from memory: from "0" it starts at the
// cache's revision, from "" at etcd's current one, from a revision it
// replays the window after it (ErrGone before the window or when etcd
// has compacted it).
func (c *Cache[T]) Watch(ctx context.Context, namespace, fromRV string) (<-chan Event[T], error) {
	return c.watch(ctx, namespace, fromRV, false)
}

// WatchShared is Watch for a consumer that only reads the events'
// objects (encodes them): it is handed the cache's own objects, never
// modified once held, instead of a copy each. With a thousand watchers
// of one namespace, that is a thousand copies fewer per event.
func (c *Cache[T]) WatchShared(ctx context.Context, namespace, fromRV string) (<-chan Event[T], error) {
	return c.watch(ctx, namespace, fromRV, true)
}

func (c *Cache[T]) watch(ctx context.Context, namespace, fromRV string, shared bool) (<-chan Event[T], error) {
	prefix, err := c.store.listPrefix(namespace)
	if err != nil {
		return nil, err
	}
	var from int64
	if fromRV != "" && fromRV != "0" {
		if from, err = parseRV(fromRV); err != nil {
			return nil, err
		}
	}
	if fromRV == "" {
		ok, err := c.fresh(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			return c.store.Watch(ctx, namespace, fromRV)
		}
	}
	if from > 0 && from < c.revision() {
		// A replay: etcd may have compacted what the window still holds.
		gone, err := c.compacted(ctx, from)
		if err != nil {
			return nil, err
		}
		if gone {
			return failed[T](fmt.Errorf("%w: watch from revision %d: compacted", ErrGone, from)), nil
		}
	}
	c.mu.Lock()
	if !c.ready {
		c.mu.Unlock()
		return c.store.Watch(ctx, namespace, fromRV)
	}
	if from == 0 {
		from = c.rev
	}
	if from < c.window.startRev {
		c.mu.Unlock()
		return failed[T](fmt.Errorf("%w: watch from revision %d, the cache's window starts after %d", ErrGone, from, c.window.startRev)), nil
	}
	w := &cacheWatcher[T]{
		prefix: prefix, from: from, pos: max(from, c.rev), shared: shared,
		in: make(chan cacheEvent[T], c.opts.WatcherBuffer), stop: make(chan struct{}),
	}
	replay := c.window.after(from, prefix)
	c.watchers[w] = struct{}{}
	c.mu.Unlock()
	out := make(chan Event[T])
	go c.serve(ctx, w, replay, out)
	return out, nil
}

// failed is a watch that ends with err at once.
func failed[T Object](err error) <-chan Event[T] {
	ch := make(chan Event[T], 1)
	ch <- Event[T]{Type: Error, Err: err}
	close(ch)
	return ch
}

// compacted reports whether etcd can no longer replay the events after
// revision from (a watch from it would fail as compacted).
func (c *Cache[T]) compacted(ctx context.Context, from int64) (bool, error) {
	_, err := c.store.client.Get(ctx, c.store.prefix, clientv3.WithRev(from+1), clientv3.WithCountOnly())
	switch {
	case err == nil, errors.Is(err, rpctypes.ErrFutureRev):
		return false, nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return true, nil
	}
	return false, etcdErr(err)
}

func (c *Cache[T]) isReady() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

func (c *Cache[T]) revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// fresh waits until the cache holds etcd's current revision; false when
// the store must answer instead (the cache is not ready, or did not
// catch up within MaxWait).
func (c *Cache[T]) fresh(ctx context.Context) (bool, error) {
	if !c.isReady() {
		return false, nil
	}
	want, err := c.revs.get(ctx)
	if err != nil {
		return false, err
	}
	return c.waitFor(ctx, want)
}

// waitFor waits until the cache holds revision want.
func (c *Cache[T]) waitFor(ctx context.Context, want int64) (bool, error) {
	var deadline <-chan time.Time
	for {
		c.mu.RLock()
		ready, rev, changed := c.ready, c.rev, c.changed
		c.mu.RUnlock()
		switch {
		case !ready:
			return false, nil
		case rev >= want:
			return true, nil
		}
		if deadline == nil {
			c.waiting.Add(1)
			defer c.waiting.Add(-1)
			t := time.NewTimer(c.opts.MaxWait)
			defer t.Stop()
			deadline = t.C
			// Nothing may change under the prefix: ask etcd to say how
			// far the watch has come.
			select {
			case c.kick <- struct{}{}:
			default:
			}
		}
		select {
		case <-changed:
		case <-deadline:
			c.log.Debug("watch cache did not catch up; reading etcd", "want", want, "have", rev)
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// requestProgress asks etcd for the progress of the cache's watch when a
// reader waits, and again every progressRetry while one does.
func (c *Cache[T]) requestProgress() {
	retry := time.NewTimer(progressRetry)
	defer retry.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		case <-retry.C:
		}
		if c.waiting.Load() == 0 {
			continue // no retry armed until the next kick
		}
		retry.Reset(progressRetry)
		c.mu.RLock()
		stream := c.stream
		c.mu.RUnlock()
		if stream == nil {
			continue
		}
		if err := c.store.client.RequestProgress(stream); err != nil && stream.Err() == nil {
			c.log.Debug("watch progress request failed", "error", err)
		}
	}
}

// broadcastLocked wakes everyone waiting for rev or ready; c.mu is held.
func (c *Cache[T]) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
