// Package impersonation decides whether a caller may act as another user,
// as kube-apiserver's WithImpersonation filter does, for both surfaces:
// the gateway reads the request from Impersonate-* headers, the gRPC
// servers from impersonate-* metadata, and both call Apply.
//
// Every attribute asked for is authorized for the requesting user with the
// verb "impersonate": the user (resource "users", or "serviceaccounts" in
// its namespace for "system:serviceaccount:<ns>:<name>"), each group
// ("groups"), the UID ("uids" in authentication.k8s.io) and each extra
// value ("userextras/<key>" in authentication.k8s.io). The first refusal
// refuses the request. Names under "system:portico:" belong to Portico's
// own services and are never impersonated, whoever asks.
package impersonation

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// The HTTP headers (k8s.io/api/authentication/v1).
const (
	HeaderUser        = "Impersonate-User"
	HeaderGroup       = "Impersonate-Group"
	HeaderUID         = "Impersonate-Uid"
	HeaderExtraPrefix = "Impersonate-Extra-"
)

// The gRPC metadata keys: the headers in lower case, as HTTP/2 sends them.
const (
	KeyUser        = "impersonate-user"
	KeyGroup       = "impersonate-group"
	KeyUID         = "impersonate-uid"
	KeyExtraPrefix = "impersonate-extra-"
)

// The groups kube-apiserver gives service accounts.
const (
	serviceAccountPrefix     = "system:serviceaccount:"
	groupServiceAccounts     = "system:serviceaccounts"
	groupServiceAccountsInNS = "system:serviceaccounts:"
)

// What an impersonation is authorized as.
const (
	verbImpersonate         = "impersonate"
	authenticationGroup     = "authentication.k8s.io"
	authenticationVersion   = "v1"
	coreVersion             = "v1"
	resourceUsers           = "users"
	resourceGroups          = "groups"
	resourceServiceAccounts = "serviceaccounts"
	resourceUIDs            = "uids"
	resourceUserExtras      = "userextras"
)

// reservedReason ends the 403 of a reserved name.
const reservedReason = `names under "` + identity.ReservedPrefix + `" belong to Portico's services and cannot be impersonated`

// Request is what a caller asked to act as. The zero Request asks for
// nothing.
type Request struct {
	User   string
	UID    string
	Groups []string
	// Extra maps each key (lower case, percent-decoded) to its values.
	Extra map[string][]string
}

// Empty reports whether r asks for nothing: the caller acts as itself.
func (r Request) Empty() bool {
	return r.User == "" && r.UID == "" && len(r.Groups) == 0 && len(r.Extra) == 0
}

// FromHeader reads the Impersonate-* headers. An empty Impersonate-User or
// Impersonate-Uid is no request, as in kube-apiserver; two of either are
// refused (400) rather than one of them picked.
func FromHeader(h http.Header) (Request, error) {
	var r Request
	var err error
	if r.User, err = single(h.Values(HeaderUser), HeaderUser); err != nil {
		return Request{}, err
	}
	if r.UID, err = single(h.Values(HeaderUID), HeaderUID); err != nil {
		return Request{}, err
	}
	r.Groups = slices.Clone(h.Values(HeaderGroup))
	for name, values := range h {
		if len(name) > len(HeaderExtraPrefix) && strings.EqualFold(name[:len(HeaderExtraPrefix)], HeaderExtraPrefix) {
			r.addExtra(name[len(HeaderExtraPrefix):], values)
		}
	}
	return r, nil
}

// StripHeader removes every Impersonate-* header, so nothing past the
// filter that applied them can apply them again.
func StripHeader(h http.Header) {
	for name := range h {
		if strings.EqualFold(name, HeaderUser) || strings.EqualFold(name, HeaderGroup) || strings.EqualFold(name, HeaderUID) ||
			len(name) > len(HeaderExtraPrefix) && strings.EqualFold(name[:len(HeaderExtraPrefix)], HeaderExtraPrefix) {
			delete(h, name)
		}
	}
}

// FromMetadata reads the impersonate-* metadata of a gRPC call, with the
// rules of FromHeader. gRPC keys allow only [0-9a-z-_.], so an extra key
// outside that set (one with "/") cannot be sent this way.
func FromMetadata(md metadata.MD) (Request, error) {
	var r Request
	var err error
	if r.User, err = single(md.Get(KeyUser), KeyUser); err != nil {
		return Request{}, err
	}
	if r.UID, err = single(md.Get(KeyUID), KeyUID); err != nil {
		return Request{}, err
	}
	r.Groups = slices.Clone(md.Get(KeyGroup))
	for key, values := range md {
		if extra, ok := strings.CutPrefix(key, KeyExtraPrefix); ok && extra != "" {
			r.addExtra(extra, values)
		}
	}
	return r, nil
}

// single is the one value of a header that must not repeat.
func single(values []string, name string) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
		return values[0], nil
	}
	return "", apierrors.BadRequest(fmt.Sprintf("%s may be given once, not %d times", name, len(values)))
}

// addExtra records an extra key's values under its kube-apiserver name:
// lower case, then percent-decoded (a key that does not decode is kept as
// sent).
func (r *Request) addExtra(encoded string, values []string) {
	key := strings.ToLower(encoded)
	if k, err := url.PathUnescape(key); err == nil {
		key = k
	}
	if r.Extra == nil {
		r.Extra = map[string][]string{}
	}
	r.Extra[key] = append(r.Extra[key], values...)
}

