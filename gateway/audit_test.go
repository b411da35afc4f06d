package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// TestAuditLog: one line per request, kube-apiserver's audit Event shape,
// with the user the inner filters set, the request's attributes, the
// answer's code and the latency; the Audit-Id header is the line's
// auditID; no credential the request carried is in it.
func TestAuditLog(t *testing.T) {
	const secret = "s3cr3t-t0k3n-do-not-log"
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	audit := &syncBuffer{}
	g := newTestGateway(t, Options{}, Deps{Audit: audit}, routes)
	// The secure port's shape: a user authenticated from a token.
	bob := &authnv1.UserInfo{Username: "bob", Uid: "42", Groups: []string{"dev", "system:authenticated"}}
	secure := g.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret {
			g.fail(w, "Unauthorized", "Unauthorized", nil)
			return
		}
		routes.ServeHTTP(w, r.WithContext(withUser(r.Context(), bob)))
	}))

	tests := map[string]struct {
		handler    http.Handler
		method     string
		target     string
		header     http.Header
		remote     string
		wantUser   *auditUser
		wantVerb   string
		wantRef    *auditObjectRef
		wantCode   int
		wantSource []string
	}{
		"insecure port, create": {
			handler: g.insecureHandler(), method: "POST", target: "/api/v1/namespaces/team-a/configmaps",
			wantUser: &auditUser{Username: "system:unsecured", Groups: []string{"system:masters", "system:authenticated"}},
			wantVerb: "create", wantRef: &auditObjectRef{Resource: "configmaps", Namespace: "team-a", APIVersion: "v1"}, wantCode: 201,
			wantSource: []string{"192.0.2.1"},
		},
		"token user, get by name": {
			handler: secure, method: "GET", target: "/api/v1/namespaces/team-a/configmaps/app?x=1",
			header:   http.Header{"Authorization": {"Bearer " + secret}},
			wantUser: &auditUser{Username: "bob", UID: "42", Groups: []string{"dev", "system:authenticated"}},
			wantVerb: "get", wantRef: &auditObjectRef{Resource: "configmaps", Namespace: "team-a", Name: "app", APIVersion: "v1"}, wantCode: 200,
			wantSource: []string{"192.0.2.1"},
		},
		"token user, delete a namespace, behind a proxy": {
			handler: secure, method: "DELETE", target: "/api/v1/namespaces/gone",
			header:   http.Header{"Authorization": {"Bearer " + secret}, "X-Forwarded-For": {"203.0.113.7, 198.51.100.2"}},
			wantUser: &auditUser{Username: "bob", UID: "42", Groups: []string{"dev", "system:authenticated"}},
			wantVerb: "delete", wantRef: &auditObjectRef{Resource: "namespaces", Namespace: "gone", Name: "gone", APIVersion: "v1"}, wantCode: 404,
			wantSource: []string{"203.0.113.7", "198.51.100.2", "192.0.2.1"},
		},
		"wrong token: 401, no user": {
			handler: secure, method: "GET", target: "/api/v1/namespaces",
			header:   http.Header{"Authorization": {"Bearer " + secret + "-wrong"}},
			wantUser: &auditUser{}, wantVerb: "list", wantRef: &auditObjectRef{Resource: "namespaces", APIVersion: "v1"}, wantCode: 401,
			wantSource: []string{"192.0.2.1"},
		},
		"non-resource": {
			handler: g.insecureHandler(), method: "GET", target: "/healthz",
			wantUser: &auditUser{Username: "system:unsecured", Groups: []string{"system:masters", "system:authenticated"}},
			wantVerb: "get", wantCode: 200, wantSource: []string{"192.0.2.1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := len(audit.String())
			r := httptest.NewRequest(tc.method, tc.target, nil)
			r.RemoteAddr = "192.0.2.1:5555"
			for k, v := range tc.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			start := time.Now()
			tc.handler.ServeHTTP(w, r)
			line := strings.TrimSuffix(audit.String()[before:], "\n")
			if strings.Count(line, "\n") != 0 || line == "" {
				t.Fatalf("want one line, got %q", line)
			}
			if strings.Contains(line, secret) {
				t.Fatalf("the token is in the audit log: %s", line)
			}
			var ev auditEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" || ev.Level != "Metadata" || ev.Stage != "ResponseComplete" {
				t.Errorf("event type: %s", line)
			}
			if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(ev.AuditID) {
				t.Errorf("auditID %q", ev.AuditID)
			}
			if w.Header().Get("Audit-Id") != ev.AuditID {
				t.Errorf("Audit-Id header %q, auditID %q", w.Header().Get("Audit-Id"), ev.AuditID)
			}
			if ev.User.Username != tc.wantUser.Username || ev.User.UID != tc.wantUser.UID || !slices.Equal(ev.User.Groups, tc.wantUser.Groups) {
				t.Errorf("user %+v, want %+v", ev.User, tc.wantUser)
			}
			if ev.Verb != tc.wantVerb || ev.RequestURI != tc.target || ev.ResponseStatus.Code != tc.wantCode {
				t.Errorf("verb %q uri %q code %d", ev.Verb, ev.RequestURI, ev.ResponseStatus.Code)
			}
			if (ev.ObjectRef == nil) != (tc.wantRef == nil) || (ev.ObjectRef != nil && *ev.ObjectRef != *tc.wantRef) {
				t.Errorf("objectRef %+v, want %+v", ev.ObjectRef, tc.wantRef)
			}
			if !slices.Equal(ev.SourceIPs, tc.wantSource) {
				t.Errorf("sourceIPs %v, want %v", ev.SourceIPs, tc.wantSource)
			}
			received, err1 := time.Parse(time.RFC3339Nano, ev.RequestReceivedTimestamp)
			ended, err2 := time.Parse(time.RFC3339Nano, ev.StageTimestamp)
			if err1 != nil || err2 != nil || received.Before(start.Add(-time.Second)) || ended.Before(received) {
				t.Errorf("timestamps %s %s", ev.RequestReceivedTimestamp, ev.StageTimestamp)
			}
			if d, err := time.ParseDuration(ev.Annotations[AnnotationLatency]); err != nil || d < 0 || d > time.Minute {
				t.Errorf("latency annotation %q", ev.Annotations[AnnotationLatency])
			}
		})
	}
}

func TestSourceIPs(t *testing.T) {
	tests := map[string]struct {
		remote string
		header http.Header
		want   []string
	}{
		"peer only":         {remote: "127.0.0.1:1234", want: []string{"127.0.0.1"}},
		"IPv6 peer":         {remote: "[::1]:1234", want: []string{"::1"}},
		"forwarded":         {remote: "127.0.0.1:1", header: http.Header{"X-Forwarded-For": {"10.0.0.1"}}, want: []string{"10.0.0.1", "127.0.0.1"}},
		"real ip, repeated": {remote: "127.0.0.1:1", header: http.Header{"X-Forwarded-For": {"10.0.0.1"}, "X-Real-Ip": {"10.0.0.1"}}, want: []string{"10.0.0.1", "127.0.0.1"}},
		"garbage ignored":   {remote: "127.0.0.1:1", header: http.Header{"X-Forwarded-For": {"evil, 10.0.0.2 "}}, want: []string{"10.0.0.2", "127.0.0.1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			r.Header = tc.header
			if r.Header == nil {
				r.Header = http.Header{}
			}
			if got := sourceIPs(r); !slices.Equal(got, tc.want) {
				t.Errorf("= %v, want %v", got, tc.want)
			}
		})
	}
}
