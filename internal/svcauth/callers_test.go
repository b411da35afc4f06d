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
	"github.com/portico-dev/portico/internal/impersonation"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
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
	// asCarol is bearer asking to act as carol.
	asCarol := metadata.Join(bearer, metadata.Pairs(impersonation.KeyUser, "carol"))
	// carolOnly lets alice impersonate carol and nothing else; never
	// calls it fails every call.
	carolOnly := impersonation.AuthorizerFunc(func(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
		if u.GetUsername() == "alice" && a.GetVerb() == "impersonate" && a.GetResource() == "users" && a.GetName() == "carol" {
			return nil
		}
		return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), "no")
	})
	never := impersonation.AuthorizerFunc(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) error {
		return apierrors.Internal("impersonation decided when it must not be")
	})
	tests := map[string]struct {
		method   string
		peer     string
		md       metadata.MD
		users    UserAuthenticator
		imp      impersonation.Authorizer
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

		"a user impersonates":                      {method: public, md: asCarol, users: tokenUsers{"good": "alice"}, imp: carolOnly, wantCode: codes.OK, wantUser: "carol"},
		"a user may not impersonate":               {method: public, md: metadata.Join(bearer, metadata.Pairs(impersonation.KeyUser, "dave")), users: tokenUsers{"good": "alice"}, imp: carolOnly, wantCode: codes.PermissionDenied},
		"a group without a user":                   {method: public, md: metadata.Join(bearer, metadata.Pairs(impersonation.KeyGroup, "g")), users: tokenUsers{"good": "alice"}, imp: carolOnly, wantCode: codes.InvalidArgument},
		"no impersonation authorizer fails closed": {method: public, md: asCarol, users: tokenUsers{"good": "alice"}, wantCode: codes.Unavailable},
		"a service is asked like anyone":           {method: public, peer: "authn", md: metadata.Pairs(impersonation.KeyUser, "carol"), imp: carolOnly, wantCode: codes.PermissionDenied},
		"the gateway's user is not impersonated again": {
			method: public, peer: "gateway", md: metadata.Join(forwarded, metadata.Pairs(impersonation.KeyUser, "carol")), imp: never, wantCode: codes.OK, wantUser: "bob",
		},
		"an internal method ignores impersonation": {method: internal, peer: "api", md: metadata.Pairs(impersonation.KeyUser, "carol"), imp: never, wantCode: codes.OK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Callers{Peers: fakePeers{tc.peer}, Internal: map[string][]string{internal: {"api"}}, Users: tc.users, Impersonation: tc.imp}
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
