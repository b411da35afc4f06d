package impersonation

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authzclient"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// rules allows the checks named "<group>/<resource>[/<sub>] <ns>/<name>"
// and records every check asked.
type rules struct {
	allow map[string]bool
	asked []string
	fail  error // returned for every check when set
}

func key(a *authzv1.Attributes) string {
	res := a.GetApiGroup() + "/" + a.GetResource()
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	return res + " " + a.GetNamespace() + "/" + a.GetName()
}

func (r *rules) Authorize(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	if a.GetVerb() != "impersonate" || !a.GetResourceRequest() {
		return apierrors.Internal("unexpected attributes " + a.String())
	}
	r.asked = append(r.asked, key(a))
	if r.fail != nil {
		return r.fail
	}
	if r.allow[key(a)] {
		return nil
	}
	return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), authzclient.ForbiddenMessage(u, a, ""))
}

func allow(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func TestApply(t *testing.T) {
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"dev", "system:authenticated"}}
	tests := map[string]struct {
		header   http.Header
		allow    map[string]bool
		fail     error
		wantUser *authnv1.UserInfo
		wantCode codes.Code
		wantMsg  string
		asked    []string
	}{
		"nothing asked: the requester": {
			header:   http.Header{},
			wantUser: bob,
		},
		"a user": {
			header:   http.Header{"Impersonate-User": {"alice"}},
			allow:    allow("/users /alice"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
			asked:    []string{"/users /alice"},
		},
		"a user refused": {
			header:   http.Header{"Impersonate-User": {"alice"}},
			wantCode: codes.PermissionDenied,
			wantMsg:  `users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`,
			asked:    []string{"/users /alice"},
		},
		"a service account is checked in its namespace": {
			header:   http.Header{"Impersonate-User": {"system:serviceaccount:ns1:builder"}},
			allow:    allow("/serviceaccounts ns1/builder"),
			wantUser: &authnv1.UserInfo{Username: "system:serviceaccount:ns1:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"}},
			asked:    []string{"/serviceaccounts ns1/builder"},
		},
		"a service account refused": {
			header:   http.Header{"Impersonate-User": {"system:serviceaccount:ns1:builder"}},
			allow:    allow("/users /system:serviceaccount:ns1:builder"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `serviceaccounts "builder" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1"`,
		},
		"a service account with groups keeps only those": {
			header:   http.Header{"Impersonate-User": {"system:serviceaccount:ns1:builder"}, "Impersonate-Group": {"g1"}},
			allow:    allow("/serviceaccounts ns1/builder", "/groups /g1"),
			wantUser: &authnv1.UserInfo{Username: "system:serviceaccount:ns1:builder", Groups: []string{"g1", "system:authenticated"}},
		},
		"a malformed service-account name is a user": {
			header:   http.Header{"Impersonate-User": {"system:serviceaccount:a:b:c"}},
			allow:    allow("/users /system:serviceaccount:a:b:c"),
			wantUser: &authnv1.UserInfo{Username: "system:serviceaccount:a:b:c", Groups: []string{"system:authenticated"}},
		},
		"groups, each checked": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"g1", "g2"}},
			allow:    allow("/users /alice", "/groups /g1", "/groups /g2"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"g1", "g2", "system:authenticated"}},
			asked:    []string{"/users /alice", "/groups /g1", "/groups /g2"},
		},
		"the user allowed, a group not": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"g1", "admins"}},
			allow:    allow("/users /alice", "/groups /g1"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `groups "admins" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope`,
		},
		"a uid": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"42"}},
			allow:    allow("/users /alice", "authentication.k8s.io/uids /42"),
			wantUser: &authnv1.UserInfo{Username: "alice", Uid: "42", Groups: []string{"system:authenticated"}},
			asked:    []string{"/users /alice", "authentication.k8s.io/uids /42"},
		},
		"a uid refused": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"42"}},
			allow:    allow("/users /alice"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `uids.authentication.k8s.io "42" is forbidden: User "bob" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope`,
		},
		"extras: every value, keys lower case and percent-decoded": {
			header: http.Header{
				"Impersonate-User":                  {"alice"},
				"Impersonate-Extra-Scopes":          {"view", "edit"},
				"Impersonate-Extra-Acme.com%2fTeam": {"blue"},
			},
			allow: allow("/users /alice", "authentication.k8s.io/userextras/scopes /view", "authentication.k8s.io/userextras/scopes /edit",
				"authentication.k8s.io/userextras/acme.com/team /blue"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}, Extra: map[string]*authnv1.ExtraValue{
				"scopes": {Items: []string{"view", "edit"}}, "acme.com/team": {Items: []string{"blue"}},
			}},
			asked: []string{"/users /alice", "authentication.k8s.io/userextras/acme.com/team /blue",
				"authentication.k8s.io/userextras/scopes /view", "authentication.k8s.io/userextras/scopes /edit"},
		},
		"an extra key that does not decode is kept": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Extra-A%zz": {"v"}},
			allow:    allow("/users /alice", "authentication.k8s.io/userextras/a%zz /v"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}, Extra: map[string]*authnv1.ExtraValue{"a%zz": {Items: []string{"v"}}}},
		},
		"an extra refused": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Extra-Scopes": {"admin"}},
			allow:    allow("/users /alice"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `userextras.authentication.k8s.io "admin" is forbidden: User "bob" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope`,
		},
		"groups without a user": {
			header:   http.Header{"Impersonate-Group": {"g1"}},
			allow:    allow("/groups /g1"),
			wantCode: codes.InvalidArgument,
			wantMsg:  `requested [groups "g1"] without impersonating a user`,
		},
		"uid and extras without a user": {
			header:   http.Header{"Impersonate-Uid": {"42"}, "Impersonate-Extra-Scopes": {"view"}},
			wantCode: codes.InvalidArgument,
			wantMsg:  `requested [userextras/scopes "view", uids "42"] without impersonating a user`,
		},
		"an empty user header is none": {
			header:   http.Header{"Impersonate-User": {""}},
			wantUser: bob,
		},
		"two users": {
			header:   http.Header{"Impersonate-User": {"alice", "carol"}},
			wantCode: codes.InvalidArgument,
		},
		"two uids": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"1", "2"}},
			wantCode: codes.InvalidArgument,
		},
		"a Portico service user is reserved, whoever asks": {
			header:   http.Header{"Impersonate-User": {"system:portico:api"}},
			allow:    allow("/users /system:portico:api"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `users "system:portico:api" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope: names under "system:portico:" belong to Portico's services and cannot be impersonated`,
		},
		"a Portico group is reserved, whoever asks": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:portico:services"}},
			allow:    allow("/users /alice", "/groups /system:portico:services"),
			wantCode: codes.PermissionDenied,
			wantMsg:  `groups "system:portico:services" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope: names under "system:portico:" belong to Portico's services and cannot be impersonated`,
		},
		"anonymous is unauthenticated": {
			header:   http.Header{"Impersonate-User": {"system:anonymous"}},
			allow:    allow("/users /system:anonymous"),
			wantUser: &authnv1.UserInfo{Username: "system:anonymous", Groups: []string{"system:unauthenticated"}},
		},
		"system:authenticated is not added twice": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:authenticated"}},
			allow:    allow("/users /alice", "/groups /system:authenticated"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
		},
		"nor next to system:unauthenticated": {
			header:   http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:unauthenticated"}},
			allow:    allow("/users /alice", "/groups /system:unauthenticated"),
			wantUser: &authnv1.UserInfo{Username: "alice", Groups: []string{"system:unauthenticated"}},
		},
		"authz unavailable fails closed": {
			header:   http.Header{"Impersonate-User": {"alice"}},
			fail:     apierrors.Unavailable("authorization is unavailable"),
			wantCode: codes.Unavailable,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := FromHeader(tc.header)
			var got *authnv1.UserInfo
			r := &rules{allow: tc.allow, fail: tc.fail}
			if err == nil {
				got, err = Apply(context.Background(), bob, req, r)
			}
			if status.Code(err) != tc.wantCode {
				t.Fatalf("code = %v (%v), want %v", status.Code(err), err, tc.wantCode)
			}
			if tc.wantMsg != "" {
				if msg := status.Convert(err).Message(); msg != tc.wantMsg {
					t.Errorf("message:\n got %s\nwant %s", msg, tc.wantMsg)
				}
			}
			if tc.wantCode == codes.OK && !sameUser(got, tc.wantUser) {
				t.Errorf("user = %v, want %v", got, tc.wantUser)
			}
			if tc.asked != nil && !slices.Equal(r.asked, tc.asked) {
				t.Errorf("asked %q, want %q", r.asked, tc.asked)
			}
		})
	}
}

