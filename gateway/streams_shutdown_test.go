package gateway

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// endedStream is a client stream that has headers or not, and whose
// RecvMsg returns err.
type endedStream struct {
	grpc.ClientStream
	md  metadata.MD
	err error
}

func (s endedStream) Header() (metadata.MD, error) { return s.md, nil }
func (s endedStream) RecvMsg(any) error            { return s.err }

// shutdownContext is the gateway's stopping context, already done when
// stopped (the shutdown has begun).
func shutdownContext(t *testing.T, stopped bool) context.Context {
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	if stopped {
		stop()
	}
	return ctx
}

// TestStreamsCutByShutdown: a watch the gateway's shutdown cancels ends
// cleanly (io.EOF: no ERROR event) when it was running and is 503 when
// it had not begun; a cancellation without a shutdown, or another error,
// is passed on as it is.
func TestStreamsCutByShutdown(t *testing.T) {
	canceled := status.Error(codes.Canceled, "context canceled")
	internal := status.Error(codes.Internal, "boom")
	tests := map[string]struct {
		stopping      bool
		begun         bool
		err           error
		wantHeader    codes.Code
		wantRecvIsEOF bool
		wantRecv      error
	}{
		"running, shutdown":           {stopping: true, begun: true, err: canceled, wantRecvIsEOF: true},
		"running, client went away":   {begun: true, err: canceled, wantRecv: canceled},
		"running, shutdown, other":    {stopping: true, begun: true, err: internal, wantRecv: internal},
		"not begun, shutdown":         {stopping: true, err: canceled, wantHeader: codes.Unavailable},
		"not begun, client went away": {err: canceled, wantHeader: codes.Canceled},
		"not begun, refused":          {stopping: true, err: internal, wantHeader: codes.Internal},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stopping := shutdownContext(t, tc.stopping)
			s := endedStream{err: tc.err}
			if tc.begun {
				s.md = metadata.MD{}
			}
			h := &headerOrStatus{ClientStream: s, stopping: stopping}
			_, herr := h.Header()
			if tc.begun {
				if herr != nil {
					t.Fatalf("Header: %v", herr)
				}
				err := h.RecvMsg(nil)
				if tc.wantRecvIsEOF != errors.Is(err, io.EOF) || (!tc.wantRecvIsEOF && err != tc.wantRecv) {
					t.Fatalf("RecvMsg = %v", err)
				}
				return
			}
			if status.Code(herr) != tc.wantHeader {
				t.Fatalf("Header error %v, want %v", herr, tc.wantHeader)
			}
		})
	}
}

// refusingConn is an api connection on which no stream opens.
type refusingConn struct {
	grpc.ClientConnInterface
	err error
}

func (c refusingConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, c.err
}

// TestStreamOpenCutByShutdown: a watch cancelled by the shutdown while
// its stream opens is 503 (its client watches again elsewhere), not the
// 504 of a bare cancellation; without a shutdown, or for a unary call,
// the error is passed on as it is.
func TestStreamOpenCutByShutdown(t *testing.T) {
	canceled := status.Error(codes.Canceled, "context canceled")
	tests := map[string]struct {
		stopping bool
		streams  bool
		err      error
		want     codes.Code
	}{
		"watch, shutdown":          {stopping: true, streams: true, err: canceled, want: codes.Unavailable},
		"watch, client went away":  {streams: true, err: canceled, want: codes.Canceled},
		"watch, shutdown, refused": {stopping: true, streams: true, err: status.Error(codes.PermissionDenied, "no"), want: codes.PermissionDenied},
		"unary stream, shutdown":   {stopping: true, err: canceled, want: codes.Canceled},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stopping := shutdownContext(t, tc.stopping)
			c := statusFirst{ClientConnInterface: refusingConn{err: tc.err}, stopping: stopping}
			_, err := c.NewStream(context.Background(), &grpc.StreamDesc{ServerStreams: tc.streams}, "/x/Watch")
			if status.Code(err) != tc.want {
				t.Fatalf("NewStream error %v, want %v", err, tc.want)
			}
		})
	}
}
