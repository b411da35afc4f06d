// Package authenticator holds the small interfaces every authentication
// mechanism implements, as k8s.io/apiserver's authenticator package does:
// a token authenticator is a value, and a chain of them is a slice.
package authenticator

import (
	"context"
	"slices"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// Response is what an authenticator knows about a credential it accepted.
type Response struct {
	// User is who the credential belongs to.
	User *authnv1.UserInfo
	// Audiences are the audiences the credential is valid for, among those
	// asked for. Nil means the authenticator is not audience-aware (a
	// static token): the credential is good for the API's own audiences.
	Audiences []string
	// ExpiresAt is when the credential stops being valid; zero for never.
	ExpiresAt time.Time
	// Method names the mechanism: token-file, x509, service-account,
	// anonymous.
	Method string
}

// Token authenticates a bearer token. ok is false when the token is not
// one this authenticator knows (another may); err is for a failure to
// decide or for a token that is this authenticator's but wrong.
//
// audiences are the audiences the caller wants the token to be valid for
// (a TokenReview's spec.audiences, else the API's); audience-aware
// authenticators check them, the others ignore them.
type Token interface {
	AuthenticateToken(ctx context.Context, token string, audiences []string) (*Response, bool, error)
}

// TokenFunc adapts a function to Token.
type TokenFunc func(ctx context.Context, token string, audiences []string) (*Response, bool, error)

// AuthenticateToken calls f.
func (f TokenFunc) AuthenticateToken(ctx context.Context, token string, audiences []string) (*Response, bool, error) {
	return f(ctx, token, audiences)
}

// Intersect returns the elements of a that are also in b, in a's order.
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