func sameUser(a, b *authnv1.UserInfo) bool {
	if a.GetUsername() != b.GetUsername() || a.GetUid() != b.GetUid() || !slices.Equal(a.GetGroups(), b.GetGroups()) || len(a.GetExtra()) != len(b.GetExtra()) {
		return false
	}
	for k, v := range a.GetExtra() {
		if !slices.Equal(v.GetItems(), b.GetExtra()[k].GetItems()) {
			return false
		}
	}
	return true
}

// TestReservedNeverAsksAuthz: a reserved name is refused before any
// decision, so no authorizer (not even AllowAll, the insecure port's)
// lets it through.
func TestReservedNeverAsksAuthz(t *testing.T) {
	masters := &authnv1.UserInfo{Username: "system:unsecured", Groups: []string{"system:masters"}}
	for _, req := range []Request{
		{User: "system:portico:authz"},
		{User: "alice", Groups: []string{"system:portico:services"}},
	} {
		r := &rules{allow: allow()}
		if _, err := Apply(context.Background(), masters, req, r); status.Code(err) != codes.PermissionDenied || len(r.asked) != 0 {
			t.Errorf("%+v: %v, asked %v", req, err, r.asked)
		}
		if _, err := Apply(context.Background(), masters, req, AllowAll); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%+v with AllowAll: %v", req, err)
		}
	}
	// A service account is not a reserved user, whatever its name.
	if u, err := Apply(context.Background(), masters, Request{User: "system:serviceaccount:system:portico"}, AllowAll); err != nil || u.GetUsername() != "system:serviceaccount:system:portico" {
		t.Errorf("service account: %v %v", u, err)
	}
}

