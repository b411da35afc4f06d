package serviceaccount

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	"github.com/portico-dev/portico/services/authn/authenticator"
)

// Method is the authenticator name in responses.
const Method = "service-account"

// CredentialIDKey is the extra attribute naming the credential:
// "JTI=<token id>", as kube-apiserver sets it.
const CredentialIDKey = "authentication.kubernetes.io/credential-id"

// Extra attributes of a bound token's user, as kube-apiserver sets them.
const (
	PodNameKey  = "authentication.kubernetes.io/pod-name"
	PodUIDKey   = "authentication.kubernetes.io/pod-uid"
	NodeNameKey = "authentication.kubernetes.io/node-name"
	NodeUIDKey  = "authentication.kubernetes.io/node-uid"
)

// Kind is a kind of object a token names.
type Kind string

// The kinds a token names: its account, and what it may be bound to.
const (
	KindServiceAccount Kind = "ServiceAccount"
	KindPod            Kind = "Pod"
	KindSecret         Kind = "Secret"
	KindNode           Kind = "Node"
)

// Object is what verification needs of a live object.
type Object struct {
	UID string
	// Deleting is true once the object has a deletionTimestamp.
	Deleting bool
}

// Account is a live service account.
type Account = Object

// ObjectGetter finds a live object of a kind (namespace "" for a node);
// found is false when it does not exist. An error means the answer is
// unknown (the api unreachable): the token is then refused as
// unavailable, never accepted.
type ObjectGetter interface {
	GetObject(ctx context.Context, kind Kind, namespace, name string) (obj Object, found bool, err error)
}

// ErrLookup wraps a failure to look an object up: the caller should
// answer "unavailable", not "unauthorized".
var ErrLookup = errors.New("service account lookup failed")

// errInvalidated is kube's answer for a token whose bound object is gone.
var errInvalidated = errors.New("service account token has been invalidated")

// Authenticator verifies service-account tokens.
type Authenticator struct {
	issuer       string
	apiAudiences []string
	keys         []verifyKey
	objects      ObjectGetter
	now          func() time.Time
}

// NewAuthenticator verifies tokens of issuer signed by any of keys, valid
// for apiAudiences unless a caller asks for others, whose account
// objects finds (the account, and the object a token is bound to). now
// may be nil (time.Now).
func NewAuthenticator(issuer string, apiAudiences []string, keys []crypto.PublicKey, objects ObjectGetter, now func() time.Time) (*Authenticator, error) {
	if issuer == "" {
		return nil, errors.New("service-account authenticator: no issuer")
	}
	if len(keys) == 0 {
		return nil, errors.New("service-account authenticator: no verification keys")
	}
	if objects == nil {
		return nil, errors.New("service-account authenticator: no account lookup")
	}
	a := &Authenticator{issuer: issuer, apiAudiences: slices.Clone(apiAudiences), objects: objects, now: now}
	if a.now == nil {
		a.now = time.Now
	}
	for _, k := range keys {
		vk, err := newVerifyKey(k)
		if err != nil {
			return nil, fmt.Errorf("service-account key: %w", err)
		}
		a.keys = append(a.keys, vk)
	}
	return a, nil
}

