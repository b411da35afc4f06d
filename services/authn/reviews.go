package authn

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

// The authentication.k8s.io group.
const (
	Group   = "authentication.k8s.io"
	Version = "v1"
)

// CreateTokenReview implements the RPC: it authenticates the token in the
// review, for the audiences it names (the API's when none), and answers in
// its status. The caller must be allowed to create tokenreviews.
func (s *Service) CreateTokenReview(ctx context.Context, req *authnv1.CreateTokenReviewRequest) (*authnv1.CreateTokenReviewResponse, error) {
	caller, ok := identity.UserFrom(ctx)
	if !ok {
		return nil, errUnauthorized
	}
	if s.authz == nil {
		return nil, apierrors.Unavailable("authorization is not configured for tokenreviews")
	}
	attrs := &authzv1.Attributes{Verb: "create", ApiGroup: Group, ApiVersion: Version, Resource: "tokenreviews", ResourceRequest: true}
	if err := s.authz.Authorize(ctx, caller, attrs); err != nil {
		return nil, err
	}
	in := req.GetTokenReview()
	token := in.GetSpec().GetToken()
	if token == "" {
		return nil, apierrors.BadRequest("token is required for TokenReview in authentication")
	}
	audiences := in.GetSpec().GetAudiences()
	if len(audiences) > serviceaccount.MaxAudiences {
		return nil, apierrors.BadRequest("too many audiences")
	}
	target := audiences
	if len(target) == 0 {
		target = s.apiAudiences
	}
	out := &authnv1.TokenReview{
		Metadata: reviewMeta(in.GetMetadata(), s.now()),
		Spec:     &authnv1.TokenReviewSpec{Token: token, Audiences: audiences},
		Status:   &authnv1.TokenReviewStatus{},
	}
	resp, err := s.authenticateToken(ctx, token, target)
	switch {
	case status.Code(err) == codes.Unavailable:
		return nil, apierrors.Unavailable("the token cannot be reviewed now: service accounts cannot be looked up")
	case err != nil:
		out.Status.Error = err.Error()
	default:
		out.Status.Authenticated = true
		out.Status.User = resp.User
		out.Status.Audiences = resp.Audiences
	}
	return &authnv1.CreateTokenReviewResponse{TokenReview: out}, nil
}

// CreateSelfSubjectReview implements the RPC: the caller's own user. It
// reveals nothing the caller does not already hold, so it needs no
// permission beyond being authenticated (kube-apiserver grants it to every
// user through system:basic-user).
func (s *Service) CreateSelfSubjectReview(ctx context.Context, req *authnv1.CreateSelfSubjectReviewRequest) (*authnv1.CreateSelfSubjectReviewResponse, error) {
	caller, ok := identity.UserFrom(ctx)
	if !ok {
		return nil, errUnauthorized
	}
	return &authnv1.CreateSelfSubjectReviewResponse{SelfSubjectReview: &authnv1.SelfSubjectReview{
		Metadata: reviewMeta(req.GetSelfSubjectReview().GetMetadata(), s.now()),
		Status:   &authnv1.SelfSubjectReviewStatus{UserInfo: caller},
	}}, nil
}

// reviewMeta is a review's answered metadata: kube-apiserver keeps the
// name and labels given and stamps the creation time (nothing is stored).
func reviewMeta(in *corev1.ObjectMeta, now time.Time) *corev1.ObjectMeta {
	return &corev1.ObjectMeta{
		Name: in.GetName(), Labels: in.GetLabels(), Annotations: in.GetAnnotations(),
		CreationTimestamp: timestamppb.New(now.Truncate(time.Second)),
	}
}
