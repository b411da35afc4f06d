package grpcserver

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
)

// TestEncodedSentAsIs: a stream sends an Encoded message's bytes as they
// are, and any other message as gRPC's protobuf codec does; the client
// decodes both the same.
func TestEncodedSentAsIs(t *testing.T) {
	want := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}
	wire, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]any{
		"encoded once": Encoded(wire),
		"a message":    want,
	}
	var send any
	desc := grpc.ServiceDesc{
		ServiceName: "portico.test.Encoded",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName:    "Send",
			ServerStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error {
				if err := stream.RecvMsg(&healthpb.HealthCheckRequest{}); err != nil {
					return err
				}
				return stream.SendMsg(send)
			},
		}},
	}
	allowAll := func(ctx context.Context) (context.Context, error) { return ctx, nil }
	_, conn := testServer(t, allowAll, func(r grpc.ServiceRegistrar) { r.RegisterService(&desc, struct{}{}) })
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			send = msg
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			s, err := conn.NewStream(ctx, &desc.Streams[0], "/portico.test.Encoded/Send", grpc.WaitForReady(true))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SendMsg(&healthpb.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseSend(); err != nil {
				t.Fatal(err)
			}
			got := &healthpb.HealthCheckResponse{}
			if err := s.RecvMsg(got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("received %v, want %v", got, want)
			}
		})
	}
}
