package authn

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// GatewayService is the only service whose forwarded user identity is trusted.
const GatewayService = "gateway"

// PeerServices tells Portico's services from users on a connection
// (svcauth.Verifier).
type PeerServices interface {
	PeerService(ctx context.Context) (string, bool)
}

// internalCallers are the services that may call each internal RPC.
var internalCallers = map[string][]string{
	authnv1.AuthenticationService_Authenticate_FullMethodName:             {"gateway", "api", "authz"},
	authnv1.AuthenticationService_WatchInvalidations_FullMethodName:       {"gateway", "api"},
	authnv1.AuthenticationService_IssueServiceAccountToken_FullMethodName: {"api"},
	authnv1.AuthenticationService_GetServiceAccountIssuer_FullMethodName:  {"gateway", "api"},
}

// AuthFunc authenticates every call to the service (grpcserver.Options.Auth).
// Internal RPCs answer only the services allowed to call them. The public
// reviews run as the user the gateway forwards, as the calling service
// itself, or as whoever the caller's own certificate or bearer token says.
func (s *Service) AuthFunc(peers PeerServices) func(context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		svc, isService := peers.PeerService(ctx)
		if allowed, internal := internalCallers[method]; internal {
			if !isService {
				return nil, status.Error(codes.PermissionDenied, "this method is internal: only Portico services may call it")
			}
			for _, a := range allowed {
				if a == svc {
					return ctx, nil
				}
			}
			return nil, status.Errorf(codes.PermissionDenied, "service %q may not call this method", svc)
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
			return identity.WithUser(ctx, u), nil
		}
		if isService {
			return identity.WithUser(ctx, identity.Service(svc)), nil
		}
		var token string
		if vals := md.Get("authorization"); len(vals) == 1 {
			t, ok := authnclient.BearerToken(vals[0])
			if !ok {
				return nil, errUnauthorized
			}
			token = t
		}
		var certs [][]byte
		for _, c := range grpcserver.PeerCertificates(ctx) {
			certs = append(certs, c.Raw)
		}
		resp, err := s.authenticate(ctx, token, certs)
		if err != nil {
			return nil, err
		}
		return identity.WithUser(ctx, resp.User), nil
	}
}
