package svcauth

import (
	"context"
	"crypto/x509"
	"log/slog"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/impersonation"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// GatewayService is the only service whose forwarded user identity is
// trusted.
const GatewayService = "gateway"

// PeerServices tells Portico's services from users on a connection
// (Verifier).
type PeerServices interface {
	PeerService(ctx context.Context) (string, bool)
}

// UserAuthenticator turns a caller's own credentials (bearer token,
// certificate chain) into a user: authn itself, or a client of it.
type UserAuthenticator interface {
	Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error)
}

// Callers is how every Portico gRPC server tells who is calling, the same
// way in the api, authn and authz:
//   - an internal method answers only the services listed for it;
//   - a call carrying a forwarded user is that user, and only the
//     gateway's certificate may carry one (anyone else is refused, not
//     ignored);
//   - a Portico service acting for itself is system:portico:<name>;
//   - anyone else is whoever their own certificate or bearer token says;
//   - a caller that is not the gateway may then ask, in impersonate-*
//     metadata, to act as another user (package impersonation), which it
//     must be allowed to impersonate.
type Callers struct {
	Peers PeerServices
	// Internal maps full method names to the services that may call them.
	Internal map[string][]string
	// Users authenticates callers with their own credentials; without it
	// they are refused as unavailable (fail closed).
	Users UserAuthenticator
	// Impersonation decides impersonate-* metadata; without it a call
	// asking to impersonate is refused as unavailable (fail closed).
	Impersonation impersonation.Authorizer
	// Logger records each impersonation, the only record of one made
	// straight over gRPC (the gateway's audit log sees only REST); nil
	// records none.
	Logger *slog.Logger
}

// AuthFunc is grpcserver.Options.Auth: it returns the context the handler
// runs with, carrying the caller's user.
func (c Callers) AuthFunc() func(context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		svc, isService := c.Peers.PeerService(ctx)
		if allowed, internal := c.Internal[method]; internal {
			if !isService {
				return nil, status.Error(codes.PermissionDenied, "this method is internal: only Portico services may call it")
			}
			if !slices.Contains(allowed, svc) {
				return nil, status.Errorf(codes.PermissionDenied, "service %q may not call this method", svc)
			}
			return ctx, nil
		}
		md, _ := metadata.FromIncomingContext(ctx)
		if identity.Present(md) {
			if !isService || svc != GatewayService {
				return nil, status.Error(codes.PermissionDenied, "only the gateway may forward a user identity")
			}
			u, ok := identity.FromMetadata(md)
			if !ok {
				return nil, status.Error(codes.Unauthenticated, "forwarded identity has no user name")
			}
			// The forwarded user is already the impersonated one: the
			// gateway applied the Impersonate-* headers (and forwards no
			// client header), so impersonate-* metadata here is never
			// applied a second time.
			return identity.WithUser(ctx, u), nil
		}
		if isService {
			return c.impersonate(ctx, method, md, identity.Service(svc))
		}
		if c.Users == nil {
			return nil, apierrors.Unavailable("authentication of callers is not configured on this service")
		}
		var token string
		if vals := md.Get("authorization"); len(vals) == 1 {
			t, ok := authnclient.BearerToken(vals[0])
			if !ok {
				return nil, status.Error(codes.Unauthenticated, "Unauthorized")
			}
			token = t
		} else if len(vals) > 1 {
			return nil, status.Error(codes.Unauthenticated, "Unauthorized")
		}
		u, err := c.Users.Authenticate(ctx, token, grpcserver.PeerCertificates(ctx))
		if err != nil {
			return nil, err
		}
		return c.impersonate(ctx, method, md, u)
	}
}

// impersonate returns ctx carrying the user the call runs as: u, or the
// user its impersonate-* metadata asks for once u may impersonate it.
func (c Callers) impersonate(ctx context.Context, method string, md metadata.MD, u *authnv1.UserInfo) (context.Context, error) {
	req, err := impersonation.FromMetadata(md)
	if err != nil {
		return nil, err
	}
	if req.Empty() {
		return identity.WithUser(ctx, u), nil
	}
	if c.Impersonation == nil {
		return nil, apierrors.Unavailable("impersonation is not configured on this service")
	}
	as, err := impersonation.Apply(ctx, u, req, c.Impersonation)
	if err != nil {
		return nil, err
	}
	if c.Logger != nil {
		c.Logger.InfoContext(ctx, "impersonating", "method", method, "user", u.GetUsername(), "impersonatedUser", as.GetUsername(), "impersonatedGroups", as.GetGroups())
	}
	return identity.WithUser(ctx, as), nil
}
