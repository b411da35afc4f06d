// Package authn is the authentication service: it answers "who is this?"
// for a bearer token or a client certificate chain, issues and verifies
// service-account tokens, tells its clients when cached answers must be
// dropped, and serves the authentication.k8s.io reviews.
//
// The chain is kube-apiserver's: the client certificate, then the bearer
// token authenticators in order (token file, service accounts); the first
// that accepts wins, and a credential that was presented but refused by
// all is 401, never anonymous. Only a request with no credential at all
// is anonymous, when that is enabled.
package authn

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/authenticator"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
	"github.com/portico-dev/portico/services/authn/tokenfile"
	"github.com/portico-dev/portico/services/authn/x509user"
)

// MaxTokenBytes bounds a bearer token.
const MaxTokenBytes = serviceaccount.MaxTokenBytes

// Options configure authentication; the zero value of a field is its
// default.
type Options struct {
	// TokenAuthFile is --token-auth-file: static bearer tokens, re-read when
	// the file changes.
	TokenAuthFile string
	// TokenFilePollInterval is how often the token file is looked at
	// (tokenfile.DefaultPollInterval when 0).
	TokenFilePollInterval time.Duration
	// ClientCAFile is --client-ca-file: the CA bundle user certificates verify against.
	ClientCAFile string
	// Anonymous is --anonymous-auth: requests with no credential become system:anonymous.
	Anonymous bool
	// ServiceAccountSigningKeyFile is --service-account-signing-key-file:
	// the private key TokenRequest tokens are signed with. Empty disables
	// TokenRequest.
	ServiceAccountSigningKeyFile string
	// ServiceAccountKeyFiles is --service-account-key-file: every key that
	// verifies tokens (several during a rotation). Default: the signing
	// key's public half.
	ServiceAccountKeyFiles []string
	// ServiceAccountIssuer is --service-account-issuer, the tokens' "iss"
	// (serviceaccount.DefaultIssuer when empty).
	ServiceAccountIssuer string
	// APIAudiences is --api-audiences: the audiences a token must have to
	// be accepted by the API. Default: the issuer.
	APIAudiences []string
	// ServiceAccountMaxTokenExpiration is
	// --service-account-max-token-expiration: a TokenRequest asking for a
	// longer lifetime gets this one. 0 (the default) caps at 2^32 s only;
	// otherwise between 1 hour and 2^32 seconds, as kube-apiserver has it.
	ServiceAccountMaxTokenExpiration time.Duration
}

