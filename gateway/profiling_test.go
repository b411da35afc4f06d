package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// mastersAuthn authenticates every credential as an admin in
// system:masters, whom the secure port lets through to any path.
type mastersAuthn struct {
	authnv1.UnimplementedAuthenticationServiceServer
}

func (mastersAuthn) Authenticate(context.Context, *authnv1.AuthenticateRequest) (*authnv1.AuthenticateResponse, error) {
	return &authnv1.AuthenticateResponse{User: &authnv1.UserInfo{Username: "admin", Groups: []string{identity.GroupMasters}}, Method: "token-file"}, nil
}

// TestProfiling: with --profiling the insecure port serves the runtime
// profiles; without it, and on the secure port always, /debug/pprof/ is
// not a Portico path (404 from the routes).
func TestProfiling(t *testing.T) {
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	tests := map[string]struct {
		profiling bool
		secure    bool
		target    string
		wantCode  int
		wantBody  string
	}{
		"the index":                      {profiling: true, target: "/debug/pprof/", wantCode: http.StatusOK, wantBody: "goroutine"},
		"a heap profile":                 {profiling: true, target: "/debug/pprof/heap?debug=1", wantCode: http.StatusOK, wantBody: "heap profile"},
		"goroutines":                     {profiling: true, target: "/debug/pprof/goroutine?debug=1", wantCode: http.StatusOK, wantBody: "goroutine profile"},
		"a one-second CPU profile":       {profiling: true, target: "/debug/pprof/profile?seconds=1", wantCode: http.StatusOK},
		"an unknown profile":             {profiling: true, target: "/debug/pprof/nothing", wantCode: http.StatusNotFound},
		"another path is the routes'":    {profiling: true, target: "/debug/other", wantCode: http.StatusNotFound},
		"off":                            {target: "/debug/pprof/", wantCode: http.StatusNotFound},
		"never on the secure port":       {profiling: true, secure: true, target: "/debug/pprof/", wantCode: http.StatusNotFound},
		"never on the secure port (cpu)": {profiling: true, secure: true, target: "/debug/pprof/profile?seconds=1", wantCode: http.StatusNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			conn := fakeBackend(t, func(s *grpc.Server) { authnv1.RegisterAuthenticationServiceServer(s, mastersAuthn{}) })
			g := newTestGateway(t, Options{Profiling: tc.profiling}, Deps{Authn: authnclient.New(conn)}, routes)
			h := g.insecureHandler()
			if tc.secure {
				h = g.secureHandler()
			}
			hdr, target := http.Header{}, tc.target
			if tc.secure {
				hdr.Set("Authorization", "Bearer admin-token")
				target = "https://portico" + target // a request over TLS
			}
			w := get(h, "GET", target, hdr)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d: %.300s", w.Code, tc.wantCode, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body lacks %q: %.300s", tc.wantBody, w.Body)
			}
		})
	}
}
