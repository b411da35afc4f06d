package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/impersonation"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// TestImpersonateFilter: the filter runs what follows it as the
// impersonated user once the authenticated user may impersonate it,
// removes the headers, records both users for the audit log, and
// answers 403 or 400 in kube-apiserver's shape otherwise.
func TestImpersonateFilter(t *testing.T) {
	audit := &syncBuffer{}
	g := newTestGateway(t, Options{}, Deps{Audit: audit}, nil)
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}
	// bob may impersonate the user alice and nothing else.
	authz := impersonation.AuthorizerFunc(func(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
		if u.GetUsername() == "bob" && a.GetResource() == "users" && a.GetName() == "alice" {
			return nil
		}
		return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), authzclient.ForbiddenMessage(u, a, ""))
	})
	var seen *authnv1.UserInfo
	var seenHeaders http.Header
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = identity.UserFrom(r.Context())
		seenHeaders = r.Header.Clone()
	})
	h := g.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.impersonate(authz, inner).ServeHTTP(w, r.WithContext(withUser(r.Context(), bob)))
	}))
	tests := map[string]struct {
		header       http.Header
		wantCode     int
		wantUser     string
		wantGroups   []string
		wantMessage  string
		wantAuditAs  string
		wantNoHeader bool
	}{
		"no headers: bob himself": {
			header: http.Header{}, wantCode: 200, wantUser: "bob", wantGroups: []string{"system:authenticated"},
		},
		"as alice": {
			header: http.Header{"Impersonate-User": {"alice"}}, wantCode: 200,
			wantUser: "alice", wantGroups: []string{"system:authenticated"}, wantAuditAs: "alice", wantNoHeader: true,
		},
		"as carol: 403": {
			header: http.Header{"Impersonate-User": {"carol"}}, wantCode: 403,
			wantMessage: `users "carol" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`,
		},
		"as alice in a group: 403": {
			header: http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"g1"}}, wantCode: 403,
			wantMessage: `groups "g1" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope`,
		},
		"a group alone: 400": {
			header: http.Header{"Impersonate-Group": {"g1"}}, wantCode: 400,
			wantMessage: `requested [groups "g1"] without impersonating a user`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			seen, seenHeaders = nil, nil
			before := len(audit.String())
			w := get(h, "GET", "/api/v1/namespaces/default/configmaps", tc.header)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			if tc.wantMessage != "" {
				var st struct{ Message, Reason string }
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Message != tc.wantMessage {
					t.Errorf("body %s, want message %q", w.Body, tc.wantMessage)
				}
				if seen != nil {
					t.Errorf("the request went on as %v", seen)
				}
			}
			if tc.wantUser != "" && (seen.GetUsername() != tc.wantUser || !slices.Equal(seen.GetGroups(), tc.wantGroups)) {
				t.Errorf("ran as %v, want %s %v", seen, tc.wantUser, tc.wantGroups)
			}
			if tc.wantNoHeader {
				for k := range seenHeaders {
					if strings.HasPrefix(strings.ToLower(k), "impersonate-") {
						t.Errorf("header %s reached the handler", k)
					}
				}
			}
			var ev auditEvent
			if err := json.Unmarshal([]byte(audit.String()[before:]), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.User.Username != "bob" {
				t.Errorf("audit user %+v", ev.User)
			}
			if got := ev.ImpersonatedUser; tc.wantAuditAs == "" && got != nil || tc.wantAuditAs != "" && (got == nil || got.Username != tc.wantAuditAs) {
				t.Errorf("audit impersonatedUser %+v, want %q", ev.ImpersonatedUser, tc.wantAuditAs)
			}
		})
	}
}

// TestInsecurePortImpersonates: the insecure port honours the headers
// without authz (its user is system:masters), but never for Portico's
// own service identities.
func TestInsecurePortImpersonates(t *testing.T) {
	audit := &syncBuffer{}
	var seen *authnv1.UserInfo
	g := newTestGateway(t, Options{}, Deps{Audit: audit}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = identity.UserFrom(r.Context())
	}))
	h := g.insecureHandler()
	w := get(h, "GET", "/api/v1/namespaces", http.Header{"Impersonate-User": {"system:serviceaccount:ns1:sa"}})
	if w.Code != 200 || seen.GetUsername() != "system:serviceaccount:ns1:sa" ||
		!slices.Equal(seen.GetGroups(), []string{"system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"}) {
		t.Fatalf("%d %s, ran as %v", w.Code, w.Body, seen)
	}
	var ev auditEvent
	if err := json.Unmarshal([]byte(audit.lines()[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.User.Username != identity.UserUnsecured || ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != "system:serviceaccount:ns1:sa" {
		t.Errorf("audit %+v / %+v", ev.User, ev.ImpersonatedUser)
	}
	seen = nil
	r := httptest.NewRequest("GET", "/api/v1/namespaces", nil)
	r.Header.Set("Impersonate-User", "system:portico:api")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 403 || seen != nil {
		t.Errorf("a Portico service impersonated: %d %s", rec.Code, rec.Body)
	}
}
