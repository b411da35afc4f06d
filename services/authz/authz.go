// Package authz is the authorization service: it answers "may they?" by
// the chain of modes given with --authorization-mode.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// Options configure authorization.
type Options struct {
	// Modes is --authorization-mode, in order.
	Modes []string
	// PolicyFile is --authorization-policy-file (ABAC).
	PolicyFile string
}

// DefaultModes fail closed: only system:masters is allowed until a policy
// mode is configured.
func DefaultModes() []string { return []string{"AlwaysDeny"} }

// Validate reports unusable options.
func (o *Options) Validate() error {
	var errs []error
	if len(o.Modes) == 0 {
		errs = append(errs, errors.New("--authorization-mode: at least one mode is required"))
	}
	for _, m := range o.Modes {
		if m == "ABAC" && o.PolicyFile == "" {
			errs = append(errs, errors.New("--authorization-mode ABAC needs --authorization-policy-file"))
		}
	}
	return errors.Join(errs...)
}

// Service implements portico.authz.v1.AuthorizationService.
type Service struct {
	authzv1.UnimplementedAuthorizationServiceServer
	authz authorizer.Authorizer
	log   *slog.Logger
}

// New builds the service.
func New(o Options, log *slog.Logger) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	a, err := authorizer.FromModes(o.Modes, func(mode string) (authorizer.Authorizer, error) {
		return nil, fmt.Errorf("mode %q is not available yet (known: %s)", mode, strings.Join(authorizer.ModeNames(), ", "))
	})
	if err != nil {
		return nil, err
	}
	return &Service{authz: a, log: log}, nil
}

// Register adds the service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	authzv1.RegisterAuthorizationServiceServer(r, s)
}

// Authorize implements the RPC. A mode's error with no decision is
// Internal (HTTP 500), never an allow.
func (s *Service) Authorize(ctx context.Context, req *authzv1.AuthorizeRequest) (*authzv1.AuthorizeResponse, error) {
	if req.GetUser().GetUsername() == "" || req.GetAttributes() == nil {
		return nil, status.Error(codes.InvalidArgument, "user and attributes are required")
	}
	d, reason, err := s.authz.Authorize(ctx, req.GetUser(), req.GetAttributes())
	if err != nil && d != authorizer.Allow && d != authorizer.Deny {
		s.log.ErrorContext(ctx, "authorization failed", "user", req.GetUser().GetUsername(), "error", err)
		return nil, status.Error(codes.Internal, "authorization failed")
	}
	out := &authzv1.AuthorizeResponse{Reason: reason}
	switch d {
	case authorizer.Allow:
		out.Decision = authzv1.Decision_DECISION_ALLOW
	case authorizer.Deny:
		out.Decision = authzv1.Decision_DECISION_DENY
	default:
		out.Decision = authzv1.Decision_DECISION_NO_OPINION
	}
	return out, nil
}