// Validate reports unreadable files and contradictions.
func (o *Options) Validate() error {
	var errs []error
	files := map[string]string{"--token-auth-file": o.TokenAuthFile, "--client-ca-file": o.ClientCAFile,
		"--service-account-signing-key-file": o.ServiceAccountSigningKeyFile}
	for _, f := range o.ServiceAccountKeyFiles {
		files["--service-account-key-file "+f] = f
	}
	for flag, f := range files {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	if o.TokenFilePollInterval < 0 {
		errs = append(errs, errors.New("token file poll interval must not be negative"))
	}
	if slices.Contains(o.APIAudiences, "") {
		errs = append(errs, errors.New("--api-audiences: an audience is empty"))
	}
	if m := o.ServiceAccountMaxTokenExpiration; m != 0 && (m < time.Hour || m > serviceaccount.MaxExpirationSeconds*time.Second) {
		errs = append(errs, errors.New("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds"))
	}
	return errors.Join(errs...)
}

func (o *Options) issuer() string {
	if o.ServiceAccountIssuer == "" {
		return serviceaccount.DefaultIssuer
	}
	return o.ServiceAccountIssuer
}

func (o *Options) apiAudiences() []string {
	if len(o.APIAudiences) == 0 {
		return []string{o.issuer()}
	}
	return o.APIAudiences
}

// Authorizer is what authn needs of authz (for TokenReview): nil when u may
// do a, else a Status error.
type Authorizer interface {
	Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error
}

// Deps are what the service calls.
type Deps struct {
	Logger *slog.Logger
	// Accounts finds live service accounts and the pods, secrets and nodes
	// tokens are bound to; nil disables service-account tokens (neither
	// issued nor accepted).
	Accounts serviceaccount.ObjectGetter
	// Authz decides who may create TokenReviews.
	Authz Authorizer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service implements portico.authn.v1.AuthenticationService.
type Service struct {
	authnv1.UnimplementedAuthenticationServiceServer
	log          *slog.Logger
	now          func() time.Time
	tokenFile    *tokenfile.File
	pollEvery    time.Duration
	tokens       []authenticator.Token
	certs        *x509user.Authenticator
	anonymous    bool
	apiAudiences []string
	issuer       string
	signer       *serviceaccount.Signer
	accounts     *serviceaccount.Authenticator
	authz        Authorizer
	bus          *bus
}

// New builds the service. A malformed token file, an unreadable CA or key
// is an error: the service does not start.
func New(o Options, d Deps) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		return nil, errors.New("authn: a logger is required")
	}
	s := &Service{
		log: d.Logger, now: d.Now, anonymous: o.Anonymous, pollEvery: o.TokenFilePollInterval,
		apiAudiences: slices.Clone(o.apiAudiences()), issuer: o.issuer(), authz: d.Authz, bus: newBus(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.TokenAuthFile != "" {
		f, err := tokenfile.Open(o.TokenAuthFile, s.log)
		if err != nil {
			return nil, fmt.Errorf("--token-auth-file: %w", err)
		}
		// Cached answers of the old file must go: a removed token stops
		// working at once, not at the end of a client's cache TTL.
		f.OnReload(func() { s.bus.publish(&authnv1.WatchInvalidationsResponse{All: true}) })
		s.tokenFile = f
		s.tokens = append(s.tokens, f)
	}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca-file %s: no certificate found", o.ClientCAFile)
		}
		s.certs = x509user.New(pool, s.now)
	}
	if err := s.setupServiceAccounts(o, d.Accounts); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) setupServiceAccounts(o Options, accounts serviceaccount.ObjectGetter) error {
	if o.ServiceAccountSigningKeyFile == "" && len(o.ServiceAccountKeyFiles) == 0 {
		return nil
	}
	if accounts == nil {
		return errors.New("authn: service-account keys given but no way to look accounts up")
	}
	var keys []crypto.PublicKey
	if o.ServiceAccountSigningKeyFile != "" {
		key, err := serviceaccount.LoadSigningKey(o.ServiceAccountSigningKeyFile)
		if err != nil {
			return fmt.Errorf("--service-account-signing-key-file: %w", err)
		}
		if s.signer, err = serviceaccount.NewSigner(key, s.issuer, s.apiAudiences, s.now); err != nil {
			return err
		}
		s.signer.WithMaxExpiration(int64(o.ServiceAccountMaxTokenExpiration / time.Second))
		keys = append(keys, key.Public())
	}
	if len(o.ServiceAccountKeyFiles) > 0 {
		var err error
		if keys, err = serviceaccount.LoadPublicKeys(o.ServiceAccountKeyFiles...); err != nil {
			return fmt.Errorf("--service-account-key-file: %w", err)
		}
		if s.signer != nil && !containsKey(keys, s.signer) {
			return errors.New("--service-account-key-file: none of its keys verifies the signing key's tokens; add the signing key's public key")
		}
	}
	a, err := serviceaccount.NewAuthenticator(s.issuer, s.apiAudiences, keys, accounts, s.now)
	if err != nil {
		return err
	}
	s.accounts = a
	s.tokens = append(s.tokens, a)
	s.log.Info("service-account tokens enabled", "issuer", s.issuer, "verificationKeys", len(keys), "signing", s.signer != nil)
	return nil
}

func containsKey(keys []crypto.PublicKey, signer *serviceaccount.Signer) bool {
	pub := signer.Public()
	for _, k := range keys {
		if eq, ok := k.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub) {
			return true
		}
	}
	return false
}

// Run does the service's background work until ctx ends: polling the
// token file.
func (s *Service) Run(ctx context.Context) {
	if s.tokenFile != nil {
		s.tokenFile.Run(ctx, s.pollEvery)
	}
}

// InvalidateAll tells every client to drop all its cached answers (the
// service-account index lost track and cannot say what changed).
func (s *Service) InvalidateAll() {
	s.bus.publish(&authnv1.WatchInvalidationsResponse{All: true})
}