func TestFromMetadata(t *testing.T) {
	md := metadata.Pairs(
		"impersonate-user", "alice",
		"impersonate-group", "g1", "impersonate-group", "g2",
		"impersonate-uid", "42",
		"impersonate-extra-scopes", "view", "impersonate-extra-scopes", "edit",
		"impersonate-extra-", "ignored",
		"x-portico-user", "not read here",
	)
	r, err := FromMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	if r.User != "alice" || r.UID != "42" || !slices.Equal(r.Groups, []string{"g1", "g2"}) ||
		len(r.Extra) != 1 || !slices.Equal(r.Extra["scopes"], []string{"view", "edit"}) {
		t.Errorf("request = %+v", r)
	}
	if _, err := FromMetadata(metadata.Pairs("impersonate-user", "a", "impersonate-user", "b")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("two users: %v", err)
	}
	if r, err := FromMetadata(metadata.MD{}); err != nil || !r.Empty() {
		t.Errorf("no metadata: %+v %v", r, err)
	}
}

func TestStripHeader(t *testing.T) {
	h := http.Header{
		"Impersonate-User": {"a"}, "Impersonate-Group": {"g"}, "Impersonate-Uid": {"1"},
		"Impersonate-Extra-Scopes": {"s"}, "impersonate-extra-raw": {"r"},
		"Authorization": {"Bearer x"}, "Impersonate-Other": {"kept"},
	}
	StripHeader(h)
	var left []string
	for k := range h {
		left = append(left, k)
	}
	slices.Sort(left)
	if strings.Join(left, ",") != "Authorization,Impersonate-Other" {
		t.Errorf("left %v", left)
	}
}
