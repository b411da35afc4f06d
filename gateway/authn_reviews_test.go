package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// fakeAuthn answers the review RPCs as authn does, for the user the
// gateway forwards.
type fakeAuthn struct {
	authnv1.UnimplementedAuthenticationServiceServer
	mu         sync.Mutex
	lastReview *authnv1.TokenReview
}

var reviewTime = time.Date(2026, 11, 27, 8, 16, 21, 0, time.UTC)

func forwarded(ctx context.Context) *authnv1.UserInfo {
	md, _ := metadata.FromIncomingContext(ctx)
	u, _ := identity.FromMetadata(md)
	return u
}

func (f *fakeAuthn) CreateSelfSubjectReview(ctx context.Context, _ *authnv1.CreateSelfSubjectReviewRequest) (*authnv1.CreateSelfSubjectReviewResponse, error) {
	return &authnv1.CreateSelfSubjectReviewResponse{SelfSubjectReview: &authnv1.SelfSubjectReview{
		Metadata: &corev1.ObjectMeta{CreationTimestamp: timestamppb.New(reviewTime)},
		Status:   &authnv1.SelfSubjectReviewStatus{UserInfo: forwarded(ctx)},
	}}, nil
}

func (f *fakeAuthn) CreateTokenReview(ctx context.Context, req *authnv1.CreateTokenReviewRequest) (*authnv1.CreateTokenReviewResponse, error) {
	f.mu.Lock()
	f.lastReview = req.GetTokenReview()
	f.mu.Unlock()
	if forwarded(ctx).GetUsername() != "admin" {
		return nil, status.Error(codes.PermissionDenied, "tokenreviews.authentication.k8s.io is forbidden")
	}
	return &authnv1.CreateTokenReviewResponse{TokenReview: &authnv1.TokenReview{
		Metadata: &corev1.ObjectMeta{},
		Spec:     req.GetTokenReview().GetSpec(),
		Status: &authnv1.TokenReviewStatus{Authenticated: true, Audiences: []string{"vault"}, User: &authnv1.UserInfo{
			Username: "system:serviceaccount:demo:app", Uid: "u1", Groups: []string{"system:serviceaccounts"},
			Extra: map[string]*authnv1.ExtraValue{"authentication.kubernetes.io/credential-id": {Items: []string{"JTI=abc"}}},
		}},
	}}, nil
}

func (f *fakeAuthn) GetServiceAccountIssuer(context.Context, *authnv1.GetServiceAccountIssuerRequest) (*authnv1.GetServiceAccountIssuerResponse, error) {
	return &authnv1.GetServiceAccountIssuerResponse{Issuer: "https://issuer.example", Jwks: []byte(`{"keys":[]}`), SigningAlgorithms: []string{"ES256"}}, nil
}