// InvalidateUsers tells every client to drop its cached answers for these
// users (a service account was deleted or replaced).
func (s *Service) InvalidateUsers(usernames ...string) {
	if len(usernames) > 0 {
		s.bus.publish(&authnv1.WatchInvalidationsResponse{Usernames: usernames})
	}
}

// Register adds the service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	authnv1.RegisterAuthenticationServiceServer(r, s)
}

// errUnauthorized is the one answer to a refused credential: the reason
// stays in authn's log, the caller learns nothing more.
var errUnauthorized = status.Error(codes.Unauthenticated, "Unauthorized")

// Authenticate implements the RPC.
func (s *Service) Authenticate(ctx context.Context, req *authnv1.AuthenticateRequest) (*authnv1.AuthenticateResponse, error) {
	resp, err := s.authenticate(ctx, req.GetToken(), req.GetClientCertificates())
	if err != nil {
		return nil, err
	}
	out := &authnv1.AuthenticateResponse{User: resp.User, Method: resp.Method}
	if !resp.ExpiresAt.IsZero() {
		out.ExpiresAt = timestamppb.New(resp.ExpiresAt)
	}
	return out, nil
}

// authenticate runs the chain for one request's credentials.
func (s *Service) authenticate(ctx context.Context, token string, certs [][]byte) (*authenticator.Response, error) {
	var refused []string
	if len(certs) > 0 && s.certs != nil {
		chain, err := x509user.ParseChain(certs)
		if err == nil {
			var resp *authenticator.Response
			if resp, err = s.certs.AuthenticateChain(chain); err == nil {
				if err = refuseReserved(resp.User); err == nil {
					return withAuthenticated(resp), nil
				}
			}
		}
		refused = append(refused, "client certificate: "+err.Error())
	}
	if token != "" {
		resp, err := s.authenticateToken(ctx, token, s.apiAudiences)
		if err == nil {
			return resp, nil
		}
		if status.Code(err) == codes.Unavailable {
			return nil, err
		}
		refused = append(refused, "bearer token: "+err.Error())
	}
	if len(refused) > 0 {
		s.log.InfoContext(ctx, "credentials refused", "reasons", strings.Join(refused, "; "))
		return nil, errUnauthorized
	}
	if s.anonymous {
		return &authenticator.Response{
			User:   &authnv1.UserInfo{Username: identity.UserAnonymous, Groups: []string{identity.GroupUnauthenticated}},
			Method: "anonymous",
		}, nil
	}
	return nil, errUnauthorized
}

// authenticateToken runs the token authenticators for audiences. The
// error is a plain error naming why the token was refused (never the token
// itself), or an Unavailable status when the answer is unknown.
func (s *Service) authenticateToken(ctx context.Context, token string, audiences []string) (*authenticator.Response, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("token longer than %d bytes", MaxTokenBytes)
	}
	var errs []error
	for _, a := range s.tokens {
		resp, ok, err := a.AuthenticateToken(ctx, token, audiences)
		if errors.Is(err, serviceaccount.ErrLookup) {
			s.log.WarnContext(ctx, "service account lookup failed", "error", err)
			return nil, status.Error(codes.Unavailable, "service accounts cannot be looked up")
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		if err := refuseReserved(resp.User); err != nil {
			errs = append(errs, err)
			continue
		}
		if resp.Audiences == nil {
			// Static tokens are good for the API's own audiences only.
			if resp.Audiences = authenticator.Intersect(audiences, s.apiAudiences); len(resp.Audiences) == 0 {
				errs = append(errs, fmt.Errorf("token audiences %q are invalid for the target audiences %q", s.apiAudiences, audiences))
				continue
			}
		}
		return withAuthenticated(resp), nil
	}
	if len(errs) == 0 {
		return nil, errors.New("invalid bearer token")
	}
	return nil, errors.Join(errs...)
}

// refuseReserved fails for a user credential that claims one of the names
// only Portico's internal service certificates carry (system:portico:*):
// such a name is trusted by authz's built-in services rule.
func refuseReserved(u *authnv1.UserInfo) error {
	if name, ok := identity.ClaimsReserved(u); ok {
		return fmt.Errorf("the credential claims the reserved name %q (%s* is for Portico's own services)", name, identity.ReservedPrefix)
	}
	return nil
}

