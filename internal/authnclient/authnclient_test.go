package authnclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/svcauth"
	"github.com/portico-dev/portico/internal/testwait"
	"github.com/portico-dev/portico/internal/tlsconf"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	"github.com/portico-dev/portico/services/authn"
)

// authnServer is a real authn service on a loopback port with mutual TLS,
// as `portico up` runs it.
type authnServer struct {
	svc      *authn.Service
	srv      *grpcserver.Server
	layout   pki.Layout
	tokens   string       // the token file
	rpcCalls atomic.Int64 // Authenticate calls that reached authn
}

func startAuthn(tb testing.TB, tokens string) *authnServer {
	tb.Helper()
	dir := tb.TempDir()
	layout := pki.Layout{Dir: filepath.Join(dir, "pki")}
	if _, err := layout.EnsureDev(); err != nil {
		tb.Fatal(err)
	}
	a := &authnServer{layout: layout, tokens: filepath.Join(dir, "tokens.csv")}
	if err := os.WriteFile(a.tokens, []byte(tokens), 0o600); err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc, err := authn.New(authn.Options{TokenAuthFile: a.tokens, ClientCAFile: layout.ClientCACert(), TokenFilePollInterval: 10 * time.Millisecond},
		authn.Deps{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	go svc.Run(ctx)
	a.svc = svc
	a.listen(tb, "127.0.0.1:0")
	return a
}

func (a *authnServer) listen(tb testing.TB, addr string) {
	tb.Helper()
	cfg, err := tlsconf.Files{CertFile: a.layout.ServiceCert("authn"), KeyFile: a.layout.ServiceKey("authn"),
		CAFiles: []string{a.layout.CACert()}}.ServerConfig()
	if err != nil {
		tb.Fatal(err)
	}
	pool, err := tlsconf.LoadPool(a.layout.CACert())
	if err != nil {
		tb.Fatal(err)
	}
	count := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == authnv1.AuthenticationService_Authenticate_FullMethodName {
			a.rpcCalls.Add(1)
		}
		return h(ctx, req)
	}
	srv, err := grpcserver.New(grpcserver.Options{Name: "authn", Address: addr, TLS: cfg, Logger: slog.New(slog.DiscardHandler),
		Auth: a.svc.AuthFunc(svcauth.NewVerifier(pool)), Unary: []grpc.UnaryServerInterceptor{count}})
	if err != nil {
		tb.Fatal(err)
	}
	a.svc.Register(srv.Registrar())
	go func() { _ = srv.Serve() }()
	a.srv = srv
	tb.Cleanup(func() { a.stop() })
}

func (a *authnServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a.srv.Stop(ctx)
}

// dial connects as the gateway.
func (a *authnServer) dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	cfg, err := tlsconf.Files{CertFile: a.layout.ServiceCert("gateway"), KeyFile: a.layout.ServiceKey("gateway"),
		CAFiles: []string{a.layout.CACert()}}.ClientConfig("127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := grpcclient.Dial(addr, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func (a *authnServer) cachedClient(tb testing.TB) *authnclient.Client {
	tb.Helper()
	c, err := authnclient.NewCached(a.dial(tb, a.srv.Addr().String()), authnclient.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	go c.Run(ctx)
	testwait.Until(tb, 5*time.Second, "the cache to go live", c.CacheLive)
	return c
}

func reason(err error) apierrors.Reason { return apierrors.ReasonOf(err) }

func TestCachedAnswersSkipAuthn(t *testing.T) {
	a := startAuthn(t, "tok-alice,alice,1,dev\n")
	c := a.cachedClient(t)
	for range 5 {
		u, err := c.Authenticate(context.Background(), "tok-alice", nil)
		if err != nil || u.GetUsername() != "alice" {
			t.Fatalf("Authenticate = %v, %v", u, err)
		}
	}
	if n := a.rpcCalls.Load(); n != 1 {
		t.Fatalf("authn was asked %d times for one token, want 1", n)
	}
	// Wrong tokens are never cached: each one is asked.
	for range 3 {
		if _, err := c.Authenticate(context.Background(), "nope", nil); reason(err) != apierrors.ReasonUnauthorized {
			t.Fatalf("wrong token: %v", err)
		}
	}
	if n := a.rpcCalls.Load(); n != 4 {
		t.Fatalf("authn asked %d times, want 4", n)
	}
}

func TestTokenFileReloadInvalidatesCache(t *testing.T) {
	a := startAuthn(t, "tok-alice,alice,1\ntok-bob,bob,2\n")
	c := a.cachedClient(t)
	if _, err := c.Authenticate(context.Background(), "tok-alice", nil); err != nil {
		t.Fatal(err)
	}
	// alice's token is removed from the file: the cached answer must go
	// with the reload, well before the 10 s TTL.
	if err := os.WriteFile(a.tokens, []byte("tok-bob,bob,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(a.tokens, later, later); err != nil {
		t.Fatal(err)
	}
	d := testwait.Until(t, 5*time.Second, "alice's cached answer to be dropped", func() bool {
		_, err := c.Authenticate(context.Background(), "tok-alice", nil)
		return reason(err) == apierrors.ReasonUnauthorized
	})
	t.Logf("removed token refused %v after the file changed (poll interval 10ms)", d)
	if u, err := c.Authenticate(context.Background(), "tok-bob", nil); err != nil || u.GetUsername() != "bob" {
		t.Fatalf("bob after reload: %v, %v", u, err)
	}
}

func TestServiceAccountInvalidation(t *testing.T) {
	a := startAuthn(t, "tok-alice,alice,1\ntok-bob,bob,2\n")
	c := a.cachedClient(t)
	for _, tok := range []string{"tok-alice", "tok-bob"} {
		if _, err := c.Authenticate(context.Background(), tok, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := a.rpcCalls.Load()
	a.svc.InvalidateUsers("alice")
	testwait.Until(t, 5*time.Second, "alice to be asked again", func() bool {
		_, _ = c.Authenticate(context.Background(), "tok-alice", nil)
		return a.rpcCalls.Load() > before
	})
	n := a.rpcCalls.Load()
	if _, err := c.Authenticate(context.Background(), "tok-bob", nil); err != nil || a.rpcCalls.Load() != n {
		t.Fatalf("bob's answer should still be cached (err %v)", err)
	}
}

func TestAuthnDownIs503AndCacheOff(t *testing.T) {
	a := startAuthn(t, "tok-alice,alice,1\n")
	c := a.cachedClient(t)
	if _, err := c.Authenticate(context.Background(), "tok-alice", nil); err != nil {
		t.Fatal(err)
	}
	a.stop()
	// The stream broke: the cache is off, so even a token answered a
	// moment ago is not let through on a stale answer.
	testwait.Until(t, 5*time.Second, "the cache to go off", func() bool { return !c.CacheLive() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Authenticate(ctx, "tok-alice", nil)
	if reason(err) != apierrors.ReasonServiceUnavailable {
		t.Fatalf("authn down: %v, want ServiceUnavailable", err)
	}
	if st, code := apierrors.ToStatus(err); code != 503 || st.GetReason() != "ServiceUnavailable" {
		t.Fatalf("status %d %v", code, st)
	}
}

func TestUnreachableAddressIs503(t *testing.T) {
	a := startAuthn(t, "tok,alice,1\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there any more
	for name, c := range map[string]*authnclient.Client{
		"uncached": authnclient.New(a.dial(t, dead)),
		"cached":   mustCached(t, a.dial(t, dead)),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err := c.Authenticate(ctx, "tok", nil)
			if reason(err) != apierrors.ReasonServiceUnavailable {
				t.Fatalf("err = %v, want 503", err)
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("took %v: an unreachable authn must fail fast", time.Since(start))
			}
			_, err = c.CreateSelfSubjectReview(ctx, &authnv1.UserInfo{Username: "alice"}, &authnv1.SelfSubjectReview{})
			if reason(err) != apierrors.ReasonServiceUnavailable {
				t.Fatalf("review: err = %v, want 503", err)
			}
		})
	}
}

func mustCached(t *testing.T, conn *grpc.ClientConn) *authnclient.Client {
	c, err := authnclient.NewCached(conn, authnclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCertificateCached(t *testing.T) {
	a := startAuthn(t, "tok,alice,1\n")
	ca, err := pki.LoadCA(a.layout.ClientCACert(), a.layout.ClientCAKey())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: "carol", Organizations: []string{"ops"}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	c := a.cachedClient(t)
	for range 3 {
		u, err := c.Authenticate(context.Background(), "", []*x509.Certificate{leaf})
		if err != nil || u.GetUsername() != "carol" {
			t.Fatalf("cert: %v %v", u, err)
		}
	}
	if n := a.rpcCalls.Load(); n != 1 {
		t.Fatalf("authn asked %d times", n)
	}
}

// benchmarkAuthenticate measures one Authenticate as the gateway makes it,
// against a real authn over loopback mutual TLS.
func benchmarkAuthenticate(b *testing.B, cached bool) {
	a := startAuthn(b, func() string {
		s := ""
		for i := range 1000 {
			s += fmt.Sprintf("token-%04d,user-%d,%d,group-a\n", i, i, i)
		}
		return s
	}())
	var c *authnclient.Client
	if cached {
		c = a.cachedClient(b)
	} else {
		c = authnclient.New(a.dial(b, a.srv.Addr().String()))
	}
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, "token-0042", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authenticate(ctx, "token-0042", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAuthenticateCached(b *testing.B)   { benchmarkAuthenticate(b, true) }
func BenchmarkAuthenticateUncached(b *testing.B) { benchmarkAuthenticate(b, false) }
