// Package identity carries an authenticated user through a request: in the
// context inside a process, and in gRPC metadata from the gateway to the
// services. Only the gateway may send that metadata; a service refuses it
// from anyone else (see Forwarded).
package identity

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// Metadata keys of a forwarded user. They are refused from any caller but
// the gateway, and the gateway never copies them from a client.
const (
	KeyUser   = "x-portico-user"
	KeyUID    = "x-portico-uid"
	KeyGroups = "x-portico-groups"
	// KeyExtraPrefix is followed by the extra attribute's key.
	KeyExtraPrefix = "x-portico-extra-"
)

// Well-known users and groups.
const (
	UserUnsecured        = "system:unsecured"
	UserAnonymous        = "system:anonymous"
	GroupMasters         = "system:masters"
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
)

// GroupServices holds every Portico service acting for itself; authz lets
// it read (get, list, watch) every resource and nothing else.
const GroupServices = "system:portico:services"

// ReservedPrefix begins every user and group name that belongs to
// Portico's own services. Only an internal service certificate carries
// such a name (Service); authn refuses any user credential — client
// certificate, token file line, token — that claims one.
const ReservedPrefix = "system:portico:"

// ClaimsReserved returns the first reserved name u claims as its user
// name or one of its groups.
func ClaimsReserved(u *authnv1.UserInfo) (string, bool) {
	if strings.HasPrefix(u.GetUsername(), ReservedPrefix) {
		return u.GetUsername(), true
	}
	for _, g := range u.GetGroups() {
		if strings.HasPrefix(g, ReservedPrefix) {
			return g, true
		}
	}
	return "", false
}

// Kubelets: user system:node:<name> in group system:nodes (kube's node
// identifier). The Node authorization mode and the api's node restriction
// both read it.
const (
	NodeUserPrefix = "system:node:"
	GroupNodes     = "system:nodes"
)

// NodeName is the node u is the kubelet of, and whether u is one: a user
// named system:node:<name> in group system:nodes. The name may be empty
// (a node that cannot be told apart: refuse it).
func NodeName(u *authnv1.UserInfo) (string, bool) {
	name, ok := strings.CutPrefix(u.GetUsername(), NodeUserPrefix)
	if !ok || !slices.Contains(u.GetGroups(), GroupNodes) {
		return "", false
	}
	return name, true
}

// Service is the user a Portico service acts as when it calls another for
// itself, with no user to forward: "system:portico:<name>".
func Service(name string) *authnv1.UserInfo {
	return &authnv1.UserInfo{Username: ReservedPrefix + name, Groups: []string{GroupServices, GroupAuthenticated}}
}

// Unsecured is the user of every request on the insecure port.
func Unsecured() *authnv1.UserInfo {
	return &authnv1.UserInfo{Username: UserUnsecured, Groups: []string{GroupMasters, GroupAuthenticated}}
}

type ctxKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *authnv1.UserInfo) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the user ctx carries.
func UserFrom(ctx context.Context) (*authnv1.UserInfo, bool) {
	u, ok := ctx.Value(ctxKey{}).(*authnv1.UserInfo)
	return u, ok && u != nil
}

// ToMetadata encodes u for the gateway → service hop.
func ToMetadata(u *authnv1.UserInfo) metadata.MD {
	md := metadata.MD{}
	md.Set(KeyUser, u.GetUsername())
	if u.GetUid() != "" {
		md.Set(KeyUID, u.GetUid())
	}
	if len(u.GetGroups()) > 0 {
		md.Set(KeyGroups, u.GetGroups()...)
	}
	for k, v := range u.GetExtra() {
		md.Set(KeyExtraPrefix+escapeExtraKey(k), v.GetItems()...)
	}
	return md
}

// Present reports whether md holds any forwarded-identity key.
func Present(md metadata.MD) bool {
	for k := range md {
		if strings.HasPrefix(k, "x-portico-") {
			return true
		}
	}
	return false
}

// FromMetadata decodes a forwarded user. It reports false when there is no
// user name in md.
func FromMetadata(md metadata.MD) (*authnv1.UserInfo, bool) {
	names := md.Get(KeyUser)
	if len(names) != 1 || names[0] == "" {
		return nil, false
	}
	u := &authnv1.UserInfo{Username: names[0], Groups: md.Get(KeyGroups)}
	if uid := md.Get(KeyUID); len(uid) == 1 {
		u.Uid = uid[0]
	}
	for k, v := range md {
		if key, ok := strings.CutPrefix(k, KeyExtraPrefix); ok {
			if key, ok = unescapeExtraKey(key); !ok {
				continue
			}
			if u.Extra == nil {
				u.Extra = map[string]*authnv1.ExtraValue{}
			}
			u.Extra[key] = &authnv1.ExtraValue{Items: v}
		}
	}
	return u, true
}

// escapeExtraKey makes an extra attribute's key (such as
// "authentication.kubernetes.io/credential-id") a valid metadata key:
// [0-9a-z-.] stay, every other byte (upper case, "/", "_") is "_" and two
// hex digits, so the key comes back exactly.
func escapeExtraKey(k string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '.' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// unescapeExtraKey reverses escapeExtraKey; ok is false for a key it
// cannot have made.
func unescapeExtraKey(k string) (string, bool) {
	if !strings.Contains(k, "_") {
		return k, true
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] != '_' {
			b.WriteByte(k[i])
			continue
		}
		if i+2 >= len(k) {
			return "", false
		}
		hi, lo := unhex(k[i+1]), unhex(k[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}