// withAuthenticated returns a copy of resp whose user is in
// system:authenticated.
func withAuthenticated(resp *authenticator.Response) *authenticator.Response {
	u := resp.User
	out := &authnv1.UserInfo{Username: u.GetUsername(), Uid: u.GetUid(), Extra: u.GetExtra()}
	out.Groups = append(out.Groups, u.GetGroups()...)
	if !slices.Contains(out.Groups, identity.GroupAuthenticated) {
		out.Groups = append(out.Groups, identity.GroupAuthenticated)
	}
	c := *resp
	c.User = out
	return &c
}

// IssueServiceAccountToken implements the RPC (internal: the api, after it
// found the service account).
func (s *Service) IssueServiceAccountToken(ctx context.Context, req *authnv1.IssueServiceAccountTokenRequest) (*authnv1.IssueServiceAccountTokenResponse, error) {
	if s.signer == nil {
		return nil, apierrors.New(apierrors.ReasonMethodNotAllowed,
			"service-account tokens are not enabled: start with --service-account-signing-key-file", apierrors.Details{})
	}
	spec := req.GetSpec()
	if req.GetNamespace() == "" || req.GetName() == "" || spec == nil {
		return nil, apierrors.BadRequest("a service-account token request needs the namespace, the name and a spec")
	}
	tok, err := s.signer.Issue(serviceaccount.Request{
		Namespace: req.GetNamespace(), Name: req.GetName(), UID: req.GetUid(),
		Audiences: spec.GetAudiences(), ExpirationSeconds: spec.ExpirationSeconds,
		Pod: objectRef(req.GetPod()), Secret: objectRef(req.GetSecret()), Node: objectRef(req.GetNode()),
	})
	var inv serviceaccount.InvalidError
	if errors.As(err, &inv) {
		return nil, apierrors.Invalid("authentication.k8s.io", "TokenRequest", "", invalidCauses(inv))
	}
	if err != nil {
		s.log.ErrorContext(ctx, "signing a service-account token failed", "error", err)
		return nil, apierrors.Internal("signing the token failed")
	}
	s.log.InfoContext(ctx, "service-account token issued", "namespace", req.GetNamespace(), "serviceAccount", req.GetName(),
		"audiences", tok.Audiences, "expirationSeconds", tok.ExpirationSeconds, "boundTo", boundTo(req))
	return &authnv1.IssueServiceAccountTokenResponse{
		Status:            tokenRequestStatus(tok.Token, tok.Expires),
		Audiences:         tok.Audiences,
		ExpirationSeconds: tok.ExpirationSeconds,
	}, nil
}

// GetServiceAccountIssuer implements the RPC.
func (s *Service) GetServiceAccountIssuer(context.Context, *authnv1.GetServiceAccountIssuerRequest) (*authnv1.GetServiceAccountIssuerResponse, error) {
	if s.accounts == nil {
		return nil, status.Error(codes.NotFound, "service-account tokens are not enabled")
	}
	jwks, algs, err := s.accounts.JWKS()
	if err != nil {
		return nil, apierrors.Internal("encoding the key set failed")
	}
	return &authnv1.GetServiceAccountIssuerResponse{Issuer: s.issuer, Jwks: jwks, SigningAlgorithms: algs}, nil
}

func objectRef(o *authnv1.BoundObject) *serviceaccount.ObjectRef {
	if o == nil {
		return nil
	}
	return &serviceaccount.ObjectRef{Name: o.GetName(), UID: o.GetUid()}
}

// boundTo names a token's bound object for the log ("" when unbound).
func boundTo(req *authnv1.IssueServiceAccountTokenRequest) string {
	switch {
	case req.GetPod() != nil:
		return "pod/" + req.GetPod().GetName()
	case req.GetSecret() != nil:
		return "secret/" + req.GetSecret().GetName()
	case req.GetNode() != nil:
		return "node/" + req.GetNode().GetName()
	}
	return ""
}

func invalidCauses(inv serviceaccount.InvalidError) []*corev1.StatusCause {
	causes := make([]*corev1.StatusCause, len(inv))
	for i, f := range inv {
		causes[i] = &corev1.StatusCause{Reason: "FieldValueInvalid", Field: f.Field, Message: f.Message}
	}
	return causes
}

func tokenRequestStatus(token string, expires time.Time) *corev1.TokenRequestStatus {
	return &corev1.TokenRequestStatus{Token: token, ExpirationTimestamp: timestamppb.New(expires)}
}