// AuthenticateToken verifies token. ok is false, with no error, for a
// token that is not a JWT of this issuer (another authenticator may know
// it). audiences are the audiences wanted (the API's when empty); the
// token must be valid for at least one.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string, audiences []string) (*authenticator.Response, bool, error) {
	payload, err := peekPayload(token)
	if err != nil || peekIssuer(payload) != a.issuer {
		return nil, false, nil
	}
	payload, err = verify(token, a.keys)
	if err != nil {
		return nil, false, err
	}
	c, err := parseClaims(payload)
	if err != nil {
		return nil, false, err
	}
	now := a.now()
	switch {
	case c.Issuer != a.issuer:
		return nil, false, fmt.Errorf("token issuer %q is invalid", truncate(c.Issuer, 256))
	case c.Expiry == 0:
		return nil, false, errors.New("service account token has no expiry")
	case now.Unix() >= int64(c.Expiry):
		return nil, false, errors.New("service account token has expired")
	case int64(c.NotBefore) > now.Unix():
		return nil, false, errors.New("service account token is not valid yet")
	}
	target := audiences
	if len(target) == 0 {
		target = a.apiAudiences
	}
	auds := authenticator.Intersect(target, c.Audience)
	if len(auds) == 0 {
		return nil, false, fmt.Errorf("token audiences %q are invalid for the target audiences %q", truncateList(c.Audience), truncateList(target))
	}
	k := c.Kubernetes
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" || k.ServiceAccount.UID == "" {
		return nil, false, errors.New("service account token lacks the kubernetes.io claim")
	}
	if c.Subject != Username(k.Namespace, k.ServiceAccount.Name) {
		return nil, false, errors.New("sub claim is invalid")
	}
	acct, found, err := a.objects.GetObject(ctx, KindServiceAccount, k.Namespace, k.ServiceAccount.Name)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrLookup, err)
	}
	switch {
	case !found:
		return nil, false, fmt.Errorf("service account %s/%s has been deleted", k.Namespace, k.ServiceAccount.Name)
	case acct.Deleting:
		return nil, false, fmt.Errorf("service account %s/%s is being deleted", k.Namespace, k.ServiceAccount.Name)
	case acct.UID != k.ServiceAccount.UID:
		return nil, false, fmt.Errorf("service account UID (%s) does not match claim (%s)", acct.UID, truncate(k.ServiceAccount.UID, 64))
	}
	if err := a.checkBinding(ctx, k); err != nil {
		return nil, false, err
	}
	u := &authnv1.UserInfo{
		Username: c.Subject,
		Uid:      acct.UID,
		Groups:   Groups(k.Namespace),
	}
	extra := map[string]*authnv1.ExtraValue{}
	if c.ID != "" {
		extra[CredentialIDKey] = &authnv1.ExtraValue{Items: []string{"JTI=" + truncate(c.ID, 64)}}
	}
	if k.Pod != nil {
		extra[PodNameKey] = &authnv1.ExtraValue{Items: []string{k.Pod.Name}}
		extra[PodUIDKey] = &authnv1.ExtraValue{Items: []string{k.Pod.UID}}
	}
	if k.Node != nil {
		extra[NodeNameKey] = &authnv1.ExtraValue{Items: []string{k.Node.Name}}
		if k.Node.UID != "" {
			extra[NodeUIDKey] = &authnv1.ExtraValue{Items: []string{k.Node.UID}}
		}
	}
	if len(extra) > 0 {
		u.Extra = extra
	}
	return &authenticator.Response{
		User: u, Audiences: auds, ExpiresAt: time.Unix(int64(c.Expiry), 0), Method: Method,
	}, true, nil
}

// checkBinding refuses a token whose bound object is gone, being deleted,
// or replaced (another UID), as kube-apiserver's validator does. The node
// of a pod-bound token is information only: the pod is what binds it.
func (a *Authenticator) checkBinding(ctx context.Context, k *k8sClaims) error {
	type bound struct {
		kind      Kind
		namespace string
		ref       *ref
		what      string
	}
	var refs []bound
	if k.Secret != nil {
		refs = append(refs, bound{KindSecret, k.Namespace, k.Secret, "secret"})
	}
	if k.Pod != nil {
		refs = append(refs, bound{KindPod, k.Namespace, k.Pod, "pod"})
	} else if k.Node != nil {
		refs = append(refs, bound{KindNode, "", k.Node, "node"})
	}
	for _, b := range refs {
		if b.ref.Name == "" || b.ref.UID == "" {
			return fmt.Errorf("service account token's %s claim is incomplete", b.what)
		}
		obj, found, err := a.objects.GetObject(ctx, b.kind, b.namespace, b.ref.Name)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %w", ErrLookup, err)
		case !found || obj.Deleting:
			return errInvalidated
		case obj.UID != b.ref.UID:
			return fmt.Errorf("%s UID (%s) does not match service account %s ref claim (%s)", b.what, obj.UID, b.what, truncate(b.ref.UID, 64))
		}
	}
	return nil
}

func truncateList(l []string) []string {
	if len(l) > 8 {
		l = l[:8]
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = truncate(s, 128)
	}
	return out
}
