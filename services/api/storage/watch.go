package storage

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EventType is the kind of a watch event, spelled as in the Kubernetes
// watch protocol.
type EventType string

const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	// Bookmark carries no change: Object holds only
	// metadata.resourceVersion, and every event up to that revision has
	// been delivered. Sent when etcd reports watch progress.
	Bookmark EventType = "BOOKMARK"
	// Error is the last event of a failed watch; Err says why (ErrGone
	// when the start revision has been compacted).
	Error EventType = "ERROR"
)

// Event is one change seen by Watch.
type Event[T Object] struct {
	Type EventType
	// Object is the new state; for Deleted the last state, with
	// resourceVersion set to the revision of the deletion.
	Object T
	// Err is set on Error events only.
	Err error
}

// watchBuffer decouples a slow consumer from etcd's watch stream a little;
// etcd buffers more on its side.
const watchBuffer = 64

// Watch streams the changes to the objects in namespace ("" = every
// namespace) after revision fromRV, in revision order; fromRV "" or "0"
// starts from now. A compacted fromRV ends the stream with an Error event
// holding ErrGone. The channel is closed after an Error event or when ctx
// ends.
//
// The watch requires an etcd leader: when the member it talks to loses its
// leader the stream ends with an Error event instead of silently stalling.
func (s *Store[T]) Watch(ctx context.Context, namespace, fromRV string) (<-chan Event[T], error) {
	prefix, err := s.listPrefix(namespace)
	if err != nil {
		return nil, err
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if fromRV != "" && fromRV != "0" {
		rev, err := parseRV(fromRV)
		if err != nil {
			return nil, err
		}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev+1))
		}
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(wctx, prefix, opts...)
	out := make(chan Event[T], watchBuffer)
	go func() {
		defer close(out)
		defer cancel()
		send := func(ev Event[T]) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		fail := func(err error) {
			send(Event[T]{Type: Error, Err: err})
		}
		for resp := range wch {
			if resp.CompactRevision != 0 {
				fail(fmt.Errorf("%w: watch from revision %s, compacted up to %d", ErrGone, fromRV, resp.CompactRevision))
				return
			}
			if err := resp.Err(); err != nil {
				fail(etcdErr(err))
				return
			}
			if resp.IsProgressNotify() {
				bm := s.newObj()
				setResourceVersion(bm, resp.Header.Revision)
				if !send(Event[T]{Type: Bookmark, Object: bm}) {
					return
				}
				continue
			}
			for _, e := range resp.Events {
				ev, err := s.event(e)
				if err != nil {
					fail(err)
					return
				}
				if !send(ev) {
					return
				}
			}
		}
		if ctx.Err() == nil {
			fail(errors.New("storage: etcd closed the watch"))
		}
	}()
	return out, nil
}

// RequestProgress asks etcd to report progress on the watches of this
// store's client: each one that has delivered every event up to the
// current revision gets a Bookmark at that revision (a watch still
// catching up gets none; ask again later).
func (s *Store[T]) RequestProgress(ctx context.Context) error {
	// Watch's context carries require-leader, which picks the client's
	// watch stream; the request must travel on the same one.
	return etcdErr(s.client.RequestProgress(clientv3.WithRequireLeader(ctx)))
}

func (s *Store[T]) event(e *clientv3.Event) (Event[T], error) {
	switch {
	case e.Type == mvccpb.DELETE:
		if e.PrevKv == nil {
			return Event[T]{}, fmt.Errorf("storage: delete event for %s without its previous value", e.Kv.Key)
		}
		obj, err := s.decode(e.PrevKv, e.Kv.ModRevision)
		return Event[T]{Type: Deleted, Object: obj}, err
	case e.IsCreate():
		obj, err := s.decode(e.Kv, e.Kv.ModRevision)
		return Event[T]{Type: Added, Object: obj}, err
	default:
		obj, err := s.decode(e.Kv, e.Kv.ModRevision)
		return Event[T]{Type: Modified, Object: obj}, err
	}
}
