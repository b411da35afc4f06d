package authz

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// The authorization.k8s.io group.
const (
	Group   = "authorization.k8s.io"
	Version = "v1"
)

// reviews implements portico.authz.v1.AccessReviewService.
type reviews struct {
	authzv1.UnimplementedAccessReviewServiceServer
	s *Service
}

func invalid(kind, field, msg string) error {
	return apierrors.Invalid(Group, kind, "", []*corev1.StatusCause{{Reason: "FieldValueInvalid", Field: field, Message: msg}})
}

// attributesOf reads a review spec's attributes: exactly one of the two.
func attributesOf(kind string, res *authzv1.ResourceAttributes, non *authzv1.NonResourceAttributes) (*authzv1.Attributes, error) {
	switch {
	case res != nil && non != nil:
		return nil, invalid(kind, "spec.resourceAttributes", "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified")
	case res != nil:
		return &authzv1.Attributes{
			Verb: res.GetVerb(), ApiGroup: res.GetGroup(), ApiVersion: res.GetVersion(),
			Resource: res.GetResource(), Subresource: res.GetSubresource(),
			Namespace: res.GetNamespace(), Name: res.GetName(), ResourceRequest: true,
			FieldSelector: res.GetFieldSelector().GetRawSelector(), LabelSelector: res.GetLabelSelector().GetRawSelector(),
		}, nil
	case non != nil:
		return &authzv1.Attributes{Verb: non.GetVerb(), Path: non.GetPath()}, nil
	}
	return nil, invalid(kind, "spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")
}

