package storage

import (
	"context"
	"sync"
	"time"
)

// revisionBatcher shares one linearizable read of etcd's current revision
// among the readers that need it, as etcd batches its ReadIndex: a reader
// joins the next fetch, never one already sent, so the revision it gets
// is at least that of every write finished before it asked. At most one
// fetch is in flight; the readers that arrive meanwhile wait for the next.
type revisionBatcher struct {
	fetch func(context.Context) (int64, error)
	// timeout bounds one fetch; it runs for all its readers, so no
	// reader's own context may cancel it.
	timeout time.Duration

	mu       sync.Mutex
	inFlight bool
	next     *revisionFetch // the fetch readers join; nil when none waits
}

// revisionFetch is one fetch and what it found, valid once done is closed.
type revisionFetch struct {
	done    chan struct{}
	readers int // sharing it
	rev     int64
	err     error
}

// get returns a revision read from etcd after get was called.
func (b *revisionBatcher) get(ctx context.Context) (int64, error) {
	b.mu.Lock()
	if b.next == nil {
		b.next = &revisionFetch{done: make(chan struct{})}
	}
	f := b.next
	f.readers++
	if !b.inFlight {
		b.startLocked()
	}
	b.mu.Unlock()
	select {
	case <-f.done:
		return f.rev, f.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// startLocked sends the waiting fetch; b.mu is held.
func (b *revisionBatcher) startLocked() {
	f := b.next
	b.next, b.inFlight = nil, true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		f.rev, f.err = b.fetch(ctx)
		cancel()
		close(f.done)
		b.mu.Lock()
		b.inFlight = false
		if b.next != nil {
			b.startLocked()
		}
		b.mu.Unlock()
	}()
}
