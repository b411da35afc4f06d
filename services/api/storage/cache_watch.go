package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/backoff"
)

// bookmarkInterval is the least time between two bookmarks the cache
// sends its watchers (each progress notification from etcd advances the
// cache; bookmarks need not follow every one).
const bookmarkInterval = time.Second

// cacheEvent is one change in the window and on its way to watchers.
// obj is shared (the cache's own copy): watchers hand out clones.
type cacheEvent[T Object] struct {
	typ EventType
	key string
	obj T
	rev int64
}

// run keeps the cache following etcd until Stop: list, then watch; when
// the watch ends, watch again from the cache's revision, or list again
// when that revision is gone.
func (c *Cache[T]) run() {
	defer close(c.done)
	backoff.Streams().Loop(c.ctx, func(ctx context.Context) error {
		if !c.isReady() {
			if err := c.relist(ctx); err != nil {
				return err
			}
		}
		return c.follow(ctx)
	}, func(err error, retryIn time.Duration) {
		c.log.Info("watch cache: etcd watch ended; watching again", "error", err, "retry-in", retryIn)
	})
}

// relist reads the whole prefix at one revision and makes it the cache's
// state, with an empty window starting there.
func (c *Cache[T]) relist(ctx context.Context) error {
	objects := map[string]T{}
	var keys []string
	var rev int64
	start, end := c.store.prefix, clientv3.GetPrefixRangeEnd(c.store.prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(maxListBatch)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := c.store.client.Get(ctx, start, opts...)
		if err != nil {
			return fmt.Errorf("watch cache: list: %w", etcdErr(err))
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			obj, err := c.store.decode(kv, kv.ModRevision)
			if err != nil {
				return fmt.Errorf("watch cache: list: %w", err)
			}
			objects[string(kv.Key)] = obj
			keys = append(keys, string(kv.Key))
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects, c.keys, c.rev = objects, keys, rev
	c.window.reset(rev)
	c.ready = true
	c.broadcastLocked()
	c.log.Info("watch cache: listed", "objects", len(keys), "revision", rev)
	return nil
}

// follow watches etcd from the cache's revision and applies what it
// sees until the watch ends. A compacted revision or an event the cache
// cannot read makes the cache not ready, so that run lists again.
func (c *Cache[T]) follow(ctx context.Context) error {
	from := c.revision()
	if c.beforeWatch != nil {
		c.beforeWatch(from)
	}
	// A stream of its own (the metadata names it): etcd answers a
	// progress request only when every watch on the stream is in sync.
	sctx := metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "portico-watch-cache", c.store.prefix)
	sctx, cancel := context.WithCancel(sctx)
	defer cancel()
	c.mu.Lock()
	c.stream, c.endWatch = sctx, cancel
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.stream, c.endWatch = nil, nil
		c.mu.Unlock()
	}()
	wch := c.store.client.Watch(sctx, c.store.prefix,
		clientv3.WithPrefix(), clientv3.WithRev(from+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for resp := range wch {
		switch {
		case resp.CompactRevision != 0:
			err := fmt.Errorf("%w: the watch cache's revision %d was compacted up to %d", ErrGone, from, resp.CompactRevision)
			c.invalidate(err)
			return err
		case resp.Err() != nil:
			return etcdErr(resp.Err())
		case resp.IsProgressNotify():
			c.progress(resp.Header.Revision)
		default:
			if err := c.apply(resp.Events); err != nil {
				c.invalidate(err)
				return err
			}
		}
	}
	return errors.New("storage: etcd closed the watch")
}

// breakWatch ends the current etcd watch, as etcd ending it would (tests).
func (c *Cache[T]) breakWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endWatch != nil {
		c.endWatch()
	}
}

// invalidate makes the cache not ready and ends every watch with err
// wrapped as ErrGone: their position may be missing from the next list.
func (c *Cache[T]) invalidate(err error) {
	c.log.Warn("watch cache: listing again; every watch ends with 410 Gone", "error", err)
	if !errors.Is(err, ErrGone) {
		err = fmt.Errorf("%w: %v", ErrGone, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready = false
	c.dropAllLocked(err)
	c.broadcastLocked()
}

// progress records that etcd has sent every event up to rev.
func (c *Cache[T]) progress(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev <= c.rev {
		return
	}
	c.rev = rev
	c.broadcastLocked()
	if now := time.Now(); now.Sub(c.lastBookmark) >= bookmarkInterval {
		c.lastBookmark = now
		c.dispatchLocked(cacheEvent[T]{typ: Bookmark, rev: rev})
	}
}

// apply decodes one watch response's events and applies them at once:
// etcd never splits a revision between responses, so readers see whole
// revisions only.
func (c *Cache[T]) apply(events []*clientv3.Event) error {
	if len(events) == 0 {
		return nil
	}
	type decoded struct {
		key string
		obj T
		ok  bool
	}
	puts := make([]decoded, len(events))
	for i, e := range events {
		if e.Type == mvccpb.DELETE {
			continue
		}
		obj, err := c.store.decode(e.Kv, e.Kv.ModRevision)
		if err != nil {
			return err
		}
		puts[i] = decoded{key: string(e.Kv.Key), obj: obj, ok: true}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range events {
		key, rev := string(e.Kv.Key), e.Kv.ModRevision
		ev := cacheEvent[T]{key: key, rev: rev}
		idx, exists := slices.BinarySearch(c.keys, key)
		switch {
		case e.Type == mvccpb.DELETE:
			old, ok := c.objects[key]
			if !ok {
				if e.PrevKv == nil {
					return fmt.Errorf("storage: delete event for %s, which the cache does not hold, without its previous value", key)
				}
				var err error
				if old, err = c.store.decode(e.PrevKv, rev); err != nil {
					return err
				}
			}
			ev.typ, ev.obj = Deleted, proto.Clone(old).(T)
			setResourceVersion(ev.obj, rev)
			delete(c.objects, key)
			if exists {
				c.keys = slices.Delete(c.keys, idx, idx+1)
			}
		default:
			ev.typ, ev.obj = Modified, puts[i].obj
			if e.IsCreate() {
				ev.typ = Added
			}
			c.objects[key] = ev.obj
			if !exists {
				c.keys = slices.Insert(c.keys, idx, key)
			}
		}
		c.window.add(ev)
		c.dispatchLocked(ev)
		c.rev = max(c.rev, rev)
	}
	c.broadcastLocked()
	return nil
}

// cacheWatcher is one Watch served by the cache.
type cacheWatcher[T Object] struct {
	prefix string
	// from is the revision it watches after; pos the last one queued.
	from, pos int64
	// in holds the events queued for it; the cache never blocks on it.
	in chan cacheEvent[T]
	// stop is closed, after err is set, when the cache drops it.
	stop chan struct{}
	err  error
	// shared: its consumer only reads the objects (WatchShared).
	shared bool
}

// dispatchLocked queues ev for every watcher it concerns; one whose
// queue is full is dropped with ErrWatcherTooSlow. c.mu is held.
func (c *Cache[T]) dispatchLocked(ev cacheEvent[T]) {
	for w := range c.watchers {
		if ev.typ == Bookmark {
			if ev.rev <= w.pos {
				continue
			}
		} else if ev.rev <= w.from || !strings.HasPrefix(ev.key, w.prefix) {
			// One revision may hold several events: only from and the
			// prefix decide.
			continue
		}
		select {
		case w.in <- ev:
			w.pos = ev.rev
		default:
			if ev.typ == Bookmark {
				continue // carries no change
			}
			c.log.Warn("watch cache: a watcher fell behind; closing it", "buffer", c.opts.WatcherBuffer)
			c.dropLocked(w, ErrWatcherTooSlow)
		}
	}
}

func (c *Cache[T]) dropLocked(w *cacheWatcher[T], err error) {
	delete(c.watchers, w)
	w.err = err
	close(w.stop)
}

func (c *Cache[T]) dropAllLocked(err error) {
	for w := range c.watchers {
		c.dropLocked(w, err)
	}
}

// serve hands a watcher's events to its consumer: the replay first,
// then what the cache queues; when the cache drops it, what was queued
// and then an Error event.
func (c *Cache[T]) serve(ctx context.Context, w *cacheWatcher[T], replay []cacheEvent[T], out chan<- Event[T]) {
	defer close(out)
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.watchers[w]; ok {
			delete(c.watchers, w)
		}
	}()
	send := func(ev Event[T]) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, ev := range replay {
		if !send(c.event(ev, w.shared)) {
			return
		}
	}
	for {
		select {
		case ev := <-w.in:
			if !send(c.event(ev, w.shared)) {
				return
			}
		case <-w.stop:
			for {
				select {
				case ev := <-w.in:
					if !send(c.event(ev, w.shared)) {
						return
					}
				default:
					send(Event[T]{Type: Error, Err: w.err})
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// event is ev for its consumer: its own copy unless shared.
func (c *Cache[T]) event(ev cacheEvent[T], shared bool) Event[T] {
	if ev.typ == Bookmark {
		bm := c.store.newObj()
		setResourceVersion(bm, ev.rev)
		return Event[T]{Type: Bookmark, Object: bm}
	}
	if shared {
		return Event[T]{Type: ev.typ, Object: ev.obj}
	}
	return Event[T]{Type: ev.typ, Object: proto.Clone(ev.obj).(T)}
}

// eventRing is the window of recent events: a ring of fixed size.
type eventRing[T Object] struct {
	buf      []cacheEvent[T]
	first, n int
	// startRev: every event after it is in the ring.
	startRev int64
}

func newEventRing[T Object](size int) eventRing[T] {
	return eventRing[T]{buf: make([]cacheEvent[T], size)}
}

// reset empties the ring, which then starts after rev.
func (r *eventRing[T]) reset(rev int64) {
	clear(r.buf)
	r.first, r.n, r.startRev = 0, 0, rev
}

// add appends ev, dropping the oldest event when the ring is full.
func (r *eventRing[T]) add(ev cacheEvent[T]) {
	if r.n == len(r.buf) {
		r.startRev = r.buf[r.first].rev
		r.buf[r.first] = cacheEvent[T]{}
		r.first = (r.first + 1) % len(r.buf)
		r.n--
	}
	r.buf[(r.first+r.n)%len(r.buf)] = ev
	r.n++
}

// after returns the events after rev under prefix, oldest first.
func (r *eventRing[T]) after(rev int64, prefix string) []cacheEvent[T] {
	var out []cacheEvent[T]
	for i := range r.n {
		ev := r.buf[(r.first+i)%len(r.buf)]
		if ev.rev > rev && strings.HasPrefix(ev.key, prefix) {
			out = append(out, ev)
		}
	}
	return out
}
