package gateway

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// statusFirst wraps the api connection so that a stream the api ends
// before it starts (a watch from resourceVersion=abc, a namespace that
// does not exist) fails at Header: grpc-gateway then answers that error
// as an HTTP status and a Status body, as kube-apiserver does, instead of
// 200 and an ERROR event. grpc-go returns no error from Header for such a
// stream; its status is what the first RecvMsg returns.
//
// It also ends the watches a shutdown cuts (stopping) as a graceful stop
// should: one that is running ends cleanly, with no ERROR event (its
// client watches again from its last resourceVersion, elsewhere), and
// one that arrives while the gateway drains is 503, not a 504 Timeout.
type statusFirst struct {
	grpc.ClientConnInterface
	// stopping is done once Shutdown begins.
	stopping context.Context
}

func (c statusFirst) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	if !desc.ServerStreams {
		return s, err
	}
	if err != nil {
		// A watch that arrives as the shutdown begins is cancelled while
		// it opens: 503, as one cancelled before its first event.
		return s, cutByShutdown(c.stopping, err)
	}
	return &headerOrStatus{ClientStream: s, stopping: c.stopping}, nil
}

type headerOrStatus struct {
	grpc.ClientStream
	stopping context.Context
}

func (s *headerOrStatus) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if md != nil || err != nil {
		return md, cutByShutdown(s.stopping, err)
	}
	// No headers: the stream has ended, so RecvMsg decodes nothing and
	// returns its status (io.EOF for a stream that ended well).
	if err := s.ClientStream.RecvMsg(&emptypb.Empty{}); !errors.Is(err, io.EOF) {
		return nil, cutByShutdown(s.stopping, err)
	}
	return nil, nil
}

func (s *headerOrStatus) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && s.stopping.Err() != nil && status.Code(err) == codes.Canceled {
		return io.EOF
	}
	return err
}

// cutByShutdown is Unavailable for a stream the shutdown (stopping)
// cancelled before it began.
func cutByShutdown(stopping context.Context, err error) error {
	if err != nil && stopping.Err() != nil && status.Code(err) == codes.Canceled {
		return status.Error(codes.Unavailable, "the gateway is shutting down: watch again through another")
	}
	return err
}
