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
			stopping, stop := context.WithCancel(context.Background())
			defer stop()
			if tc.stopping {
				stop()
			}
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
