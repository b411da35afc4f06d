// Package authzclient is how the api and the gateway ask the authz service
// whether a user may do something. It fails closed: authz unreachable is
// Unavailable (503), a failed mode Internal (500), never an allow.
//
// A Client made with NewCached keeps decisions briefly (allowed and denied
// each with their own TTL), tagged with the policy generation authz
// decided them under. authz streams its generation (WatchPolicy); a new
// one (the policy file changed, an RBAC object or a pod changed) drops
// every cached decision. The cache is used only while that stream is
// open, so no decision outlives a policy change it could not hear about,
// and authz unreachable is 503 at once rather than after the TTL.
package authzclient

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Client decides requests through the authz service.
type Client struct {
	rpc     authzv1.AuthorizationServiceClient
	reviews authzv1.AccessReviewServiceClient
	cache   *cache // nil: every call asks authz
	log     *slog.Logger
}

// New returns a client on conn that asks authz every time.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{
		rpc: authzv1.NewAuthorizationServiceClient(conn), reviews: authzv1.NewAccessReviewServiceClient(conn),
		log: slog.New(slog.DiscardHandler),
	}
}

// Cache defaults.
const (
	// DefaultAllowedTTL is how long an allow is reused at most.
	DefaultAllowedTTL = 10 * time.Second
	// DefaultDeniedTTL is how long a refusal is reused at most.
	DefaultDeniedTTL = 5 * time.Second
	// DefaultMaxEntries bounds the cache.
	DefaultMaxEntries = 10000
)

// Options configure a Client's cache; zero fields take the defaults.
type Options struct {
	AllowedTTL, DeniedTTL time.Duration
	MaxEntries            int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger reports the policy stream's state.
	Logger *slog.Logger
}

// Validate reports impossible values.
func (o *Options) Validate() error {
	if o.AllowedTTL < 0 || o.DeniedTTL < 0 || o.MaxEntries < 0 {
		return fmt.Errorf("authz cache: TTLs and MaxEntries must not be negative")
	}
	return nil
}

// NewCached returns a client on conn that caches decisions. Run must be
// running for the cache to be used.
func NewCached(conn grpc.ClientConnInterface, o Options) (*Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.AllowedTTL == 0 {
		o.AllowedTTL = DefaultAllowedTTL
	}
	if o.DeniedTTL == 0 {
		o.DeniedTTL = DefaultDeniedTTL
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := New(conn)
	if o.Logger != nil {
		c.log = o.Logger
	}
	c.cache = newCache(o)
	return c, nil
}

// Authorize returns nil when u may do a, a 403 Status error in Kubernetes
// wording when not, 500 when a mode failed, 503 when authz is unreachable.
//
// system:masters is decided here, as kube-apiserver's privileged-group
// authorizer decides it before any other mode: authz's chain allows it
// whatever its modes say, so asking changes nothing, and the insecure port
// (whose user is in system:masters) keeps working with authz down.
func (c *Client) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	if slices.Contains(u.GetGroups(), identity.GroupMasters) {
		return nil
	}
	var (
		buf [256]byte
		key []byte
	)
	if c.cache != nil {
		key = appendKey(buf[:0], u, a)
		if d, ok := c.cache.get(key); ok {
			return result(u, a, d.allowed, d.reason)
		}
	}
	resp, err := c.rpc.Authorize(ctx, &authzv1.AuthorizeRequest{User: u, Attributes: a})
	if err != nil {
		if status.Code(err) == codes.Internal {
			return apierrors.Internal("authorization failed")
		}
		return apierrors.Unavailable("authorization is unavailable: the authz service did not answer or is still loading its policy")
	}
	allowed := resp.GetDecision() == authzv1.Decision_DECISION_ALLOW
	if c.cache != nil {
		c.cache.put(string(key), resp.GetGeneration(), allowed, resp.GetReason())
	}
	return result(u, a, allowed, resp.GetReason())
}

func result(u *authnv1.UserInfo, a *authzv1.Attributes, allowed bool, reason string) error {
	if allowed {
		return nil
	}
	if !a.GetResourceRequest() {
		return apierrors.Forbidden("", "", "", ForbiddenMessage(u, a, reason))
	}
	return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), ForbiddenMessage(u, a, reason))
}

// Run keeps the policy stream open until ctx ends, reconnecting with
// backoff; while it is down the cache is empty and unused. It does
// nothing for a client made with New.
func (c *Client) Run(ctx context.Context) {
	if c.cache == nil {
		return
	}
	backoff.Streams().Loop(ctx, func(ctx context.Context) error {
		err := c.watch(ctx)
		c.cache.setLive(false, 0)
		return err
	}, func(err error, retryIn time.Duration) {
		c.log.Debug("authz policy stream closed: decision cache off until it reopens", "error", err, "retryIn", retryIn)
	})
}

func (c *Client) watch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.WatchPolicy(ctx, &authzv1.WatchPolicyRequest{})
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		c.cache.setLive(true, msg.GetGeneration())
	}
}

