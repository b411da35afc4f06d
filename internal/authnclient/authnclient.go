// Package authnclient is how the gateway and the api ask the authn service
// who a caller is. It fails closed: authn unreachable is Unavailable, never
// a user.
//
// A Client made with NewCached keeps successful answers for a short time,
// keyed by the SHA-256 of the credential, and drops them when authn says
// so (the token file changed, a service account was deleted) over a
// WatchInvalidations stream. The cache is used only while that stream is
// open, so no answer outlives an invalidation it could not hear about.
package authnclient

import (
	"context"
	"crypto/x509"
	"log/slog"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/backoff"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// Client authenticates credentials through the authn service.
type Client struct {
	rpc   authnv1.AuthenticationServiceClient
	cache *cache // nil: every call asks authn
	log   *slog.Logger
}

// New returns a client on conn that asks authn every time.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: authnv1.NewAuthenticationServiceClient(conn), log: slog.New(slog.DiscardHandler)}
}

// Cache defaults.
const (
	// DefaultCacheTTL is how long a successful answer is reused at most
	// (kube-apiserver caches successful token answers 10 s).
	DefaultCacheTTL = 10 * time.Second
	// DefaultMaxEntries bounds the cache.
	DefaultMaxEntries = 10000
)

// Options configure a Client's cache; zero fields take the defaults.
type Options struct {
	// TTL bounds how long an answer is reused; an answer never outlives
	// its credential (a certificate's notAfter, a token's exp).
	TTL time.Duration
	// MaxEntries bounds the number of cached answers.
	MaxEntries int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger reports the invalidation stream's state.
	Logger *slog.Logger
}

// Validate reports impossible values.
func (o *Options) Validate() error {
	if o.TTL < 0 || o.MaxEntries < 0 {
		return status.Error(codes.InvalidArgument, "authn cache: TTL and MaxEntries must not be negative")
	}
	return nil
}

// NewCached returns a client on conn that caches answers. Run must be
// running for the cache to be used.
func NewCached(conn grpc.ClientConnInterface, o Options) (*Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.TTL == 0 {
		o.TTL = DefaultCacheTTL
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := New(conn)
	c.cache = newCache(o.TTL, o.MaxEntries, o.Now)
	c.log = o.Logger
	return c, nil
}

// Authenticate returns the user of a bearer token and/or a certificate
// chain. Wrong credentials are a 401 Status error; authn unreachable or
// failing is a 503 Status error.
func (c *Client) Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error) {
	cacheable := c.cache != nil && (token != "" || len(chain) > 0)
	var (
		key  [32]byte
		gen  uint64
		live bool
	)
	if cacheable {
		key = cacheKey(token, chain)
		if u, ok := c.cache.get(key); ok {
			return u, nil
		}
		gen, live = c.cache.generation()
	}
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
	if cacheable && live {
		var expires time.Time
		if resp.GetExpiresAt() != nil {
			expires = resp.GetExpiresAt().AsTime()
		}
		c.cache.put(key, gen, resp.GetUser(), expires)
	}
	return resp.GetUser(), nil
}

// Run keeps the invalidation stream open until ctx ends, reconnecting
// with backoff; while it is down the cache is empty and unused. It does
// nothing for a client made with New.
func (c *Client) Run(ctx context.Context) {
	if c.cache == nil {
		return
	}
	backoff.Streams().Loop(ctx, func(ctx context.Context) error {
		err := c.watch(ctx)
		c.cache.setLive(false)
		return err
	}, func(err error, retryIn time.Duration) {
		c.log.Debug("authn invalidation stream closed: cache off until it reopens", "error", err, "retryIn", retryIn)
	})
}

func (c *Client) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.WatchInvalidations(ctx, &authnv1.WatchInvalidationsRequest{})
	if err != nil {
		return err
	}
	first := true
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		if first {
			// The first message drops everything: the cache starts empty.
			first = false
			c.cache.setLive(true)
			c.log.Debug("authn invalidation stream open: cache on")
			continue
		}
		c.cache.invalidate(msg.GetAll(), msg.GetUsernames())
	}
}

// CacheLive reports whether the cache is in use (its invalidation stream
// is open); for tests and health.
func (c *Client) CacheLive() bool {
	if c.cache == nil {
		return false
	}
	_, live := c.cache.generation()
	return live
}

// CreateTokenReview asks authn to review a token on behalf of user.
func (c *Client) CreateTokenReview(ctx context.Context, user *authnv1.UserInfo, review *authnv1.TokenReview) (*authnv1.TokenReview, error) {
	resp, err := c.rpc.CreateTokenReview(asUser(ctx, user), &authnv1.CreateTokenReviewRequest{TokenReview: review})
	if err != nil {
		return nil, mapError(err)
	}
	return resp.GetTokenReview(), nil
}

// CreateSelfSubjectReview asks authn who user is.
func (c *Client) CreateSelfSubjectReview(ctx context.Context, user *authnv1.UserInfo, review *authnv1.SelfSubjectReview) (*authnv1.SelfSubjectReview, error) {
	resp, err := c.rpc.CreateSelfSubjectReview(asUser(ctx, user), &authnv1.CreateSelfSubjectReviewRequest{SelfSubjectReview: review})
	if err != nil {
		return nil, mapError(err)
	}
	return resp.GetSelfSubjectReview(), nil
}

// GetServiceAccountIssuer returns the issuer and its public keys.
func (c *Client) GetServiceAccountIssuer(ctx context.Context) (*authnv1.GetServiceAccountIssuerResponse, error) {
	resp, err := c.rpc.GetServiceAccountIssuer(ctx, &authnv1.GetServiceAccountIssuerRequest{})
	if err != nil {
		return nil, mapError(err)
	}
	return resp, nil
}

// IssueServiceAccountToken asks authn to sign a token for a service
// account the caller found.
func (c *Client) IssueServiceAccountToken(ctx context.Context, req *authnv1.IssueServiceAccountTokenRequest) (*authnv1.IssueServiceAccountTokenResponse, error) {
	resp, err := c.rpc.IssueServiceAccountToken(ctx, req)
	if err != nil {
		return nil, mapError(err)
	}
	return resp, nil
}

// asUser forwards user to authn, as the gateway forwards users to the api.
func asUser(ctx context.Context, user *authnv1.UserInfo) context.Context {
	return metadata.NewOutgoingContext(ctx, identity.ToMetadata(user))
}

// mapError keeps authn's own answers (a Status it built, or a refusal) and
// turns transport failures into 503.
func mapError(err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		if len(st.Details()) == 0 {
			return apierrors.Unavailable("authentication is unavailable: the authn service did not answer")
		}
	}
	return err
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
