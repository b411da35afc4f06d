package api

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/respmeta"
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
	_, err := s.serviceAccounts.create(ctx, ns, &corev1.ServiceAccount{Metadata: &corev1.ObjectMeta{Name: DefaultServiceAccount}}, writeOptions{manager: managerControllerManager})
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
		res, err := s.namespaces.list(ctx, "", req, false)
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
// the account must exist (and not be going away), a kubelet's request
// must pass the node restriction, and the bound object, if any, must
// exist with the UID given; authn signs a token bound to the account's
// UID and that object's, capped at --service-account-max-token-expiration.
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
	if err := s.nodeRestriction.TokenRequest(ctx, in.GetNamespace(), in.GetName(), spec); err != nil {
		return nil, err
	}
	issue := &authnv1.IssueServiceAccountTokenRequest{
		Namespace: in.GetNamespace(), Name: in.GetName(), Uid: sa.GetMetadata().GetUid(), Spec: spec,
	}
	if err := s.bindToken(ctx, issue); err != nil {
		return nil, err
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
		resp, err := issuer.IssueServiceAccountToken(ctx, issue)
		if err != nil {
			return nil, err
		}
		// The answer shows what the token got, defaults included.
		asked := int64(defaultTokenSeconds)
		if spec.ExpirationSeconds != nil {
			asked = spec.GetExpirationSeconds()
		}
		spec.Audiences = resp.GetAudiences()
		exp := resp.GetExpirationSeconds()
		spec.ExpirationSeconds = &exp
		out.Status = resp.GetStatus()
		if exp < asked {
			_ = grpc.SetHeader(ctx, metadata.Pairs(respmeta.Warning,
				fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", asked, exp)))
		}
	}
	created(ctx)
	return out, nil
}

// defaultTokenSeconds is a TokenRequest's lifetime when it names none.
const defaultTokenSeconds = 3600

// bindToken finds the object the token request's boundObjectRef names (a
// Pod, Secret or Node of v1, as kube-apiserver binds to), checks its UID
// (filled in when not given) and names it in the issue request; a pod's
// node goes along. The errors are kube's: 400 for a kind it cannot bind
// to or a pod of another account, 409 for a UID that changed.
func (s *Service) bindToken(ctx context.Context, issue *authnv1.IssueServiceAccountTokenRequest) error {
	ref := issue.GetSpec().GetBoundObjectRef()
	if ref == nil {
		return nil
	}
	group, version := "", ref.GetApiVersion()
	if g, v, ok := strings.Cut(version, "/"); ok {
		group, version = g, v
	}
	var meta *corev1.ObjectMeta
	switch {
	case group == "" && ref.GetKind() == "Pod":
		pod, err := s.pods.get(ctx, issue.GetNamespace(), ref.GetName())
		if err != nil {
			return err
		}
		if pod.GetSpec().GetServiceAccountName() != issue.GetName() {
			return apierrors.BadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", issue.GetName()))
		}
		meta = pod.GetMetadata()
		issue.Pod = &authnv1.BoundObject{Name: meta.GetName(), Uid: meta.GetUid()}
		if nodeName := pod.GetSpec().GetNodeName(); nodeName != "" {
			// The node is information in the token: a missing one is named
			// without its UID, as kube-apiserver does.
			issue.Node = &authnv1.BoundObject{Name: nodeName}
			node, err := s.nodes.get(ctx, "", nodeName)
			switch {
			case err == nil:
				issue.Node.Uid = node.GetMetadata().GetUid()
			case apierrors.ReasonOf(err) != apierrors.ReasonNotFound:
				return err
			}
		}
	case group == "" && ref.GetKind() == "Secret":
		secret, err := s.secrets.get(ctx, issue.GetNamespace(), ref.GetName())
		if err != nil {
			return err
		}
		meta = secret.GetMetadata()
		issue.Secret = &authnv1.BoundObject{Name: meta.GetName(), Uid: meta.GetUid()}
	case group == "" && ref.GetKind() == "Node":
		node, err := s.nodes.get(ctx, "", ref.GetName())
		if err != nil {
			return err
		}
		meta = node.GetMetadata()
		issue.Node = &authnv1.BoundObject{Name: meta.GetName(), Uid: meta.GetUid()}
	default:
		return apierrors.BadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvkString(group, version, ref.GetKind())))
	}
	if ref.GetUid() != "" && ref.GetUid() != meta.GetUid() {
		return apierrors.Conflict(group, ref.GetKind(), ref.GetName(), fmt.Sprintf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.GetUid()))
	}
	ref.Uid = meta.GetUid()
	return nil
}

// gvkString is a kind as schema.GroupVersionKind.String() prints it.
func gvkString(group, version, kind string) string {
	return group + "/" + version + ", Kind=" + kind
}
