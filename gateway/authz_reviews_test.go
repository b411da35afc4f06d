package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// fakeAuthz allows bob to get pods and /version, and answers reviews by
// echoing them with a fixed status; it records the last request.
type fakeAuthz struct {
	authzv1.UnimplementedAuthorizationServiceServer
	authzv1.UnimplementedAccessReviewServiceServer
	last proto.Message
	user *authnv1.UserInfo
}

func (f *fakeAuthz) Authorize(_ context.Context, req *authzv1.AuthorizeRequest) (*authzv1.AuthorizeResponse, error) {
	f.last = req
	a := req.GetAttributes()
	if a.GetPath() == "/version" || a.GetResource() == "pods" {
		return &authzv1.AuthorizeResponse{Decision: authzv1.Decision_DECISION_ALLOW}, nil
	}
	return &authzv1.AuthorizeResponse{Decision: authzv1.Decision_DECISION_NO_OPINION, Reason: "No policy matched."}, nil
}

func (f *fakeAuthz) CreateSelfSubjectAccessReview(ctx context.Context, req *authzv1.CreateSelfSubjectAccessReviewRequest) (*authzv1.CreateSelfSubjectAccessReviewResponse, error) {
	f.last, f.user = req, forwarded(ctx)
	r := req.GetSelfSubjectAccessReview()
	r.Status = &authzv1.SubjectAccessReviewStatus{Allowed: true}
	return &authzv1.CreateSelfSubjectAccessReviewResponse{SelfSubjectAccessReview: r}, nil
}

func (f *fakeAuthz) CreateSelfSubjectRulesReview(ctx context.Context, req *authzv1.CreateSelfSubjectRulesReviewRequest) (*authzv1.CreateSelfSubjectRulesReviewResponse, error) {
	f.last, f.user = req, forwarded(ctx)
	r := req.GetSelfSubjectRulesReview()
	r.Status = &authzv1.SubjectRulesReviewStatus{ResourceRules: []*authzv1.ResourceRule{{Verbs: []string{"*"}, ApiGroups: []string{"*"}, Resources: []string{"*"}}}}
	return &authzv1.CreateSelfSubjectRulesReviewResponse{SelfSubjectRulesReview: r}, nil
}

func (f *fakeAuthz) CreateSubjectAccessReview(_ context.Context, req *authzv1.CreateSubjectAccessReviewRequest) (*authzv1.CreateSubjectAccessReviewResponse, error) {
	f.last = req
	r := req.GetSubjectAccessReview()
	r.Status = &authzv1.SubjectAccessReviewStatus{Reason: "No policy matched."}
	return &authzv1.CreateSubjectAccessReviewResponse{SubjectAccessReview: r}, nil
}

func (f *fakeAuthz) CreateLocalSubjectAccessReview(_ context.Context, req *authzv1.CreateLocalSubjectAccessReviewRequest) (*authzv1.CreateLocalSubjectAccessReviewResponse, error) {
	f.last = req
	return nil, apierrors.Forbidden(authzGroup, "localsubjectaccessreviews", "", "no")
}

