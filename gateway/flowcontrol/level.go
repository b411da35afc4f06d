package flowcontrol

import (
	"context"
	"sync"
	"time"
)

// level is one priority level's seats and queues.
//
// Fair queuing: each flow has its own FIFO queue of waiting requests
// (at most QueueLengthLimit long; all flows together at most
// MaxWaiting). When a seat frees, it goes to the waiting flow with the
// fewest requests executing, ties to the flow given a seat longest ago
// (a flow new to the level first), then to the earliest request. So a
// flow holding many seats (slow requests, or just many) is served last,
// and a flow that has none is served next: under contention each flow
// gets about an equal share of the seats (max-min fairness), and a
// flow's flood only lengthens its own queue.
//
// No goroutine runs for the scheduler: a waiting request blocks on its
// own channel in its own handler goroutine, and the request that frees a
// seat hands it on. The flows map holds only flows with a request
// executing or waiting, so it is bounded by seats + MaxWaiting and an
// idle flow is dropped at once.
type level struct {
	name   string
	uid    string
	exempt bool
	// seats is the concurrency limit; 0 is no limit.
	seats       int
	queueLength int
	maxWaiting  int

	mu        sync.Mutex
	executing int
	waiting   int
	flows     map[string]*flow
	// queued are the flows with waiting requests.
	queued []*flow
	// seq numbers seats given and requests queued, in order.
	seq uint64
}

type flow struct {
	key       string
	executing int
	// served is the seq of the flow's last seat; 0 for none yet.
	served uint64
	queue  []*waiter
}

// waiter is one request waiting for a seat.
type waiter struct {
	flow   *flow
	schema *schema
	since  time.Time
	seq    uint64        // arrival order
	ready  chan struct{} // closed when the request is given a seat
	// dispatched is set, under the level's lock, when the seat is given.
	dispatched bool
}

func newLevel(c LevelConfig, seats int) *level {
	l := &level{name: c.Name, uid: uid("prioritylevel", c.Name), exempt: c.Exempt, seats: seats,
		queueLength: c.QueueLengthLimit, maxWaiting: c.MaxWaiting, flows: map[string]*flow{}}
	if l.maxWaiting == 0 {
		l.maxWaiting = c.QueueLengthLimit * 128
	}
	if l.exempt {
		l.seats = 0
	}
	return l
}

// acquire waits for a seat for flow key, at most wait; it returns the
// function that gives the seat back, or the reason it was refused
// ("concurrency-limit", "queue-full", "time-out", "cancelled").
func (l *level) acquire(ctx context.Context, s *schema, key string, wait time.Duration) (func(), string) {
	start := time.Now()
	l.mu.Lock()
	if l.seats == 0 { // exempt, or no limit: no flows to keep
		l.startLocked(nil, s)
		l.mu.Unlock()
		s.metrics.observeWait(0, true)
		return l.releaser(nil, s), ""
	}
	f := l.flows[key]
	if f == nil {
		f = &flow{key: key}
		l.flows[key] = f
	}
	if l.executing < l.seats && len(l.queued) == 0 {
		l.startLocked(f, s)
		l.mu.Unlock()
		s.metrics.observeWait(0, true)
		return l.releaser(f, s), ""
	}
	reason := ""
	switch {
	case l.queueLength == 0:
		reason = "concurrency-limit"
	case len(f.queue) >= l.queueLength || l.waiting >= l.maxWaiting:
		reason = "queue-full"
	}
	if reason != "" {
		l.forgetLocked(f)
		l.mu.Unlock()
		return nil, reason
	}
	l.seq++
	w := &waiter{flow: f, schema: s, since: start, seq: l.seq, ready: make(chan struct{})}
	f.queue = append(f.queue, w)
	if len(f.queue) == 1 {
		l.queued = append(l.queued, f)
	}
	l.waiting++
	s.metrics.inqueue.Inc()
	l.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return l.releaser(f, s), ""
	case <-timer.C:
		reason = "time-out"
	case <-ctx.Done():
		reason = "cancelled"
	}
	l.mu.Lock()
	if w.dispatched { // given a seat as the wait ended: keep it
		l.mu.Unlock()
		return l.releaser(f, s), ""
	}
	for i, q := range f.queue {
		if q == w {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			break
		}
	}
	if len(f.queue) == 0 {
		l.unqueueLocked(f)
	}
	l.waiting--
	s.metrics.inqueue.Dec()
	l.forgetLocked(f)
	l.mu.Unlock()
	s.metrics.observeWait(time.Since(start), false)
	return nil, reason
}

// startLocked gives flow f (nil with no limit) a seat.
func (l *level) startLocked(f *flow, s *schema) {
	l.executing++
	if f != nil {
		f.executing++
		l.seq++
		f.served = l.seq
	}
	s.metrics.executing.Inc()
	s.metrics.dispatched.Inc()
}

// releaser returns the function that gives f's seat back, once.
func (l *level) releaser(f *flow, s *schema) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.executing--
			s.metrics.executing.Dec()
			if f != nil {
				f.executing--
				l.dispatchLocked()
				l.forgetLocked(f)
			}
			l.mu.Unlock()
		})
	}
}

// dispatchLocked gives free seats to waiting requests, fairly.
func (l *level) dispatchLocked() {
	for len(l.queued) > 0 && l.executing < l.seats {
		best := 0
		for i, f := range l.queued {
			if before(f, l.queued[best]) {
				best = i
			}
		}
		f := l.queued[best]
		w := f.queue[0]
		f.queue[0] = nil
		f.queue = f.queue[1:]
		if len(f.queue) == 0 {
			l.queued = append(l.queued[:best], l.queued[best+1:]...)
		}
		l.waiting--
		w.schema.metrics.inqueue.Dec()
		l.startLocked(f, w.schema)
		w.dispatched = true
		w.schema.metrics.observeWait(time.Since(w.since), true)
		close(w.ready)
	}
}

// before reports whether waiting flow a is to be served before b.
func before(a, b *flow) bool {
	switch {
	case a.executing != b.executing:
		return a.executing < b.executing
	case a.served != b.served:
		return a.served < b.served
	}
	return a.queue[0].seq < b.queue[0].seq
}

func (l *level) unqueueLocked(f *flow) {
	for i, q := range l.queued {
		if q == f {
			l.queued = append(l.queued[:i], l.queued[i+1:]...)
			return
		}
	}
}

// forgetLocked drops f when it has nothing executing or waiting.
func (l *level) forgetLocked(f *flow) {
	if f.executing == 0 && len(f.queue) == 0 {
		delete(l.flows, f.key)
	}
}

// stats are a level's counts, for tests.
type stats struct {
	executing, waiting, flows int
}

func (l *level) stats() stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return stats{executing: l.executing, waiting: l.waiting, flows: len(l.flows)}
}
