package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
)

// newTestGateway builds a Gateway with New on a gRPC connection to
// nowhere: nothing these tests send reaches a backend but d.Authn when
// given. A non-nil routes
// replaces the REST routes behind the port filters.
func newTestGateway(t testing.TB, o Options, d Deps, routes http.Handler) *Gateway {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///nowhere", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if o.InsecureAddress == "" {
		o.InsecureAddress = "127.0.0.1:0"
	}
	d.API, d.Authz = conn, authzclient.New(conn)
	if d.Authn == nil {
		d.Authn = authnclient.New(conn)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	g, err := New(context.Background(), o, d)
	if err != nil {
		t.Fatal(err)
	}
	if routes != nil {
		g.handler = routes
	}
	return g
}

// fakeBackend serves the services register adds over an in-memory
// connection and returns a client connection to them.
func fakeBackend(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///fake", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// get sends one request through h and returns the recorder.
func get(h http.Handler, method, target string, hdr http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) lines() []string {
	return strings.Split(strings.TrimSpace(s.String()), "\n")
}
