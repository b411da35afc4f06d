package reqmeta

import (
	"context"
	"testing"

	"google.golang.org/grpc/metadata"
)

func TestUserAgent(t *testing.T) {
	tests := map[string]struct {
		md   metadata.MD
		want string
	}{
		"none":                 {nil, ""},
		"grpc client":          {metadata.Pairs("user-agent", "grpcurl/1.9.3 grpc-go/1.85.0"), "grpcurl/1.9.3 grpc-go/1.85.0"},
		"forwarded by gateway": {metadata.Join(metadata.Pairs("user-agent", "grpc-go/1.85.0"), WithUserAgent("kubectl/v1.32.4 (linux/amd64)")), "kubectl/v1.32.4 (linux/amd64)"},
		"any bytes":            {WithUserAgent("my\x01tool/ü"), "my\x01tool/ü"},
		"empty forwards none":  {metadata.Join(metadata.Pairs("user-agent", "grpc-go/1.85.0"), WithUserAgent("")), "grpc-go/1.85.0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if tc.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tc.md)
			}
			if got := UserAgent(ctx); got != tc.want {
				t.Fatalf("UserAgent = %q, want %q", got, tc.want)
			}
		})
	}
}