// CacheLive reports whether the cache is in use (its policy stream is
// open); for tests and health.
func (c *Client) CacheLive() bool {
	if c.cache == nil {
		return false
	}
	return c.cache.isLive()
}

// ConfirmNoEscalation asks whether u holds every rule in namespace.
func (c *Client) ConfirmNoEscalation(ctx context.Context, u *authnv1.UserInfo, namespace string, rules []*authzv1.PolicyRule) (*authzv1.ConfirmNoEscalationResponse, error) {
	resp, err := c.rpc.ConfirmNoEscalation(ctx, &authzv1.ConfirmNoEscalationRequest{User: u, Namespace: namespace, Rules: rules})
	if err != nil {
		return nil, mapError(err)
	}
	return resp, nil
}

// CreateSubjectAccessReview asks authz, on behalf of user, what the
// review's subject may do.
func (c *Client) CreateSubjectAccessReview(ctx context.Context, user *authnv1.UserInfo, req *authzv1.CreateSubjectAccessReviewRequest) (*authzv1.CreateSubjectAccessReviewResponse, error) {
	resp, err := c.reviews.CreateSubjectAccessReview(asUser(ctx, user), req)
	return resp, mapError(err)
}

// CreateLocalSubjectAccessReview is CreateSubjectAccessReview in one
// namespace.
func (c *Client) CreateLocalSubjectAccessReview(ctx context.Context, user *authnv1.UserInfo, req *authzv1.CreateLocalSubjectAccessReviewRequest) (*authzv1.CreateLocalSubjectAccessReviewResponse, error) {
	resp, err := c.reviews.CreateLocalSubjectAccessReview(asUser(ctx, user), req)
	return resp, mapError(err)
}

// CreateSelfSubjectAccessReview asks authz what user may do.
func (c *Client) CreateSelfSubjectAccessReview(ctx context.Context, user *authnv1.UserInfo, req *authzv1.CreateSelfSubjectAccessReviewRequest) (*authzv1.CreateSelfSubjectAccessReviewResponse, error) {
	resp, err := c.reviews.CreateSelfSubjectAccessReview(asUser(ctx, user), req)
	return resp, mapError(err)
}

// CreateSelfSubjectRulesReview asks authz for user's rules in a namespace.
func (c *Client) CreateSelfSubjectRulesReview(ctx context.Context, user *authnv1.UserInfo, req *authzv1.CreateSelfSubjectRulesReviewRequest) (*authzv1.CreateSelfSubjectRulesReviewResponse, error) {
	resp, err := c.reviews.CreateSelfSubjectRulesReview(asUser(ctx, user), req)
	return resp, mapError(err)
}

// asUser forwards user to authz, as the gateway forwards users to the api.
func asUser(ctx context.Context, user *authnv1.UserInfo) context.Context {
	return metadata.NewOutgoingContext(ctx, identity.ToMetadata(user))
}

// mapError keeps authz's own answers (a Status it built, or a refusal)
// and turns transport failures into 503.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		if len(st.Details()) == 0 {
			return apierrors.Unavailable("authorization is unavailable: the authz service did not answer or is still loading its policy")
		}
	}
	return err
}

// sanitizer escapes what kube-apiserver escapes in a refusal's message.
var sanitizer = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// ForbiddenMessage is kube-apiserver's wording of a refusal
// (responsewriters.forbiddenMessage, then apierrors.NewForbidden):
// `<resource>[.<group>] ["<name>"] is forbidden: User "<u>" cannot <verb>
// resource "<resource>[/<sub>]" in API group "<group>" (in the namespace
// "<ns>" | at the cluster scope)[: <reason>]`, or `forbidden: User "<u>"
// cannot <verb> path "<path>"[: <reason>]`.
func ForbiddenMessage(u *authnv1.UserInfo, a *authzv1.Attributes, reason string) string {
	var msg string
	if !a.GetResourceRequest() {
		msg = "forbidden: " + sanitizer.Replace(fmt.Sprintf("User %q cannot %s path %q", u.GetUsername(), a.GetVerb(), a.GetPath()))
	} else {
		res := a.GetResource()
		if a.GetSubresource() != "" {
			res += "/" + a.GetSubresource()
		}
		qualified := a.GetResource()
		if a.GetApiGroup() != "" {
			qualified += "." + a.GetApiGroup()
		}
		subject := qualified
		if a.GetName() != "" {
			subject = fmt.Sprintf("%s %q", qualified, a.GetName())
		}
		why := fmt.Sprintf("User %q cannot %s resource %q in API group %q", u.GetUsername(), a.GetVerb(), res, a.GetApiGroup())
		if a.GetNamespace() != "" {
			why += fmt.Sprintf(" in the namespace %q", a.GetNamespace())
		} else {
			why += " at the cluster scope"
		}
		msg = subject + " is forbidden: " + sanitizer.Replace(why)
	}
	if reason != "" {
		msg += ": " + reason
	}
	return msg
}
