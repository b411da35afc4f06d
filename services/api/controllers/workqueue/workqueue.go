// Package workqueue is the bounded work queue of the built-in
// controllers (client-go's rate-limited workqueue, in our words): a key
// is queued once however often it is added, is never handed to two
// workers at once, and a failed key comes back after a backoff that grows
// per key. The queue holds at most MaxLen keys; past that Add refuses and
// the caller knows to resync later, so memory stays bounded.
package workqueue

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// Options bound a queue.
type Options struct {
	// MaxLen is the most keys queued or waiting at once.
	MaxLen int
	// BaseDelay is a key's first retry delay, doubled per failure up to
	// MaxDelay.
	BaseDelay, MaxDelay time.Duration
}

// Defaults are the options of the built-in controllers.
func Defaults() Options {
	return Options{MaxLen: 100_000, BaseDelay: 50 * time.Millisecond, MaxDelay: 30 * time.Second}
}

// Validate reports options a queue cannot work with.
func (o Options) Validate() error {
	var errs []error
	if o.MaxLen <= 0 {
		errs = append(errs, errors.New("workqueue: MaxLen must be positive"))
	}
	if o.BaseDelay <= 0 || o.MaxDelay < o.BaseDelay {
		errs = append(errs, errors.New("workqueue: 0 < BaseDelay <= MaxDelay is required"))
	}
	return errors.Join(errs...)
}

// Queue is a deduplicating queue of keys K.
type Queue[K comparable] struct {
	o   Options
	now func() time.Time

	mu         sync.Mutex
	items      []K
	dirty      map[K]bool // queued, or to queue again once Done
	processing map[K]bool
	waiting    map[K]time.Time // delayed adds: when each is due
	due        dueHeap[K]
	failures   map[K]int
	wake       chan struct{}
}

// New makes a queue; o must be valid.
func New[K comparable](o Options) (*Queue[K], error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Queue[K]{
		o: o, now: time.Now,
		dirty: map[K]bool{}, processing: map[K]bool{}, waiting: map[K]time.Time{}, failures: map[K]int{},
		wake: make(chan struct{}, 1),
	}, nil
}

// Add queues k; false when the queue is full and k was not queued.
func (q *Queue[K]) Add(k K) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.add(k)
}

func (q *Queue[K]) add(k K) bool {
	if q.dirty[k] {
		return true
	}
	if _, ok := q.waiting[k]; !ok && len(q.dirty)+len(q.waiting) >= q.o.MaxLen {
		return false
	}
	delete(q.waiting, k)
	q.dirty[k] = true
	if !q.processing[k] {
		q.items = append(q.items, k)
		q.signal()
	}
	return true
}

// AddAfter queues k once d has passed (at once when d <= 0); false when
// the queue is full.
func (q *Queue[K]) AddAfter(k K, d time.Duration) bool {
	if d <= 0 {
		return q.Add(k)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dirty[k] {
		return true
	}
	at := q.now().Add(d)
	if cur, ok := q.waiting[k]; ok {
		if !at.Before(cur) {
			return true
		}
	} else if len(q.dirty)+len(q.waiting) >= q.o.MaxLen {
		return false
	}
	q.waiting[k] = at
	heap.Push(&q.due, dueItem[K]{k: k, at: at})
	q.signal()
	return true
}

// Retry queues k again after its backoff, which doubles with each retry
// until Forget.
func (q *Queue[K]) Retry(k K) bool {
	q.mu.Lock()
	n := q.failures[k]
	q.failures[k] = n + 1
	q.mu.Unlock()
	d := q.o.BaseDelay
	for i := 0; i < n && d < q.o.MaxDelay; i++ {
		d *= 2
	}
	return q.AddAfter(k, min(d, q.o.MaxDelay))
}

// Forget resets k's backoff (it succeeded).
func (q *Queue[K]) Forget(k K) {
	q.mu.Lock()
	delete(q.failures, k)
	q.mu.Unlock()
}

// Get waits for a key to work on; false once ctx ends. Done must follow.
func (q *Queue[K]) Get(ctx context.Context) (K, bool) {
	for {
		q.mu.Lock()
		wait := q.promote()
		if len(q.items) > 0 {
			k := q.items[0]
			var zero K
			q.items[0] = zero
			q.items = q.items[1:]
			q.processing[k] = true
			delete(q.dirty, k)
			if len(q.items) > 0 {
				q.signal() // the next waiting worker
			}
			q.mu.Unlock()
			return k, true
		}
		q.mu.Unlock()
		if !q.sleep(ctx, wait) {
			var zero K
			return zero, false
		}
	}
}

// sleep waits for a signal, or wait (0: no limit); false once ctx ends.
func (q *Queue[K]) sleep(ctx context.Context, wait time.Duration) bool {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-q.wake:
	case <-timer:
	}
	return true
}

// promote moves the delayed keys that are due into the queue and returns
// how long until the next is (0: none waiting).
func (q *Queue[K]) promote() time.Duration {
	now := q.now()
	for q.due.Len() > 0 {
		next := q.due[0]
		if at, ok := q.waiting[next.k]; !ok || !at.Equal(next.at) {
			heap.Pop(&q.due) // superseded
			continue
		}
		if next.at.After(now) {
			return next.at.Sub(now)
		}
		heap.Pop(&q.due)
		delete(q.waiting, next.k)
		q.dirty[next.k] = true
		if !q.processing[next.k] {
			q.items = append(q.items, next.k)
		}
	}
	return 0
}

// Done ends the work on k; if it was added meanwhile it is queued again.
func (q *Queue[K]) Done(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, k)
	if q.dirty[k] {
		q.items = append(q.items, k)
		q.signal()
	}
}

// Len is how many keys are queued or waiting.
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.dirty) + len(q.waiting)
}

func (q *Queue[K]) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

type dueItem[K comparable] struct {
	k  K
	at time.Time
}

type dueHeap[K comparable] []dueItem[K]

func (h dueHeap[K]) Len() int           { return len(h) }
func (h dueHeap[K]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap[K]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap[K]) Push(x any)        { *h = append(*h, x.(dueItem[K])) }
func (h *dueHeap[K]) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