// authzGateway is a gateway whose authz is fakeAuthz over an in-memory
// connection.
func authzGateway(t *testing.T) (*Gateway, *fakeAuthz) {
	t.Helper()
	fake := &fakeAuthz{}
	conn := fakeBackend(t, func(s *grpc.Server) {
		authzv1.RegisterAuthorizationServiceServer(s, fake)
		authzv1.RegisterAccessReviewServiceServer(s, fake)
	})
	g, err := New(context.Background(), Options{InsecureAddress: "127.0.0.1:0"},
		Deps{API: conn, Authn: authnclient.New(conn), Authz: authzclient.New(conn), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g, fake
}

// kubectlCanIBody is what `kubectl auth can-i get pods -n demo` (v1.32)
// posts: internal/kubeproto/testdata/selfsubjectaccessreview.req.hex.
var kubectlCanIBody = []byte("k8s\x00" +
	"\x0a\x32\x0a\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview" +
	"\x12\x39\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00" +
	"\x12\x1b\x0a\x19\x0a\x04demo\x12\x03get\x1a\x00\x22\x00\x2a\x04pods\x32\x00\x3a\x00" +
	"\x1a\x08\x08\x00\x12\x00\x1a\x00\x20\x00\x1a\x00\x22\x00")

// kubectlCanIListBody is `kubectl auth can-i --list -n demo`'s:
// selfsubjectrulesreview.req.hex.
var kubectlCanIListBody = []byte("k8s\x00" +
	"\x0a\x31\x0a\x17authorization.k8s.io/v1\x12\x16SelfSubjectRulesReview" +
	"\x12\x20\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x06\x0a\x04demo\x1a\x04\x18\x00\x22\x00" +
	"\x1a\x00\x22\x00")

func TestAccessReviewsFromKubectl(t *testing.T) {
	g, fake := authzGateway(t)
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}

	w := serveAs(g, bob, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", mediaProtobuf, kubectlCanIBody)
	want := `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{"resourceAttributes":{"namespace":"demo","verb":"get","resource":"pods"}},"status":{"allowed":true}}`
	if w.Code != http.StatusCreated || strings.TrimSpace(w.Body.String()) != want {
		t.Fatalf("can-i:\n got %d %s\nwant %s", w.Code, w.Body.String(), want)
	}
	if fake.user.GetUsername() != "bob" {
		t.Errorf("forwarded user %v", fake.user)
	}

	w = serveAs(g, bob, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", mediaProtobuf, kubectlCanIListBody)
	want = `{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{"namespace":"demo"},"status":{"resourceRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}],"nonResourceRules":null,"incomplete":false}}`
	if w.Code != http.StatusCreated || strings.TrimSpace(w.Body.String()) != want {
		t.Fatalf("can-i --list:\n got %d %s\nwant %s", w.Code, w.Body.String(), want)
	}

	// JSON, with extra as kube-apiserver writes it (a bare list).
	body := `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"carol","groups":["g"],"extra":{"k":["v1","v2"]},"nonResourceAttributes":{"path":"/healthz","verb":"get"}}}`
	w = serveAs(g, bob, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", mediaJSON, []byte(body))
	want = `{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{"nonResourceAttributes":{"path":"/healthz","verb":"get"},"user":"carol","groups":["g"],"extra":{"k":["v1","v2"]}},"status":{"allowed":false,"reason":"No policy matched."}}`
	if w.Code != http.StatusCreated || strings.TrimSpace(w.Body.String()) != want {
		t.Fatalf("subject access review:\n got %d %s\nwant %s", w.Code, w.Body.String(), want)
	}

	w = serveAs(g, bob, "POST", "/apis/authorization.k8s.io/v1/namespaces/demo/localsubjectaccessreviews", mediaJSON,
		[]byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","spec":{"user":"x","resourceAttributes":{"namespace":"demo"}}}`))
	if w.Code != http.StatusForbidden || fake.last.(*authzv1.CreateLocalSubjectAccessReviewRequest).GetNamespace() != "demo" {
		t.Fatalf("local review: %d %s", w.Code, w.Body.String())
	}

	for name, tc := range map[string]struct {
		contentType, body string
		code              int
	}{
		"wrong kind":   {mediaJSON, `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview"}`, 400},
		"not JSON":     {mediaJSON, `{`, 400},
		"empty":        {mediaJSON, ``, 400},
		"unknown type": {"text/plain", `x`, 415},
	} {
		w := serveAs(g, bob, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", tc.contentType, []byte(tc.body))
		if w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", name, w.Code, w.Body.String(), tc.code)
		}
	}
}

func TestAuthorizationDiscovery(t *testing.T) {
	g, _ := authzGateway(t)
	admin := &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters"}}
	w := serveAs(g, admin, "GET", "/apis", "", nil)
	if !strings.Contains(w.Body.String(), `{"name":"authorization.k8s.io","preferredVersion":{"groupVersion":"authorization.k8s.io/v1","version":"v1"}`) {
		t.Errorf("/apis lacks authorization.k8s.io: %s", w.Body.String())
	}
	w = serveAs(g, admin, "GET", "/apis/authorization.k8s.io/v1", "", nil)
	for _, r := range []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews", "localsubjectaccessreviews"} {
		if !strings.Contains(w.Body.String(), `"name":"`+r+`"`) {
			t.Errorf("/apis/authorization.k8s.io/v1 lacks %s: %s", r, w.Body.String())
		}
	}
}

// TestAuthorizeRequest: the secure port decides non-resource paths and
// watches itself, refuses ambiguous paths, and leaves other resource
// requests to the service that serves them.
func TestAuthorizeRequest(t *testing.T) {
	g, fake := authzGateway(t)
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}
	next := 0
	h := g.authorizeRequest(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { next++ }))
	serve := func(method, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r = r.WithContext(identity.WithUser(r.Context(), bob))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tests := map[string]struct {
		method, target string
		code           int
		passed         bool
		body           string
	}{
		"allowed path":     {"GET", "/version", 200, true, ""},
		"refused path":     {"GET", "/metrics", 403, false, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"bob\" cannot get path \"/metrics\": No policy matched.","reason":"Forbidden","details":{},"code":403}`},
		"resource request": {"DELETE", "/api/v1/namespaces/a/configmaps/b", 200, true, ""},
		"allowed watch":    {"GET", "/api/v1/namespaces/a/pods?watch=true", 200, true, ""},
		"refused watch":    {"GET", "/api/v1/namespaces/a/configmaps?watch=1", 403, false, ""},
		"dot dot":          {"GET", "/api/v1/namespaces/a/../b/pods", 400, false, ""},
		"escaped slash":    {"GET", "/api/v1/namespaces/a%2Fb/pods", 400, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next = 0
			w := serve(tc.method, tc.target)
			if w.Code != tc.code || (next == 1) != tc.passed {
				t.Fatalf("%d passed=%v: %s", w.Code, next == 1, w.Body.String())
			}
			if tc.body != "" && strings.TrimSpace(w.Body.String()) != tc.body {
				t.Errorf("body\n got %s\nwant %s", w.Body.String(), tc.body)
			}
		})
	}
	serve("GET", "/api/v1/namespaces/a/configmaps?watch=1")
	if a := fake.last.(*authzv1.AuthorizeRequest).GetAttributes(); a.GetVerb() != "watch" || a.GetResource() != "configmaps" {
		t.Errorf("the watch was decided on %v", a)
	}
}
