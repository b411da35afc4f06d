package authzclient

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/testwait"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

var (
	bob  = &authnv1.UserInfo{Username: "bob", Uid: "uid-bob", Groups: []string{"dev", "system:authenticated"}}
	node = &authnv1.UserInfo{Username: "system:node:node-1", Groups: []string{"system:nodes", "system:authenticated"}}
)

func res(verb, group, resource, sub, ns, name string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, ApiGroup: group, ApiVersion: "v1", Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true}
}

// TestForbiddenMessage checks the wording against what a real
// kube-apiserver answered (../shared/reference/samples/status-403-*.json
// and kubectl-outputs.txt).
func TestForbiddenMessage(t *testing.T) {
	tests := map[string]struct {
		user   *authnv1.UserInfo
		attrs  *authzv1.Attributes
		reason string
		want   string
	}{
		"create in a namespace": {bob, res("create", "", "pods", "", "default", ""), "No policy matched.",
			`pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "default": No policy matched.`},
		"list at the cluster scope": {bob, res("list", "", "pods", "", "", ""), "No policy matched.",
			`pods is forbidden: User "bob" cannot list resource "pods" in API group "" at the cluster scope: No policy matched.`},
		"node with two reasons": {node, res("list", "", "nodes", "", "", ""), "node 'node-1' cannot read all nodes, only its own Node object\nNo policy matched.",
			"nodes is forbidden: User \"system:node:node-1\" cannot list resource \"nodes\" in API group \"\" at the cluster scope: node 'node-1' cannot read all nodes, only its own Node object\nNo policy matched."},
		"named object": {bob, res("delete", "", "pods", "", "default", "web"), "No policy matched.",
			`pods "web" is forbidden: User "bob" cannot delete resource "pods" in API group "" in the namespace "default": No policy matched.`},
		"no reason (RBAC)": {bob, res("create", "", "pods", "", "default", ""), "",
			`pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "default"`},
		"grouped": {bob, res("list", "apps", "deployments", "", "default", ""), "",
			`deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" in the namespace "default"`},
		"subresource": {bob, res("update", "", "pods", "status", "default", "web"), "",
			`pods "web" is forbidden: User "bob" cannot update resource "pods/status" in API group "" in the namespace "default"`},
		"path": {&authnv1.UserInfo{Username: "system:anonymous"}, &authzv1.Attributes{Verb: "get", Path: "/"}, "",
			`forbidden: User "system:anonymous" cannot get path "/"`},
		"escaped": {&authnv1.UserInfo{Username: "a<b>&c"}, &authzv1.Attributes{Verb: "get", Path: "/x"}, "<kept>",
			`forbidden: User "a&lt;b&gt;&amp;c" cannot get path "/x": <kept>`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ForbiddenMessage(tc.user, tc.attrs, tc.reason); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestForbiddenStatus: the Status names the resource as its kind (with
// the group and name when there are), and a refused path has empty
// details, as kube-apiserver's NewForbidden writes them.
func TestForbiddenStatus(t *testing.T) {
	st, code := apierrors.ToStatus(result(bob, res("create", "", "pods", "", "default", ""), false, "No policy matched."))
	if code != 403 || st.GetReason() != "Forbidden" || st.GetDetails().GetKind() != "pods" || st.GetDetails().GetName() != "" || st.GetDetails().GetGroup() != "" {
		t.Errorf("resource: %d %v", code, st)
	}
	st, _ = apierrors.ToStatus(result(bob, res("get", "apps", "deployments", "", "x", "web"), false, ""))
	if d := st.GetDetails(); d.GetKind() != "deployments" || d.GetGroup() != "apps" || d.GetName() != "web" {
		t.Errorf("grouped: %v", st)
	}
	st, _ = apierrors.ToStatus(result(bob, &authzv1.Attributes{Verb: "get", Path: "/metrics"}, false, ""))
	if st.Details == nil || st.GetDetails().GetKind() != "" {
		t.Errorf("path: details %v, want empty and present", st.GetDetails())
	}
	if err := result(bob, res("get", "", "pods", "", "a", "b"), true, ""); err != nil {
		t.Errorf("allowed: %v", err)
	}
}

// fakeAuthz answers Authorize with a fixed decision and counts calls; its
// generation is changed by bump.
type fakeAuthz struct {
	authzv1.UnimplementedAuthorizationServiceServer
	calls   atomic.Int64
	allow   atomic.Bool
	fail    atomic.Bool
	mu      sync.Mutex
	gen     uint64
	changed chan struct{}
}

func newFake() *fakeAuthz { return &fakeAuthz{gen: 1, changed: make(chan struct{})} }

func (f *fakeAuthz) Authorize(_ context.Context, req *authzv1.AuthorizeRequest) (*authzv1.AuthorizeResponse, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, apierrors.Internal("boom")
	}
	f.mu.Lock()
	gen := f.gen
	f.mu.Unlock()
	d := authzv1.Decision_DECISION_NO_OPINION
	if f.allow.Load() {
		d = authzv1.Decision_DECISION_ALLOW
	}
	return &authzv1.AuthorizeResponse{Decision: d, Reason: "No policy matched.", Generation: gen}, nil
}

func (f *fakeAuthz) WatchPolicy(_ *authzv1.WatchPolicyRequest, s grpc.ServerStreamingServer[authzv1.WatchPolicyResponse]) error {
	for {
		f.mu.Lock()
		gen, ch := f.gen, f.changed
		f.mu.Unlock()
		if err := s.Send(&authzv1.WatchPolicyResponse{Generation: gen}); err != nil {
			return err
		}
		select {
		case <-s.Context().Done():
			return nil
		case <-ch:
		}
	}
}

func (f *fakeAuthz) bump() {
	f.mu.Lock()
	f.gen++
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// serve runs fake on an in-memory listener; stop ends the server.
func serve(t testing.TB, fake *fakeAuthz) (conn *grpc.ClientConn, stop func()) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	authzv1.RegisterAuthorizationServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop() })
	return conn, srv.Stop
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func startCached(t testing.TB, conn grpc.ClientConnInterface, clk *clock) *Client {
	t.Helper()
	c, err := NewCached(conn, Options{AllowedTTL: 10 * time.Second, DeniedTTL: 2 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	testwait.Until(t, 5*time.Second, "the condition", c.CacheLive)
	return c
}

func TestCache(t *testing.T) {
	fake := newFake()
	fake.allow.Store(true)
	conn, _ := serve(t, fake)
	clk := &clock{now: time.Unix(1000, 0)}
	c := startCached(t, conn, clk)
	ctx := context.Background()
	get := res("get", "", "pods", "", "default", "web")

	for range 3 {
		if err := c.Authorize(ctx, bob, get); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.calls.Load(); n != 1 {
		t.Fatalf("authz asked %d times for one decision, want 1", n)
	}
	// Another user, other attributes, other groups: other keys.
	_ = c.Authorize(ctx, node, get)
	_ = c.Authorize(ctx, bob, res("list", "", "pods", "", "default", ""))
	_ = c.Authorize(ctx, &authnv1.UserInfo{Username: "bob", Uid: "uid-bob", Groups: []string{"dev"}}, get)
	if n := fake.calls.Load(); n != 4 {
		t.Fatalf("calls = %d, want 4", n)
	}
	// Allowed decisions last AllowedTTL.
	clk.add(9 * time.Second)
	_ = c.Authorize(ctx, bob, get)
	if n := fake.calls.Load(); n != 4 {
		t.Fatalf("expired before the allowed TTL: calls = %d", n)
	}
	clk.add(2 * time.Second)
	_ = c.Authorize(ctx, bob, get)
	if n := fake.calls.Load(); n != 5 {
		t.Fatalf("not expired after the allowed TTL: calls = %d", n)
	}

	// A policy change drops every decision at once: the new policy
	// refuses, and the cached allow is not used.
	fake.allow.Store(false)
	fake.bump()
	testwait.Until(t, 5*time.Second, "the condition", func() bool {
		err := c.Authorize(ctx, bob, get)
		return apierrors.ReasonOf(err) == apierrors.ReasonForbidden
	})
	before := fake.calls.Load()
	if err := c.Authorize(ctx, bob, get); apierrors.ReasonOf(err) != apierrors.ReasonForbidden {
		t.Fatalf("cached refusal: %v", err)
	}
	if fake.calls.Load() != before {
		t.Fatal("refusals are not cached")
	}
	// Refusals last DeniedTTL.
	clk.add(3 * time.Second)
	_ = c.Authorize(ctx, bob, get)
	if fake.calls.Load() != before+1 {
		t.Fatal("refusal outlived the denied TTL")
	}

	// Errors are never cached.
	fake.fail.Store(true)
	other := res("delete", "", "pods", "", "default", "web")
	for range 2 {
		if err := c.Authorize(ctx, bob, other); apierrors.ReasonOf(err) != apierrors.ReasonInternalError {
			t.Fatalf("a failed mode is a 500: %v", err)
		}
	}
	if fake.calls.Load() != before+3 {
		t.Fatal("an error was cached")
	}
}

func TestStaleGenerationNotCached(t *testing.T) {
	c := newCache(Options{AllowedTTL: time.Minute, DeniedTTL: time.Minute, MaxEntries: 10, Now: time.Now})
	c.put("k", 1, true, "")
	if _, ok := c.get([]byte("k")); ok {
		t.Fatal("cached while the stream is down")
	}
	c.setLive(true, 5)
	c.put("k", 4, true, "")
	if _, ok := c.get([]byte("k")); ok {
		t.Fatal("cached a decision of an older generation")
	}
	c.put("k", 6, true, "")
	if _, ok := c.get([]byte("k")); ok {
		t.Fatal("cached a decision of a generation not yet announced")
	}
	c.put("k", 5, true, "")
	if _, ok := c.get([]byte("k")); !ok {
		t.Fatal("decision of the generation in force not cached")
	}
	c.setLive(true, 6)
	if _, ok := c.get([]byte("k")); ok {
		t.Fatal("kept across a generation change")
	}
	for i := range 25 {
		c.put(string(rune('a'+i)), 6, false, "")
	}
	if len(c.entries) > 10 {
		t.Fatalf("%d entries, want at most 10", len(c.entries))
	}
}

// TestUnreachable: authz gone is a 503, never an allow, even for a
// decision cached a moment before.
func TestUnreachable(t *testing.T) {
	fake := newFake()
	fake.allow.Store(true)
	conn, stop := serve(t, fake)
	clk := &clock{now: time.Unix(1000, 0)}
	c := startCached(t, conn, clk)
	get := res("get", "", "pods", "", "default", "web")
	if err := c.Authorize(context.Background(), bob, get); err != nil {
		t.Fatal(err)
	}
	stop()
	testwait.Until(t, 5*time.Second, "the condition", func() bool { return !c.CacheLive() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := c.Authorize(ctx, bob, get)
	if apierrors.ReasonOf(err) != apierrors.ReasonServiceUnavailable {
		t.Fatalf("authz down: %v, want 503", err)
	}
	if _, code := apierrors.ToStatus(err); code != 503 {
		t.Fatalf("code %d", code)
	}
	// Uncached client, nothing listening at all.
	lis := bufconn.Listen(1)
	lis.Close()
	dead, err := grpc.NewClient("passthrough:///dead",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if err := New(dead).Authorize(ctx, bob, get); apierrors.ReasonOf(err) != apierrors.ReasonServiceUnavailable {
		t.Fatalf("no authz: %v, want 503", err)
	}
	// system:masters is decided without authz (the insecure port's user).
	for name, u := range map[string]*authnv1.UserInfo{
		"unsecured": identity.Unsecured(),
		"admin":     {Username: "admin", Groups: []string{identity.GroupMasters}},
	} {
		if err := New(dead).Authorize(ctx, u, get); err != nil {
			t.Errorf("%s with no authz: %v, want allowed", name, err)
		}
	}
}

func TestCacheKeyDistinct(t *testing.T) {
	a := res("get", "", "pods", "", "ns", "x")
	keys := map[string]string{}
	for name, u := range map[string]*authnv1.UserInfo{
		"plain":        {Username: "ab"},
		"split name":   {Username: "a", Uid: "b"},
		"group":        {Username: "ab", Groups: []string{"g"}},
		"two groups":   {Username: "ab", Groups: []string{"g", "h"}},
		"joined group": {Username: "ab", Groups: []string{"gh"}},
		"extra":        {Username: "ab", Extra: map[string]*authnv1.ExtraValue{"k": {Items: []string{"v"}}}},
		"extra group":  {Username: "ab", Groups: []string{"k"}, Extra: map[string]*authnv1.ExtraValue{"v": {}}},
	} {
		k := cacheKey(u, a)
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		keys[k] = name
	}
	if cacheKey(bob, res("get", "", "pods", "", "ns", "x")) == cacheKey(bob, res("get", "", "pods", "", "nsx", "")) {
		t.Error("namespace and name run together")
	}
}

// BenchmarkCachedDecision is a decision served from the cache: what every
// request costs the api and the gateway once warm.
func BenchmarkCachedDecision(b *testing.B) {
	fake := newFake()
	fake.allow.Store(true)
	conn, _ := serve(b, fake)
	c := startCached(b, conn, &clock{now: time.Unix(1000, 0)})
	ctx := context.Background()
	get := res("get", "", "configmaps", "", "default", "app")
	if err := c.Authorize(ctx, bob, get); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Authorize(ctx, bob, get); err != nil {
				b.Fatal(err)
			}
		}
	})
	if fake.calls.Load() != 1 {
		b.Fatalf("authz asked %d times", fake.calls.Load())
	}
}

// BenchmarkUncachedDecision is the same decision asked of authz each time
// (in-memory connection, no TLS): the cost the cache saves.
func BenchmarkUncachedDecision(b *testing.B) {
	fake := newFake()
	fake.allow.Store(true)
	conn, _ := serve(b, fake)
	c := New(conn)
	ctx := context.Background()
	get := res("get", "", "configmaps", "", "default", "app")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.Authorize(ctx, bob, get); err != nil {
			b.Fatal(err)
		}
	}
}