// Authorizer decides one attribute set for a user: nil when allowed, else
// a Status error (403, or 500/503 when it could not decide).
// authzclient.Client is one.
type Authorizer interface {
	Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	return f(ctx, u, a)
}

// AllowAll allows every impersonation that is not reserved: for the
// insecure port, which has no authorization (its user is system:masters).
var AllowAll = AuthorizerFunc(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) error { return nil })

// Apply returns the user a request runs as: requester when r is empty,
// else the user r asks for, once requester may impersonate every part of
// it. Groups, a UID or extras without a user are a 400; a reserved name or
// a refusal is a 403 in kube-apiserver's words; an authorizer's failure is
// returned as it is.
func Apply(ctx context.Context, requester *authnv1.UserInfo, r Request, authz Authorizer) (*authnv1.UserInfo, error) {
	if r.Empty() {
		return requester, nil
	}
	checks := r.checks()
	if r.User == "" {
		described := make([]string, len(checks))
		for i, a := range checks {
			described[i] = describe(a)
		}
		return nil, apierrors.BadRequest("requested [" + strings.Join(described, ", ") + "] without impersonating a user")
	}
	for _, a := range checks {
		if reservedName(a) {
			return nil, apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), authzclient.ForbiddenMessage(requester, a, reservedReason))
		}
	}
	for _, a := range checks {
		if err := authz.Authorize(ctx, requester, a); err != nil {
			return nil, err
		}
	}
	return r.user(), nil
}

// checks are the attributes to authorize, in kube-apiserver's order: the
// user, the groups, the extras (by key), the UID.
func (r Request) checks() []*authzv1.Attributes {
	var out []*authzv1.Attributes
	if r.User != "" {
		if ns, name, ok := splitServiceAccount(r.User); ok {
			out = append(out, attrs("", coreVersion, resourceServiceAccounts, "", ns, name))
		} else {
			out = append(out, attrs("", coreVersion, resourceUsers, "", "", r.User))
		}
	}
	for _, g := range r.Groups {
		out = append(out, attrs("", coreVersion, resourceGroups, "", "", g))
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Extra[k] {
			out = append(out, attrs(authenticationGroup, authenticationVersion, resourceUserExtras, k, "", v))
		}
	}
	if r.UID != "" {
		out = append(out, attrs(authenticationGroup, authenticationVersion, resourceUIDs, "", "", r.UID))
	}
	return out
}

func attrs(group, version, resource, subresource, namespace, name string) *authzv1.Attributes {
	return &authzv1.Attributes{
		Verb: verbImpersonate, ApiGroup: group, ApiVersion: version, Resource: resource,
		Subresource: subresource, Namespace: namespace, Name: name, ResourceRequest: true,
	}
}

// reservedName reports a user or group of Portico's own services.
func reservedName(a *authzv1.Attributes) bool {
	switch a.GetResource() {
	case resourceUsers, resourceGroups:
		return strings.HasPrefix(a.GetName(), identity.ReservedPrefix)
	}
	return false
}

// describe names one check in the 400 message: `groups "g1"`,
// `userextras/scopes "view"`, `uids "42"`.
func describe(a *authzv1.Attributes) string {
	res := a.GetResource()
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	return fmt.Sprintf("%s %q", res, a.GetName())
}

// user is the impersonated user, with the groups kube-apiserver adds: a
// service account's own groups when no group was asked for, then
// system:authenticated (system:unauthenticated for system:anonymous)
// unless already there.
func (r Request) user() *authnv1.UserInfo {
	u := &authnv1.UserInfo{Username: r.User, Uid: r.UID, Groups: slices.Clone(r.Groups)}
	if ns, _, ok := splitServiceAccount(r.User); ok && len(r.Groups) == 0 {
		u.Groups = []string{groupServiceAccounts, groupServiceAccountsInNS + ns}
	}
	if r.User == identity.UserAnonymous {
		if !slices.Contains(u.Groups, identity.GroupUnauthenticated) {
			u.Groups = append(u.Groups, identity.GroupUnauthenticated)
		}
	} else if !slices.Contains(u.Groups, identity.GroupAuthenticated) && !slices.Contains(u.Groups, identity.GroupUnauthenticated) {
		u.Groups = append(u.Groups, identity.GroupAuthenticated)
	}
	for k, v := range r.Extra {
		if u.Extra == nil {
			u.Extra = map[string]*authnv1.ExtraValue{}
		}
		u.Extra[k] = &authnv1.ExtraValue{Items: slices.Clone(v)}
	}
	return u
}

// splitServiceAccount is kube-apiserver's serviceaccount.SplitUsername:
// "system:serviceaccount:<ns>:<name>" with a valid namespace and name.
// Any other name (even with the prefix) is an ordinary user.
func splitServiceAccount(username string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(username, serviceAccountPrefix)
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 2 {
		return "", "", false
	}
	namespace, name = parts[0], parts[1]
	if len(validation.IsDNS1123Label(namespace)) != 0 || len(validation.IsDNS1123Subdomain(name)) != 0 {
		return "", "", false
	}
	return namespace, name, true
}
