package svcauth

import (
	"context"
	"crypto/x509"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

type fakePeers struct{ svc string }

func (f fakePeers) PeerService(context.Context) (string, bool) { return f.svc, f.svc != "" }

type tokenUsers map[string]string

func (t tokenUsers) Authenticate(_ context.Context, token string, _ []*x509.Certificate) (*authnv1.UserInfo, error) {
	if u, ok := t[token]; ok {
		return &authnv1.UserInfo{Username: u}, nil
	}
	return nil, apierrors.Unauthorized("Unauthorized")
}

// fakeStream lets grpc.Method find the method in a test context.
type fakeStream struct {
	grpc.ServerTransportStream
	method string
}

func (f fakeStream) Method() string { return f.method }

func TestCallers(t *testing.T) {
	const internal, public = "/x.v1.S/Internal", "/x.v1.S/Public"
	forwarded := metadata.Pairs(identity.KeyUser, "bob", identity.KeyGroups, "dev")
	bearer := metadata.Pairs("authorization", "Bearer good")
	tests := map[string]struct {
		method   string
		peer     string
		md       metadata.MD
		users    UserAuthenticator
		wantCode codes.Code
		wantUser string
	}{
		"internal from an allowed service":  {method: internal, peer: "api", wantCode: codes.OK},
		"internal from another service":     {method: internal, peer: "authz", wantCode: codes.PermissionDenied},
		"internal from a user":              {method: internal, md: bearer, users: tokenUsers{"good": "alice"}, wantCode: codes.PermissionDenied},
		"gateway forwards a user":           {method: public, peer: "gateway", md: forwarded, wantCode: codes.OK, wantUser: "bob"},
		"another service may not forward":   {method: public, peer: "api", md: forwarded, wantCode: codes.PermissionDenied},
		"a user may not forward":            {method: public, md: forwarded, users: tokenUsers{}, wantCode: codes.PermissionDenied},
		"forwarded identity without a name": {method: public, peer: "gateway", md: metadata.Pairs(identity.KeyGroups, "x"), wantCode: codes.Unauthenticated},
		"a service acts as itself":          {method: public, peer: "authn", wantCode: codes.OK, wantUser: "system:portico:authn"},
		"a user's own token":                {method: public, md: bearer, users: tokenUsers{"good": "alice"}, wantCode: codes.OK, wantUser: "alice"},
		"a wrong token":                     {method: public, md: metadata.Pairs("authorization", "Bearer bad"), users: tokenUsers{}, wantCode: codes.Unauthenticated},
		"not a bearer token":                {method: public, md: metadata.Pairs("authorization", "Basic eDp5"), users: tokenUsers{}, wantCode: codes.Unauthenticated},
		"two authorization values":          {method: public, md: metadata.Pairs("authorization", "Bearer good", "authorization", "Bearer good"), users: tokenUsers{"good": "alice"}, wantCode: codes.Unauthenticated},
		"no authenticator fails closed":     {method: public, md: bearer, wantCode: codes.Unavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Callers{Peers: fakePeers{tc.peer}, Internal: map[string][]string{internal: {"api"}}, Users: tc.users}
			ctx := grpc.NewContextWithServerTransportStream(context.Background(), fakeStream{method: tc.method})
			if tc.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tc.md)
			}
			out, err := c.AuthFunc()(ctx)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tc.wantCode)
			}
			if tc.wantUser != "" {
				if u, _ := identity.UserFrom(out); u.GetUsername() != tc.wantUser {
					t.Fatalf("user = %v, want %s", u, tc.wantUser)
				}
			}
		})
	}
}
