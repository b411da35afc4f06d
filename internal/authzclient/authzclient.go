// Package authzclient is how the api asks the authz service whether a user
// may do something. It fails closed: authz unreachable is Unavailable,
// never an allow.
package authzclient

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Client decides requests through the authz service.
type Client struct {
	rpc authzv1.AuthorizationServiceClient
}

// New returns a client on conn.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: authzv1.NewAuthorizationServiceClient(conn)}
}

// Authorize returns nil when u may do a, a 403 Status error in Kubernetes
// wording when not, 500 when a mode failed, 503 when authz is unreachable.
func (c *Client) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	resp, err := c.rpc.Authorize(ctx, &authzv1.AuthorizeRequest{User: u, Attributes: a})
	if err != nil {
		if status.Code(err) == codes.Internal {
			return apierrors.Internal("authorization failed")
		}
		return apierrors.Unavailable("authorization is unavailable: the authz service did not answer")
	}
	if resp.GetDecision() == authzv1.Decision_DECISION_ALLOW {
		return nil
	}
	return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), ForbiddenMessage(u, a, resp.GetReason()))
}

// ForbiddenMessage is kube-apiserver's wording of a refusal.
func ForbiddenMessage(u *authnv1.UserInfo, a *authzv1.Attributes, reason string) string {
	var msg string
	if !a.GetResourceRequest() {
		msg = fmt.Sprintf("forbidden: User %q cannot %s path %q", u.GetUsername(), a.GetVerb(), a.GetPath())
	} else {
		res := a.GetResource()
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		subject := res
		if a.GetName() != "" {
			subject = fmt.Sprintf("%s %q", res, a.GetName())
		}
		msg = fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q", subject, u.GetUsername(), a.GetVerb(), res, a.GetApiGroup())
		if a.GetNamespace() != "" {
			msg += fmt.Sprintf(" in the namespace %q", a.GetNamespace())
		} else {
			msg += " at the cluster scope"
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}
