package authz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
	"github.com/portico-dev/portico/services/authz/node"
	"github.com/portico-dev/portico/services/authz/rbac"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const policy = `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"bob","namespace":"default","resource":"*","apiGroup":"*","readonly":true}}
{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"system:authenticated","nonResourcePath":"*","readonly":true}}
`

func writePolicy(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "policy.jsonl")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		o    Options
		want string
	}{
		"default":        {Options{Modes: DefaultModes()}, ""},
		"all modes":      {Options{Modes: Modes, PolicyFile: "p"}, ""},
		"none":           {Options{}, "at least one authorization mode must be passed"},
		"unknown":        {Options{Modes: []string{"RBAC", "rbac"}}, `unknown authorization mode "rbac" specified`},
		"twice":          {Options{Modes: []string{"RBAC", "RBAC"}}, `"RBAC" given twice`},
		"abac no file":   {Options{Modes: []string{"ABAC"}}, "ABAC needs --authorization-policy-file"},
		"file no abac":   {Options{Modes: []string{"RBAC"}, PolicyFile: "p"}, "only used with --authorization-mode ABAC"},
		"negative delay": {Options{Modes: []string{"RBAC"}, PolicyReloadInterval: -1}, "must not be negative"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewNeedsAPIForNodeAndRBAC(t *testing.T) {
	if _, err := New(Options{Modes: []string{"Node"}}, Deps{Logger: discard()}); err == nil {
		t.Fatal("Node without an api connection")
	}
	if _, err := New(Options{Modes: []string{"ABAC"}, PolicyFile: writePolicy(t, "{\"user\":\"a\"}\n{bad\n")}, Deps{Logger: discard()}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad policy: %v", err)
	}
}

var (
	bob   = &authnv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}
	admin = &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters", "system:authenticated"}}
)

func newABAC(t *testing.T, text string) (*Service, string) {
	t.Helper()
	f := writePolicy(t, text)
	s, err := New(Options{Modes: []string{"ABAC"}, PolicyFile: f}, Deps{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

func TestAuthorize(t *testing.T) {
	s, _ := newABAC(t, policy)
	ctx := context.Background()
	tests := map[string]struct {
		user  *authnv1.UserInfo
		attrs *authzv1.Attributes
		want  authzv1.Decision
	}{
		"bob reads":       {bob, &authzv1.Attributes{Verb: "get", Resource: "pods", Namespace: "default", ResourceRequest: true}, authzv1.Decision_DECISION_ALLOW},
		"bob writes":      {bob, &authzv1.Attributes{Verb: "create", Resource: "pods", Namespace: "default", ResourceRequest: true}, authzv1.Decision_DECISION_NO_OPINION},
		"masters":         {admin, &authzv1.Attributes{Verb: "delete", Resource: "nodes", ResourceRequest: true}, authzv1.Decision_DECISION_ALLOW},
		"self review":     {bob, &authzv1.Attributes{Verb: "create", ApiGroup: Group, Resource: "selfsubjectaccessreviews", ResourceRequest: true}, authzv1.Decision_DECISION_ALLOW},
		"path":            {bob, &authzv1.Attributes{Verb: "get", Path: "/version"}, authzv1.Decision_DECISION_ALLOW},
		"service reads":   {identity.Service("authz"), &authzv1.Attributes{Verb: "list", ApiGroup: "rbac.authorization.k8s.io", Resource: "roles", ResourceRequest: true}, authzv1.Decision_DECISION_ALLOW},
		"service writes?": {identity.Service("authz"), &authzv1.Attributes{Verb: "create", ApiGroup: "rbac.authorization.k8s.io", Resource: "roles", ResourceRequest: true}, authzv1.Decision_DECISION_NO_OPINION},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := s.Authorize(ctx, &authzv1.AuthorizeRequest{User: tc.user, Attributes: tc.attrs})
			if err != nil || resp.GetDecision() != tc.want {
				t.Fatalf("got %v %v, want %v", resp, err, tc.want)
			}
			if resp.GetGeneration() == 0 {
				t.Error("no generation")
			}
		})
	}
	if _, err := s.Authorize(ctx, &authzv1.AuthorizeRequest{Attributes: &authzv1.Attributes{}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("no user: %v", err)
	}
}

// TestModeErrorIs500: no allow and a mode failed is Internal (500), not
// a refusal and never an allow.
func TestModeErrorIs500(t *testing.T) {
	failing := authorizer.Func(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (authorizer.Decision, string, error) {
		return authorizer.NoOpinion, "", errors.New("the policy store is down")
	})
	s := &Service{chain: authorizer.Union(authorizer.Masters(), failing), gen: newGeneration(), log: discard()}
	_, err := s.Authorize(context.Background(), &authzv1.AuthorizeRequest{User: bob, Attributes: &authzv1.Attributes{Verb: "get", Resource: "pods", ResourceRequest: true}})
	if status.Code(err) != codes.Internal {
		t.Fatalf("got %v, want Internal", err)
	}
	if _, code := apierrors.ToStatus(err); code != 500 {
		t.Fatalf("HTTP %d, want 500", code)
	}
	resp, err := s.Authorize(context.Background(), &authzv1.AuthorizeRequest{User: admin, Attributes: &authzv1.Attributes{Verb: "get", Resource: "pods", ResourceRequest: true}})
	if err != nil || resp.GetDecision() != authzv1.Decision_DECISION_ALLOW {
		t.Fatalf("masters with a failing later mode: %v %v", resp, err)
	}
}

// policyStream collects WatchPolicy's messages.
type policyStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent chan uint64
}

func (p *policyStream) Context() context.Context { return p.ctx }
func (p *policyStream) Send(m *authzv1.WatchPolicyResponse) error {
	p.sent <- m.GetGeneration()
	return nil
}

// TestWatchPolicy: a changed policy file is a new generation on the
// stream (what caches drop their decisions on).
func TestWatchPolicy(t *testing.T) {
	s, f := newABAC(t, policy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps := &policyStream{ctx: ctx, sent: make(chan uint64, 4)}
	done := make(chan error, 1)
	go func() { done <- s.WatchPolicy(&authzv1.WatchPolicyRequest{}, ps) }()
	first := <-ps.sent
	if err := os.WriteFile(f, []byte(policy+`{"user":"carol"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !s.abac.Reload() {
		t.Fatal("reload")
	}
	select {
	case next := <-ps.sent:
		if next == first {
			t.Fatal("same generation after a change")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no new generation")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConfirmNoEscalation(t *testing.T) {
	s, _ := newABAC(t, policy)
	ctx := context.Background()
	rules := []*authzv1.PolicyRule{{Verbs: []string{"get", "list"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}
	resp, err := s.ConfirmNoEscalation(ctx, &authzv1.ConfirmNoEscalationRequest{User: bob, Namespace: "default", Rules: rules})
	if err != nil || !resp.GetCovered() {
		t.Fatalf("bob holds pod reading in default: %v %v", resp, err)
	}
	rules = append(rules, &authzv1.PolicyRule{Verbs: []string{"delete"}, ApiGroups: []string{""}, Resources: []string{"pods"}})
	resp, err = s.ConfirmNoEscalation(ctx, &authzv1.ConfirmNoEscalationRequest{User: bob, Namespace: "default", Rules: rules})
	if err != nil || resp.GetCovered() || len(resp.GetMissing()) != 1 || resp.GetMissing()[0].GetVerbs()[0] != "delete" {
		t.Fatalf("bob does not hold delete: %v %v", resp, err)
	}
	resp, _ = s.ConfirmNoEscalation(ctx, &authzv1.ConfirmNoEscalationRequest{User: bob, Namespace: "other", Rules: rules[:1]})
	if resp.GetCovered() {
		t.Fatal("bob holds nothing in other")
	}
	resp, _ = s.ConfirmNoEscalation(ctx, &authzv1.ConfirmNoEscalationRequest{User: admin, Rules: []*authzv1.PolicyRule{{Verbs: []string{"*"}, ApiGroups: []string{"*"}, Resources: []string{"*"}}, {Verbs: []string{"*"}, NonResourceUrls: []string{"*"}}}})
	if !resp.GetCovered() {
		t.Fatal("masters hold everything")
	}
}

func TestReviews(t *testing.T) {
	s, _ := newABAC(t, policy)
	r := &reviews{s: s}
	ctx := identity.WithUser(context.Background(), bob)

	ssar := func(verb, ns string) *authzv1.SubjectAccessReviewStatus {
		t.Helper()
		resp, err := r.CreateSelfSubjectAccessReview(ctx, &authzv1.CreateSelfSubjectAccessReviewRequest{SelfSubjectAccessReview: &authzv1.SelfSubjectAccessReview{
			Spec: &authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Resource: "pods", Namespace: ns}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetSelfSubjectAccessReview().GetSpec().GetResourceAttributes().GetVerb() != verb {
			t.Error("spec not echoed")
		}
		return resp.GetSelfSubjectAccessReview().GetStatus()
	}
	if st := ssar("list", "default"); !st.GetAllowed() || st.GetDenied() || st.GetReason() != "" {
		t.Errorf("bob list: %v", st)
	}
	if st := ssar("create", "default"); st.GetAllowed() || st.GetDenied() || st.GetReason() != "No policy matched." {
		t.Errorf("bob create: %v", st)
	}

	// A SubjectAccessReview names its user; exactly one kind of attributes.
	sar := func(spec *authzv1.SubjectAccessReviewSpec) (*authzv1.SubjectAccessReviewStatus, error) {
		resp, err := r.CreateSubjectAccessReview(ctx, &authzv1.CreateSubjectAccessReviewRequest{SubjectAccessReview: &authzv1.SubjectAccessReview{Spec: spec}})
		return resp.GetSubjectAccessReview().GetStatus(), err
	}
	if st, err := sar(&authzv1.SubjectAccessReviewSpec{User: "bob", Groups: []string{"system:authenticated"}, NonResourceAttributes: &authzv1.NonResourceAttributes{Verb: "get", Path: "/healthz"}}); err != nil || !st.GetAllowed() {
		t.Errorf("sar path: %v %v", st, err)
	}
	if st, err := sar(&authzv1.SubjectAccessReviewSpec{User: "admin", Groups: []string{"system:masters"}, ResourceAttributes: &authzv1.ResourceAttributes{Verb: "delete", Resource: "nodes"}}); err != nil || !st.GetAllowed() {
		t.Errorf("sar admin: %v %v", st, err)
	}
	for name, spec := range map[string]*authzv1.SubjectAccessReviewSpec{
		"no attributes": {User: "bob"},
		"both":          {User: "bob", ResourceAttributes: &authzv1.ResourceAttributes{}, NonResourceAttributes: &authzv1.NonResourceAttributes{}},
		"no subject":    {ResourceAttributes: &authzv1.ResourceAttributes{Verb: "get"}},
	} {
		if _, err := sar(spec); apierrors.ReasonOf(err) != apierrors.ReasonInvalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}

	// A LocalSubjectAccessReview stays in its namespace.
	local := func(ns, attrNS string) error {
		_, err := r.CreateLocalSubjectAccessReview(ctx, &authzv1.CreateLocalSubjectAccessReviewRequest{Namespace: ns, LocalSubjectAccessReview: &authzv1.LocalSubjectAccessReview{
			Spec: &authzv1.SubjectAccessReviewSpec{User: "bob", ResourceAttributes: &authzv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: attrNS}},
		}})
		return err
	}
	if err := local("default", "default"); err != nil {
		t.Errorf("local: %v", err)
	}
	if err := local("default", "kube-system"); apierrors.ReasonOf(err) != apierrors.ReasonInvalid {
		t.Errorf("local across namespaces: %v", err)
	}

	// SelfSubjectRulesReview lists bob's rules.
	resp, err := r.CreateSelfSubjectRulesReview(ctx, &authzv1.CreateSelfSubjectRulesReviewRequest{SelfSubjectRulesReview: &authzv1.SelfSubjectRulesReview{Spec: &authzv1.SelfSubjectRulesReviewSpec{Namespace: "default"}}})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.GetSelfSubjectRulesReview().GetStatus()
	var found bool
	for _, rr := range st.GetResourceRules() {
		if strings.Join(rr.GetVerbs(), ",") == "get,list,watch" && rr.GetResources()[0] == "*" {
			found = true
		}
	}
	if !found || st.GetIncomplete() {
		t.Errorf("rules: %v", st)
	}
}

// fakePeers says which service a call comes from.
type fakePeers struct{ svc string }

func (f fakePeers) PeerService(context.Context) (string, bool) { return f.svc, f.svc != "" }

// methodStream gives a server context its method name.
type methodStream struct {
	grpc.ServerTransportStream
	method string
}

func (m methodStream) Method() string { return m.method }

func callCtx(method string, md metadata.MD) context.Context {
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), methodStream{method: method})
	return metadata.NewIncomingContext(ctx, md)
}

func TestAuthFunc(t *testing.T) {
	s, _ := newABAC(t, policy)
	authorize := authzv1.AuthorizationService_Authorize_FullMethodName
	ssar := authzv1.AccessReviewService_CreateSelfSubjectAccessReview_FullMethodName
	forwarded := identity.ToMetadata(bob)
	tests := map[string]struct {
		method, peer string
		md           metadata.MD
		wantCode     codes.Code
		wantUser     string
	}{
		"api may Authorize":              {authorize, "api", nil, codes.OK, ""},
		"gateway may Authorize":          {authorize, "gateway", nil, codes.OK, ""},
		"authn may Authorize":            {authorize, "authn", nil, codes.OK, ""},
		"a user may not Authorize":       {authorize, "", nil, codes.PermissionDenied, ""},
		"authz may not Authorize":        {authorize, "authz", nil, codes.PermissionDenied, ""},
		"gateway forwards a user":        {ssar, "gateway", forwarded, codes.OK, "bob"},
		"api may not forward a user":     {ssar, "api", forwarded, codes.PermissionDenied, ""},
		"a user may not forward a user":  {ssar, "", forwarded, codes.PermissionDenied, ""},
		"a service acts as itself":       {ssar, "api", nil, codes.OK, "system:portico:api"},
		"no authn for own credentials":   {ssar, "", nil, codes.Unavailable, ""},
		"only one escalation checker":    {authzv1.AuthorizationService_ConfirmNoEscalation_FullMethodName, "gateway", nil, codes.PermissionDenied, ""},
		"the api checks escalation":      {authzv1.AuthorizationService_ConfirmNoEscalation_FullMethodName, "api", nil, codes.OK, ""},
		"gateway watches the generation": {authzv1.AuthorizationService_WatchPolicy_FullMethodName, "gateway", nil, codes.OK, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, err := s.AuthFunc(fakePeers{tc.peer})(callCtx(tc.method, tc.md))
			if status.Code(err) != tc.wantCode {
				t.Fatalf("got %v, want %v", err, tc.wantCode)
			}
			if tc.wantUser != "" {
				u, _ := identity.UserFrom(ctx)
				if u.GetUsername() != tc.wantUser {
					t.Errorf("user %v, want %s", u, tc.wantUser)
				}
			}
		})
	}
}

// TestReviewAuthorization: creating a review is authorized like any
// create; self reviews are open to every user.
func TestReviewAuthorization(t *testing.T) {
	s, _ := newABAC(t, policy)
	interceptor := s.UnaryAuthorizer()
	called := false
	handler := func(context.Context, any) (any, error) { called = true; return nil, nil }
	call := func(u *authnv1.UserInfo, method string, req any) error {
		called = false
		_, err := interceptor(identity.WithUser(context.Background(), u), req, &grpc.UnaryServerInfo{FullMethod: method}, handler)
		return err
	}
	if err := call(bob, authzv1.AccessReviewService_CreateSelfSubjectAccessReview_FullMethodName, &authzv1.CreateSelfSubjectAccessReviewRequest{}); err != nil || !called {
		t.Errorf("bob self review: %v", err)
	}
	err := call(bob, authzv1.AccessReviewService_CreateSubjectAccessReview_FullMethodName, &authzv1.CreateSubjectAccessReviewRequest{})
	if called || apierrors.ReasonOf(err) != apierrors.ReasonForbidden ||
		!strings.Contains(err.Error(), `subjectaccessreviews.authorization.k8s.io is forbidden: User "bob" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope`) {
		t.Errorf("bob subject access review: %v", err)
	}
	err = call(bob, authzv1.AccessReviewService_CreateLocalSubjectAccessReview_FullMethodName, &authzv1.CreateLocalSubjectAccessReviewRequest{Namespace: "default"})
	if called || !strings.Contains(err.Error(), `in the namespace "default"`) {
		t.Errorf("bob local review: %v", err)
	}
	if err := call(admin, authzv1.AccessReviewService_CreateSubjectAccessReview_FullMethodName, &authzv1.CreateSubjectAccessReviewRequest{}); err != nil || !called {
		t.Errorf("admin subject access review: %v", err)
	}
	if err := call(bob, authzv1.AuthorizationService_Authorize_FullMethodName, &authzv1.AuthorizeRequest{}); err != nil || !called {
		t.Errorf("internal calls pass: %v", err)
	}
	if err := call(bob, "/x.Y/Z", nil); status.Code(err) != codes.PermissionDenied || called {
		t.Errorf("unknown method: %v", err)
	}
}

func TestFailureCode(t *testing.T) {
	tests := map[string]struct {
		err  error
		want codes.Code
	}{
		"node still listing":       {node.ErrNotSynced, codes.Unavailable},
		"rbac still listing":       {rbac.ErrNotSynced, codes.Unavailable},
		"joined with another":      {errors.Join(errors.New("abac: boom"), rbac.ErrNotSynced), codes.Unavailable},
		"wrapped":                  {fmt.Errorf("mode RBAC: %w", node.ErrNotSynced), codes.Unavailable},
		"any other failure is 500": {errors.New("boom"), codes.Internal},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := failureCode(tc.err); got != tc.want {
				t.Fatalf("failureCode(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