// reviewGateway is a gateway whose authn is fakeAuthn over an in-memory
// connection; requests go to its routes as user.
func reviewGateway(t *testing.T) (*Gateway, *fakeAuthn) {
	t.Helper()
	fake := &fakeAuthn{}
	conn := fakeBackend(t, func(s *grpc.Server) { authnv1.RegisterAuthenticationServiceServer(s, fake) })
	g, err := New(context.Background(), Options{InsecureAddress: "127.0.0.1:0"}, Deps{API: conn, Authn: authnclient.New(conn), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g, fake
}

func serveAs(g *Gateway, u *authnv1.UserInfo, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(string(body)))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r = r.WithContext(identity.WithUser(r.Context(), u))
	w := httptest.NewRecorder()
	g.handler.ServeHTTP(w, r)
	return w
}

// kubectlWhoamiBody is what `kubectl auth whoami` (v1.32) posts:
// samples/protobuf/selfsubjectreview.req.hex.
var kubectlWhoamiBody = []byte("k8s\x00" +
	"\x0a\x2d\x0a\x18authentication.k8s.io/v1\x12\x11SelfSubjectReview" +
	"\x12\x1a\x0a\x10\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x06\x0a\x04\x0a\x00\x12\x00" +
	"\x1a\x00\x22\x00")

func TestSelfSubjectReviewFromKubectl(t *testing.T) {
	g, _ := reviewGateway(t)
	bob := &authnv1.UserInfo{Username: "bob", Uid: "uid-bob", Groups: []string{"dev", "system:authenticated"}}
	w := serveAs(g, bob, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", mediaProtobuf, kubectlWhoamiBody)
	// samples/selfsubjectreview-bob.json, byte for byte.
	want := `{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":"2026-11-27T08:16:21Z"},"status":{"userInfo":{"username":"bob","uid":"uid-bob","groups":["dev","system:authenticated"]}}}`
	if w.Code != http.StatusCreated || strings.TrimSpace(w.Body.String()) != want || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

func TestReviewRequests(t *testing.T) {
	g, fake := reviewGateway(t)
	admin := &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters"}}
	tr := `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"abc.def.ghi","audiences":["vault"]}}`
	tests := map[string]struct {
		user        *authnv1.UserInfo
		method      string
		path        string
		contentType string
		body        string
		wantCode    int
		wantBody    string // a substring
	}{
		"token review": {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", contentType: mediaJSON, body: tr, wantCode: 201,
			wantBody: `"status":{"authenticated":true,"user":{"username":"system:serviceaccount:demo:app","uid":"u1","groups":["system:serviceaccounts"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=abc"]}},"audiences":["vault"]}`},
		"token review refused": {user: &authnv1.UserInfo{Username: "bob"}, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", contentType: mediaJSON, body: tr, wantCode: 403},
		"wrong kind": {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", contentType: mediaJSON,
			body: `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`, wantCode: 400},
		"unknown field": {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews?fieldValidation=Strict", contentType: mediaJSON,
			body: `{"spec":{"token":"x","bogus":1}}`, wantCode: 400, wantBody: "bogus"},
		"not JSON":           {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews", contentType: mediaJSON, body: `{`, wantCode: 400},
		"empty body":         {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews", contentType: mediaJSON, wantCode: 400},
		"unknown media type": {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews", contentType: "text/plain", body: "x", wantCode: 415},
		"too large": {user: admin, method: "POST", path: "/apis/authentication.k8s.io/v1/tokenreviews", contentType: mediaJSON,
			body: `{"spec":{"token":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}}`, wantCode: 413},
		"group discovery": {user: admin, method: "GET", path: "/apis", wantCode: 200,
			wantBody: `{"name":"authentication.k8s.io","preferredVersion":{"groupVersion":"authentication.k8s.io/v1","version":"v1"},"versions":[{"groupVersion":"authentication.k8s.io/v1","version":"v1"}]}`},
		"resource discovery": {user: admin, method: "GET", path: "/apis/authentication.k8s.io/v1", wantCode: 200,
			wantBody: `{"name":"tokenreviews","singularName":"tokenreview","namespaced":false,"kind":"TokenReview","verbs":["create"]}`},
		"openid configuration": {user: admin, method: "GET", path: "/.well-known/openid-configuration", wantCode: 200,
			wantBody: `{"issuer":"https://issuer.example","jwks_uri":"https://example.com/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}`},
		"jwks": {user: admin, method: "GET", path: "/openid/v1/jwks", wantCode: 200, wantBody: `{"keys":[]}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := serveAs(g, tc.user, tc.method, tc.path, tc.contentType, []byte(tc.body))
			if w.Code != tc.wantCode || !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			if w.Code >= 400 {
				var st struct{ Kind string }
				if json.Unmarshal(w.Body.Bytes(), &st) != nil || st.Kind != "Status" {
					t.Fatalf("error is not a Status: %s", w.Body.String())
				}
			}
		})
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if got := fake.lastReview.GetSpec(); got.GetToken() != "abc.def.ghi" || strings.Join(got.GetAudiences(), ",") != "vault" {
		t.Fatalf("authn got %v", got)
	}
}
