package authn

import (
	"context"
	"crypto/x509"

	"github.com/portico-dev/portico/internal/svcauth"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// PeerServices tells Portico's services from users on a connection
// (svcauth.Verifier).
type PeerServices = svcauth.PeerServices

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
// itself, or as whoever the caller's own certificate or bearer token says,
// or as the user that caller impersonates (authz decides; without authz
// impersonation is refused).
func (s *Service) AuthFunc(peers PeerServices) func(context.Context) (context.Context, error) {
	c := svcauth.Callers{Peers: peers, Internal: internalCallers, Users: localUsers{s}, Logger: s.log}
	if s.authz != nil {
		c.Impersonation = s.authz
	}
	return c.AuthFunc()
}

// localUsers authenticates a caller of authn's own public RPCs in process.
type localUsers struct{ s *Service }

func (l localUsers) Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error) {
	certs := make([][]byte, 0, len(chain))
	for _, c := range chain {
		certs = append(certs, c.Raw)
	}
	resp, err := l.s.authenticate(ctx, token, certs)
	if err != nil {
		return nil, err
	}
	return resp.User, nil
}
