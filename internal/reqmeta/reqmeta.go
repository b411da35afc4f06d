// Package reqmeta names the gRPC request metadata the gateway sends
// besides the caller's identity (internal/identity): what the api needs of
// the HTTP request itself. None of it is trusted: a direct gRPC caller may
// set it too, and may as well say the same thing in the request.
package reqmeta

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// UserAgentKey carries the HTTP client's User-Agent, which names the
// field manager of a write that gives none (kubectl/v1.32.4 ... is
// "kubectl"), as in kube-apiserver. It is a binary key: a User-Agent may
// hold bytes a gRPC text value may not.
const UserAgentKey = "x-portico-user-agent-bin"

// WithUserAgent is the metadata that forwards an HTTP User-Agent.
func WithUserAgent(userAgent string) metadata.MD {
	if userAgent == "" {
		return nil
	}
	return metadata.Pairs(UserAgentKey, userAgent)
}

// UserAgent is the client's User-Agent of a call: the HTTP client's when
// the gateway forwarded one, else the gRPC client's own ("grpcurl/1.9.3
// grpc-go/1.85.0").
func UserAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(UserAgentKey); len(v) > 0 {
		return v[0]
	}
	if v := md.Get("user-agent"); len(v) > 0 {
		return v[0]
	}
	return ""
}
