package gateway

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
)

// statusFirst wraps the api connection so that a stream the api ends
// before it starts (a watch from resourceVersion=abc, a namespace that
// does not exist) fails at Header: grpc-gateway then answers that error
// as an HTTP status and a Status body, as kube-apiserver does, instead of
// 200 and an ERROR event. grpc-go returns no error from Header for such a
// stream; its status is what the first RecvMsg returns.
type statusFirst struct {
	grpc.ClientConnInterface
}

func (c statusFirst) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	if err != nil || !desc.ServerStreams {
		return s, err
	}
	return &headerOrStatus{ClientStream: s}, nil
}

type headerOrStatus struct {
	grpc.ClientStream
}

func (s *headerOrStatus) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if md != nil || err != nil {
		return md, err
	}
	// No headers: the stream has ended, so RecvMsg decodes nothing and
	// returns its status (io.EOF for a stream that ended well).
	if err := s.ClientStream.RecvMsg(&emptypb.Empty{}); !errors.Is(err, io.EOF) {
		return nil, err
	}
	return nil, nil
}
