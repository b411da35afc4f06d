package authz

import (
	"context"
	"crypto/x509"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/impersonation"
	"github.com/portico-dev/portico/internal/svcauth"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// Authenticator is what authz needs of authn: the user of a caller that
// comes with its own certificate or bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error)
}

// PeerServices tells Portico's services from users on a connection
// (svcauth.Verifier).
type PeerServices = svcauth.PeerServices

// internalCallers are the services that may call each internal RPC: the
// api and the gateway decide requests, authn decides token reviews.
var internalCallers = map[string][]string{
	authzv1.AuthorizationService_Authorize_FullMethodName:           {"api", "gateway", "authn"},
	authzv1.AuthorizationService_WatchPolicy_FullMethodName:         {"api", "gateway", "authn"},
	authzv1.AuthorizationService_ConfirmNoEscalation_FullMethodName: {"api"},
}

// AuthFunc authenticates every call (grpcserver.Options.Auth). Internal
// RPCs answer only the services allowed to call them. The reviews run as
// the user the gateway forwards, as the calling service itself, or as
// whoever the caller's own certificate or bearer token says (authn), or
// as the user that caller impersonates, decided by this service's chain.
func (s *Service) AuthFunc(peers PeerServices) func(context.Context) (context.Context, error) {
	c := svcauth.Callers{Peers: peers, Internal: internalCallers, Impersonation: impersonation.AuthorizerFunc(s.authorizeUser), Logger: s.log}
	if s.authn != nil {
		c.Users = s.authn
	}
	return c.AuthFunc()
}

// reviewResources are the resources of the review RPCs, for their own
// authorization.
var reviewResources = map[string]string{
	authzv1.AccessReviewService_CreateSubjectAccessReview_FullMethodName:      "subjectaccessreviews",
	authzv1.AccessReviewService_CreateLocalSubjectAccessReview_FullMethodName: "localsubjectaccessreviews",
	authzv1.AccessReviewService_CreateSelfSubjectAccessReview_FullMethodName:  "selfsubjectaccessreviews",
	authzv1.AccessReviewService_CreateSelfSubjectRulesReview_FullMethodName:   "selfsubjectrulesreviews",
}

// UnaryAuthorizer authorizes each review call as kube-apiserver does a
// create of the review kind, by this service's own chain
// (grpcserver.Options.Unary). Internal RPCs pass: AuthFunc checked them.
func (s *Service) UnaryAuthorizer() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resource, ok := reviewResources[info.FullMethod]
		if !ok {
			if _, internal := internalCallers[info.FullMethod]; internal {
				return handler(ctx, req)
			}
			return nil, status.Errorf(codes.PermissionDenied, "no authorization rule for %s", info.FullMethod)
		}
		u, ok := identity.UserFrom(ctx)
		if !ok {
			return nil, apierrors.Unauthorized("Unauthorized")
		}
		attrs := &authzv1.Attributes{Verb: "create", ApiGroup: Group, ApiVersion: Version, Resource: resource, ResourceRequest: true}
		if r, ok := req.(interface{ GetNamespace() string }); ok {
			attrs.Namespace = r.GetNamespace()
		}
		if err := s.authorizeUser(ctx, u, attrs); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// authorizeUser decides attrs for u by this service's own chain, with the
// answers of authzclient.Client.Authorize: nil when allowed, a 403 in
// kube-apiserver's words, 500 when a mode failed.
func (s *Service) authorizeUser(ctx context.Context, u *authnv1.UserInfo, attrs *authzv1.Attributes) error {
	d, reason, err := s.chain.Authorize(ctx, u, attrs)
	switch {
	case d == authorizer.Allow:
		return nil
	case err != nil && d != authorizer.Deny:
		s.log.ErrorContext(ctx, "authorization failed", "user", u.GetUsername(), "error", err)
		return apierrors.Internal("authorization failed")
	}
	return apierrors.Forbidden(attrs.GetApiGroup(), attrs.GetResource(), attrs.GetName(), authzclient.ForbiddenMessage(u, attrs, reason))
}
