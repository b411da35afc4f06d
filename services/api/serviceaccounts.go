package api

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// DefaultServiceAccount is the service account every namespace gets.
const DefaultServiceAccount = "default"

// TokenIssuer is what the api needs of authn to answer a TokenRequest:
// authn holds the signing key, the api knows the account.
type TokenIssuer interface {
	IssueServiceAccountToken(ctx context.Context, req *authnv1.IssueServiceAccountTokenRequest) (*authnv1.IssueServiceAccountTokenResponse, error)
}

// serviceAccountHooks adds the serviceaccounts/token subresource, and has
// every new namespace get its default service account (the job of
// kube-controller-manager's service-account controller, done here at
// once so that `kubectl create token default` works right after `kubectl
// create namespace`).
func (s *Service) serviceAccountHooks(sa *resource[*corev1.ServiceAccount]) {
	sa.subresources["token"] = map[string]func(context.Context, proto.Message) (proto.Message, error){
		"create": s.createServiceAccountToken,
	}
	s.namespaces.afterCreate = func(ctx context.Context, ns *corev1.Namespace) {
		s.ensureDefaultServiceAccount(ctx, ns.GetMetadata().GetName())
	}
}

// ensureDefaultServiceAccount creates the namespace's default service
// account when it is missing. A failure is logged: the namespace exists
// either way, and EnsureDefaultServiceAccounts repairs it at the next start.
func (s *Service) ensureDefaultServiceAccount(ctx context.Context, ns string) {
	_, err := s.serviceAccounts.create(ctx, ns, &corev1.ServiceAccount{Metadata: &corev1.ObjectMeta{Name: DefaultServiceAccount}}, writeOptions{})
	if err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
		s.log.WarnContext(ctx, "creating the default service account failed", "namespace", ns, "error", err)
	}
}

// EnsureDefaultServiceAccounts gives every namespace that lacks one its
// default service account (namespaces made before service accounts
// existed, or whose creation was interrupted).
func (s *Service) EnsureDefaultServiceAccounts(ctx context.Context) error {
	req := &corev1.ListNamespacesRequest{}
	for {
		res, err := s.namespaces.list(ctx, "", req)
		if err != nil {
			return fmt.Errorf("listing namespaces: %w", err)
		}
		for _, ns := range res.Items {
			if ns.GetStatus().GetPhase() == phaseTerminating {
				continue
			}
			name := ns.GetMetadata().GetName()
			if _, err := s.serviceAccounts.get(ctx, name, DefaultServiceAccount); apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
				s.ensureDefaultServiceAccount(ctx, name)
			}
		}
		if res.Continue == "" {
			return nil
		}
		req = &corev1.ListNamespacesRequest{Continue: res.Continue}
	}
}

// createServiceAccountToken serves POST .../serviceaccounts/{name}/token:
// the account must exist (and not be going away); authn signs a token
// bound to its UID.
func (s *Service) createServiceAccountToken(ctx context.Context, req proto.Message) (proto.Message, error) {
	in, ok := req.(*corev1.CreateServiceAccountTokenRequest)
	if !ok {
		return nil, apierrors.Internal(fmt.Sprintf("%T is not a token request", req))
	}
	issuer, ok := s.authn.(TokenIssuer)
	if !ok {
		return nil, apierrors.MethodNotAllowed()
	}
	dry, err := dryRunAll(in.GetDryRun())
	if err != nil {
		return nil, err
	}
	sa, err := s.serviceAccounts.get(ctx, in.GetNamespace(), in.GetName())
	if err != nil {
		return nil, err
	}
	if sa.GetMetadata().GetDeletionTimestamp() != nil {
		return nil, apierrors.Forbidden("", "serviceaccounts", in.GetName(), fmt.Sprintf("serviceaccounts %q is forbidden: the service account is being deleted", in.GetName()))
	}
	tr := in.GetTokenRequest()
	spec := proto.Clone(tr.GetSpec()).(*corev1.TokenRequestSpec)
	if spec == nil {
		spec = &corev1.TokenRequestSpec{}
	}
	out := &corev1.TokenRequest{
		Metadata: &corev1.ObjectMeta{
			Name: in.GetName(), Namespace: in.GetNamespace(),
			CreationTimestamp: timestamppb.New(s.serviceAccounts.now().Truncate(time.Second)),
		},
		Spec:   spec,
		Status: &corev1.TokenRequestStatus{},
	}
	if !dry {
		resp, err := issuer.IssueServiceAccountToken(ctx, &authnv1.IssueServiceAccountTokenRequest{
			Namespace: in.GetNamespace(), Name: in.GetName(), Uid: sa.GetMetadata().GetUid(), Spec: spec,
		})
		if err != nil {
			return nil, err
		}
		// The answer shows what the token got, defaults included.
		spec.Audiences = resp.GetAudiences()
		exp := resp.GetExpirationSeconds()
		spec.ExpirationSeconds = &exp
		out.Status = resp.GetStatus()
	}
	created(ctx)
	return out, nil
}
