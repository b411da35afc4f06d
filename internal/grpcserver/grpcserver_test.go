package grpcserver

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/tlsconf"
)

// testServer starts a server on a free port with the dev PKI of dir and
// returns a client connection made with the api's certificate; register
// adds services before it serves.
func testServer(t *testing.T, auth func(context.Context) (context.Context, error), register ...func(grpc.ServiceRegistrar)) (*Server, *grpc.ClientConn) {
	t.Helper()
	layout := pki.Layout{Dir: filepath.Join(t.TempDir(), "pki")}
	if _, err := layout.EnsureDev(); err != nil {
		t.Fatal(err)
	}
	serverTLS, err := tlsconf.Files{CertFile: layout.ServiceCert("api"), KeyFile: layout.ServiceKey("api"), CAFiles: []string{layout.CACert()}}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{
		Name: "test", Address: "127.0.0.1:0", TLS: serverTLS, Auth: auth,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range register {
		r(srv.Registrar())
	}
	go func() { _ = srv.Serve() }()
	clientTLS, err := tlsconf.Files{CertFile: layout.ServiceCert("gateway"), KeyFile: layout.ServiceKey("gateway"), CAFiles: []string{layout.CACert()}}.ClientConfig("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpcclient.Dial(srv.Addr().String(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return srv, conn
}

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		o       Options
		wantErr bool
	}{
		"empty":  {o: Options{}, wantErr: true},
		"no TLS": {o: Options{Name: "x", Address: ":0", Logger: slog.Default(), Auth: func(ctx context.Context) (context.Context, error) { return ctx, nil }}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.o.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestHealthExemptAndStopEndsStreams: health answers without
// authentication, and Stop ends an open stream (a health Watch, as a
// client's watch would stay open) at once instead of waiting for the
// drain's deadline, with Unavailable.
func TestHealthExemptAndStopEndsStreams(t *testing.T) {
	denyAll := func(context.Context) (context.Context, error) {
		return nil, status.Error(codes.PermissionDenied, "no")
	}
	srv, conn := testServer(t, denyAll)
	hc := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check: %v %v", resp, err)
	}
	watch, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer stopCancel()
	srv.Stop(stopCtx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Stop took %v with a stream open", took)
	}
	// Unavailable: the client is to go on with another replica.
	for {
		if _, err := watch.Recv(); err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended by Stop with %v, want Unavailable", err)
			}
			return
		}
	}
}
