// Package authn is the authentication service: it answers "who is this?"
// for a bearer token or a client certificate chain.
package authn

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	"github.com/portico-dev/portico/services/authn/tokenfile"
	"github.com/portico-dev/portico/services/authn/x509user"
)

// MaxTokenBytes bounds a bearer token.
const MaxTokenBytes = 16 << 10

// Options configure authentication.
type Options struct {
	// TokenAuthFile is --token-auth-file: static bearer tokens.
	TokenAuthFile string
	// ClientCAFile is --client-ca-file: the CA bundle user certificates verify against.
	ClientCAFile string
	// Anonymous is --anonymous-auth: requests with no credential become system:anonymous.
	Anonymous bool
}

// Validate reports unreadable files.
func (o *Options) Validate() error {
	var errs []error
	for flag, f := range map[string]string{"--token-auth-file": o.TokenAuthFile, "--client-ca-file": o.ClientCAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	return errors.Join(errs...)
}

// TokenAuthenticator turns a bearer token into a user (k8s authenticator.Token).
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*authnv1.UserInfo, bool, error)
}

// Service implements portico.authn.v1.AuthenticationService.
type Service struct {
	authnv1.UnimplementedAuthenticationServiceServer
	tokens    []TokenAuthenticator
	certs     *x509user.Authenticator
	anonymous bool
	log       *slog.Logger
}

// New builds the service from validated options.
func New(o Options, log *slog.Logger) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := &Service{anonymous: o.Anonymous, log: log}
	if o.TokenAuthFile != "" {
		toks, err := tokenfile.ReadFile(o.TokenAuthFile)
		if err != nil {
			return nil, err
		}
		for _, w := range toks.Warnings {
			log.Warn("token file", "file", o.TokenAuthFile, "warning", w)
		}
		log.Info("token file loaded", "file", o.TokenAuthFile, "tokens", toks.Len())
		s.tokens = append(s.tokens, toks)
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
		s.certs = x509user.New(pool, nil)
	}
	return s, nil
}

// Register adds the service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	authnv1.RegisterAuthenticationServiceServer(r, s)
}

// Authenticate implements the RPC. The order is kube-apiserver's: the
// client certificate first, then the bearer token, then anonymous.
func (s *Service) Authenticate(ctx context.Context, req *authnv1.AuthenticateRequest) (*authnv1.AuthenticateResponse, error) {
	if len(req.GetToken()) > MaxTokenBytes {
		return nil, status.Error(codes.Unauthenticated, "Unauthorized")
	}
	if len(req.GetClientCertificates()) > 0 && s.certs != nil {
		chain, err := x509user.ParseChain(req.GetClientCertificates())
		if err == nil {
			var u *authnv1.UserInfo
			if u, err = s.certs.AuthenticateChain(chain); err == nil {
				return &authnv1.AuthenticateResponse{User: withAuthenticated(u), Method: "x509"}, nil
			}
		}
		// A certificate that does not verify is refused outright, as
		// kube-apiserver does: no fall through to a token or anonymous.
		s.log.InfoContext(ctx, "client certificate refused", "error", err)
		return nil, status.Error(codes.Unauthenticated, "Unauthorized")
	}
	if tok := req.GetToken(); tok != "" {
		for _, a := range s.tokens {
			u, ok, err := a.AuthenticateToken(ctx, tok)
			if err != nil {
				s.log.WarnContext(ctx, "token authenticator failed", "error", err)
				continue
			}
			if ok {
				return &authnv1.AuthenticateResponse{User: withAuthenticated(u), Method: "token-file"}, nil
			}
		}
		return nil, status.Error(codes.Unauthenticated, "Unauthorized")
	}
	if s.anonymous {
		return &authnv1.AuthenticateResponse{
			User:   &authnv1.UserInfo{Username: identity.UserAnonymous, Groups: []string{identity.GroupUnauthenticated}},
			Method: "anonymous",
		}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "Unauthorized")
}

// withAuthenticated returns a copy of u that is in system:authenticated.
func withAuthenticated(u *authnv1.UserInfo) *authnv1.UserInfo {
	out := &authnv1.UserInfo{Username: u.GetUsername(), Uid: u.GetUid(), Extra: u.GetExtra()}
	out.Groups = append(out.Groups, u.GetGroups()...)
	for _, g := range out.Groups {
		if g == identity.GroupAuthenticated {
			return out
		}
	}
	out.Groups = append(out.Groups, identity.GroupAuthenticated)
	return out
}