// status decides for u and words the answer as a review status: a mode's
// error is the evaluationError, not a failed call.
func (r *reviews) status(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) *authzv1.SubjectAccessReviewStatus {
	d, reason, err := r.s.chain.Authorize(ctx, u, a)
	st := &authzv1.SubjectAccessReviewStatus{
		Allowed: d == authorizer.Allow,
		Denied:  d == authorizer.Deny,
		Reason:  reason,
	}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func caller(ctx context.Context) (*authnv1.UserInfo, error) {
	u, ok := identity.UserFrom(ctx)
	if !ok {
		return nil, apierrors.Unauthorized("Unauthorized")
	}
	return u, nil
}

// CreateSubjectAccessReview answers for the user the spec names.
func (r *reviews) CreateSubjectAccessReview(ctx context.Context, req *authzv1.CreateSubjectAccessReviewRequest) (*authzv1.CreateSubjectAccessReviewResponse, error) {
	in := req.GetSubjectAccessReview()
	out, err := r.subject("SubjectAccessReview", in.GetMetadata(), in.GetSpec())
	if err != nil {
		return nil, err
	}
	a, _ := attributesOf("SubjectAccessReview", in.GetSpec().GetResourceAttributes(), in.GetSpec().GetNonResourceAttributes())
	out.Status = r.status(ctx, userOf(in.GetSpec()), a)
	return &authzv1.CreateSubjectAccessReviewResponse{SubjectAccessReview: out}, nil
}

// subject validates a (local) subject access review's spec.
func (r *reviews) subject(kind string, meta *corev1.ObjectMeta, spec *authzv1.SubjectAccessReviewSpec) (*authzv1.SubjectAccessReview, error) {
	if _, err := attributesOf(kind, spec.GetResourceAttributes(), spec.GetNonResourceAttributes()); err != nil {
		return nil, err
	}
	if spec.GetUser() == "" && len(spec.GetGroups()) == 0 {
		return nil, invalid(kind, "spec.user", "Invalid value: \"\": at least one of user or group must be specified")
	}
	return &authzv1.SubjectAccessReview{Metadata: meta, Spec: proto.Clone(spec).(*authzv1.SubjectAccessReviewSpec)}, nil
}

func userOf(spec *authzv1.SubjectAccessReviewSpec) *authnv1.UserInfo {
	return &authnv1.UserInfo{Username: spec.GetUser(), Uid: spec.GetUid(), Groups: spec.GetGroups(), Extra: spec.GetExtra()}
}

// CreateLocalSubjectAccessReview is CreateSubjectAccessReview in one
// namespace: the attributes' namespace must be the review's.
func (r *reviews) CreateLocalSubjectAccessReview(ctx context.Context, req *authzv1.CreateLocalSubjectAccessReviewRequest) (*authzv1.CreateLocalSubjectAccessReviewResponse, error) {
	in := req.GetLocalSubjectAccessReview()
	const kind = "LocalSubjectAccessReview"
	if in.GetSpec().GetNonResourceAttributes() != nil {
		return nil, invalid(kind, "spec.nonResourceAttributes", "Invalid value: \"object\": disallowed on this kind of request")
	}
	ns := req.GetNamespace()
	if ns == "" {
		return nil, apierrors.BadRequest("a namespace is required")
	}
	if m := in.GetMetadata().GetNamespace(); m != "" && m != ns {
		return nil, apierrors.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if in.GetSpec().GetResourceAttributes().GetNamespace() != ns {
		return nil, invalid(kind, "spec.resourceAttributes.namespace", "Invalid value: \""+in.GetSpec().GetResourceAttributes().GetNamespace()+"\": must match metadata.namespace")
	}
	sar, err := r.subject(kind, in.GetMetadata(), in.GetSpec())
	if err != nil {
		return nil, err
	}
	a, _ := attributesOf(kind, in.GetSpec().GetResourceAttributes(), nil)
	meta := proto.Clone(in.GetMetadata()).(*corev1.ObjectMeta)
	if meta == nil {
		meta = &corev1.ObjectMeta{}
	}
	meta.Namespace = ns
	out := &authzv1.LocalSubjectAccessReview{Metadata: meta, Spec: sar.GetSpec(), Status: r.status(ctx, userOf(in.GetSpec()), a)}
	return &authzv1.CreateLocalSubjectAccessReviewResponse{LocalSubjectAccessReview: out}, nil
}

// CreateSelfSubjectAccessReview answers for the caller (kubectl auth
// can-i).
func (r *reviews) CreateSelfSubjectAccessReview(ctx context.Context, req *authzv1.CreateSelfSubjectAccessReviewRequest) (*authzv1.CreateSelfSubjectAccessReviewResponse, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetSelfSubjectAccessReview()
	a, err := attributesOf("SelfSubjectAccessReview", in.GetSpec().GetResourceAttributes(), in.GetSpec().GetNonResourceAttributes())
	if err != nil {
		return nil, err
	}
	out := &authzv1.SelfSubjectAccessReview{Metadata: in.GetMetadata(), Spec: in.GetSpec(), Status: r.status(ctx, u, a)}
	return &authzv1.CreateSelfSubjectAccessReviewResponse{SelfSubjectAccessReview: out}, nil
}

// CreateSelfSubjectRulesReview lists what the caller may do in the
// namespace (kubectl auth can-i --list).
func (r *reviews) CreateSelfSubjectRulesReview(ctx context.Context, req *authzv1.CreateSelfSubjectRulesReviewRequest) (*authzv1.CreateSelfSubjectRulesReviewResponse, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in := req.GetSelfSubjectRulesReview()
	if in.GetSpec() == nil {
		return nil, invalid("SelfSubjectRulesReview", "spec.namespace", "Required value")
	}
	rules, incomplete, err := r.s.chain.RulesFor(ctx, u, in.GetSpec().GetNamespace())
	st := &authzv1.SubjectRulesReviewStatus{Incomplete: incomplete}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	for _, rr := range rules.Resource {
		st.ResourceRules = append(st.ResourceRules, &authzv1.ResourceRule{Verbs: rr.Verbs, ApiGroups: rr.APIGroups, Resources: rr.Resources, ResourceNames: rr.ResourceNames})
	}
	for _, nr := range rules.NonResource {
		st.NonResourceRules = append(st.NonResourceRules, &authzv1.NonResourceRule{Verbs: nr.Verbs, NonResourceUrls: nr.NonResourceURLs})
	}
	out := &authzv1.SelfSubjectRulesReview{Metadata: in.GetMetadata(), Spec: in.GetSpec(), Status: st}
	return &authzv1.CreateSelfSubjectRulesReviewResponse{SelfSubjectRulesReview: out}, nil
}
