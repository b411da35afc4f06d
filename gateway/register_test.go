package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/portico-dev/portico/internal/authnclient"
)

// recordingBackend answers every gRPC call NotFound and records which
// method was called.
type recordingBackend struct {
	mu     sync.Mutex
	called []string
}

func (b *recordingBackend) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.called) == 0 {
		return ""
	}
	return b.called[len(b.called)-1]
}

func newRoutedGateway(tb testing.TB) (*Gateway, *recordingBackend) {
	tb.Helper()
	rec := &recordingBackend{}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		m, _ := grpc.MethodFromServerStream(stream)
		rec.mu.Lock()
		rec.called = append(rec.called, m)
		rec.mu.Unlock()
		return status.Error(codes.NotFound, "recorded")
	}))
	go func() { _ = srv.Serve(lis) }()
	tb.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///rec", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	g, err := New(context.Background(), Options{InsecureAddress: "127.0.0.1:0"}, Deps{API: conn, Authn: authnclient.New(conn), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	return g, rec
}

// TestResourceRouting: each request reaches the method of its own
// resource's service, through that resource's mux or, for what is no
// kind's (the bindings collection), the mux of every kind; what no route
// matches is grpc-gateway's 404 or 405 and calls nothing.
func TestResourceRouting(t *testing.T) {
	g, rec := newRoutedGateway(t)
	h := g.insecureHandler()
	tests := map[string]struct {
		method, target string
		wantCall       string // "" calls nothing
		wantCode       int
	}{
		"get a config map":        {"GET", "/api/v1/namespaces/a/configmaps/x", "/portico.core.v1.ConfigMapService/GetConfigMap", 404},
		"list deployments":        {"GET", "/apis/apps/v1/namespaces/a/deployments", "/portico.apps.v1.DeploymentService/ListDeployments", 404},
		"every namespace's pods":  {"GET", "/api/v1/pods", "/portico.core.v1.PodService/ListPods", 404},
		"a subresource":           {"POST", "/api/v1/namespaces/a/pods/p/binding", "/portico.core.v1.PodService/CreatePodBinding", 404},
		"the bindings collection": {"POST", "/api/v1/namespaces/a/bindings", "/portico.core.v1.PodService/CreatePodBinding", 404},
		"a namespace's finalize":  {"PUT", "/api/v1/namespaces/n/finalize", "/portico.core.v1.NamespaceService/UpdateNamespaceFinalize", 404},
		"a cluster-scoped kind":   {"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", "/portico.rbac.v1.ClusterRoleService/GetClusterRole", 404},
		"a watch by path":         {"GET", "/api/v1/watch/namespaces/a/configmaps?timeoutSeconds=1", "/portico.core.v1.ConfigMapService/WatchConfigMaps", 0},
		"no such subresource":     {"GET", "/api/v1/namespaces/a/configmaps/x/nothing", "", 404},
		"no such kind":            {"GET", "/api/v1/namespaces/a/widgets", "", 404},
		"no such version":         {"GET", "/apis/apps/v2/namespaces/a/deployments", "", 404},
		"a method not served":     {"POST", "/api/v1/namespaces/a/configmaps/x", "", 405},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := len(rec.called)
			w := get(h, tc.method, tc.target, http.Header{"Content-Type": {"application/json"}})
			if tc.wantCode != 0 && w.Code != tc.wantCode {
				t.Errorf("code %d, want %d: %.200s", w.Code, tc.wantCode, w.Body)
			}
			rec.mu.Lock()
			n := len(rec.called)
			rec.mu.Unlock()
			switch {
			case tc.wantCall == "" && n != before:
				t.Errorf("called %s", rec.last())
			case tc.wantCall != "" && (n == before || rec.last() != tc.wantCall):
				t.Errorf("called %q, want %s", strings.Join(rec.called[before:], ","), tc.wantCall)
			}
		})
	}
}

// BenchmarkResourceRouting: a path no route matches, through the
// resource's mux (what a request of a known kind gets) and through the
// mux of every kind (what each request got before).
func BenchmarkResourceRouting(b *testing.B) {
	g, _ := newRoutedGateway(b)
	mux, err := registerResources(context.Background(), nil, g.deps.API)
	if err != nil {
		b.Fatal(err)
	}
	const target = "/api/v1/namespaces/a/configmaps/x/nothing"
	for name, h := range map[string]http.Handler{"by resource": mux, "every kind": mux.all} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if w := get(h, "GET", target, nil); w.Code != http.StatusNotFound {
					b.Fatalf("code %d", w.Code)
				}
			}
		})
	}
}
