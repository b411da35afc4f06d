package authn

import (
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// subscriberBuffer is how many invalidations a slow client may lag behind
// before its stream is cut (it then drops its whole cache and reconnects).
const subscriberBuffer = 64

// bus fans invalidations out to every open WatchInvalidations stream.
type bus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch       chan *authnv1.WatchInvalidationsResponse
	overflow chan struct{} // closed when the subscriber fell behind
}

func newBus() *bus { return &bus{subs: map[*subscriber]struct{}{}} }

func (b *bus) subscribe() *subscriber {
	s := &subscriber{ch: make(chan *authnv1.WatchInvalidationsResponse, subscriberBuffer), overflow: make(chan struct{})}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *bus) unsubscribe(s *subscriber) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// publish never blocks: a subscriber whose buffer is full is cut off,
// which is safe (its client drops everything) and keeps a stuck client
// from holding authn up.
func (b *bus) publish(msg *authnv1.WatchInvalidationsResponse) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- msg:
		default:
			close(s.overflow)
			delete(b.subs, s)
		}
	}
}

// WatchInvalidations implements the RPC: the first message drops
// everything (whatever happened before the stream opened is unknown to the
// client), then each invalidation as it happens.
func (s *Service) WatchInvalidations(_ *authnv1.WatchInvalidationsRequest, stream authnv1.AuthenticationService_WatchInvalidationsServer) error {
	sub := s.bus.subscribe()
	defer s.bus.unsubscribe(sub)
	if err := stream.Send(&authnv1.WatchInvalidationsResponse{All: true}); err != nil {
		return err
	}
	ctx := stream.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.overflow:
			return status.Error(codes.ResourceExhausted, "invalidations fell behind: drop every cached result and watch again")
		case msg := <-sub.ch:
			if err := stream.Send(msg); err != nil {
				return err
			}
		}
	}
}
