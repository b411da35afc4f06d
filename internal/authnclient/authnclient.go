// Package authnclient is how the gateway and the api ask the authn service
// who a caller is. It fails closed: authn unreachable is Unavailable, never
// a user.
package authnclient

import (
	"context"
	"crypto/x509"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// Client authenticates credentials through the authn service.
type Client struct {
	rpc authnv1.AuthenticationServiceClient
}

// New returns a client on conn.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: authnv1.NewAuthenticationServiceClient(conn)}
}

// Authenticate returns the user of a bearer token and/or a certificate
// chain. Wrong credentials are a 401 Status error; authn unreachable or
// failing is a 503 Status error.
func (c *Client) Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error) {
	req := &authnv1.AuthenticateRequest{Token: token}
	for _, cert := range chain {
		req.ClientCertificates = append(req.ClientCertificates, cert.Raw)
	}
	resp, err := c.rpc.Authenticate(ctx, req)
	if err != nil {
		if status.Code(err) == codes.Unauthenticated {
			return nil, apierrors.Unauthorized("Unauthorized")
		}
		return nil, apierrors.Unavailable("authentication is unavailable: the authn service did not answer")
	}
	if resp.GetUser().GetUsername() == "" {
		return nil, apierrors.Unavailable("authentication is unavailable: the authn service answered no user")
	}
	return resp.GetUser(), nil
}

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// value; ok is false when there is none.
func BearerToken(authorization string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(authorization), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
