package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	certutil "k8s.io/client-go/util/cert"

	"github.com/portico-dev/portico/internal/etcd"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/tlsconf"
)

// authzSyncTimeout bounds how long up waits for authorization to be able
// to decide before it opens the ports.
const authzSyncTimeout = time.Minute

// group runs servers and stops them in the reverse order of their start.
type group struct {
	mu    sync.Mutex
	stops []func(context.Context)
	errc  chan error
}

func newGroup() *group { return &group{errc: make(chan error, 16)} }

// serve runs fn in the background; its error ends the group.
func (g *group) serve(name string, fn func() error) {
	go func() {
		if err := fn(); err != nil {
			g.errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// onStop registers cleanup, run last-registered first.
func (g *group) onStop(fn func(context.Context)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stops = append(g.stops, fn)
}

func (g *group) closer(fns ...func() error) {
	g.onStop(func(context.Context) {
		for _, f := range fns {
			_ = f()
		}
	})
}

// wait blocks until ctx ends (a signal) or a server fails, then stops
// everything within the grace period.
func (g *group) wait(ctx context.Context, o *options, log *slog.Logger) error {
	var err error
	select {
	case <-ctx.Done():
		log.Info("signal received: draining")
	case err = <-g.errc:
		log.Error("a server failed: stopping", "error", err)
	}
	g.stop(o)
	return err
}

func (g *group) stop(o *options) {
	ctx, cancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer cancel()
	g.mu.Lock()
	stops := g.stops
	g.stops = nil
	g.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i](ctx)
	}
}

// runUp runs every service in this process: PKI, embedded etcd, authn,
// authz, api, gateway; then writes the admin kubeconfig.
func runUp(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer) (err error) {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	written, err := o.pki().EnsureDev()
	if err != nil {
		return fmt.Errorf("internal PKI: %w", err)
	}
	if len(written) > 0 {
		log.Info("internal PKI written", "dir", o.pki().Dir, "files", len(written))
	}
	if o.clientCAFile == "" {
		o.clientCAFile = o.pki().ClientCACert()
	}
	if o.serviceAccountSigningKeyFile == "" {
		path, made, err := ensureServiceAccountKey(o.pki())
		if err != nil {
			return err
		}
		if made {
			log.Info("development service-account signing key written", "file", path)
		}
		o.serviceAccountSigningKeyFile = path
	}
	e, err := newEnv(o, log)
	if err != nil {
		return err
	}
	g := newGroup()
	// Registered first, so run last: the spans of the whole stop go out.
	g.onStop(e.stopTracing)
	defer func() {
		if err != nil {
			g.stop(o)
		}
	}()
	renewCtx, stopRenewing := context.WithCancel(ctx)
	g.onStop(func(context.Context) { stopRenewing() })
	go renewServiceCerts(renewCtx, o.pki(), renewInterval(o.serviceCertValidity), log)
	etcdc, emb, err := startEtcd(ctx, e)
	if err != nil {
		return err
	}
	if emb != nil {
		g.onStop(func(context.Context) { _ = emb.Close() })
		go func() {
			if err, ok := <-emb.Err(); ok && err != nil {
				g.errc <- fmt.Errorf("etcd: %w", err)
			}
		}()
	}
	g.closer(etcdc.Close)
	compactExternalEtcd(g, o, etcdc, emb, log)
	var authzSrv grpcServer
	for _, start := range []func(*env) (grpcServer, error){wrap(startAuthn), wrap(startAuthz)} {
		srv, err := start(e)
		if err != nil {
			return err
		}
		g.serve("grpc", srv.Serve)
		g.onStop(srv.Stop)
		authzSrv = srv
	}
	apiSrv, closers, err := startAPI(ctx, e, etcdc)
	g.closer(closers...)
	if err != nil {
		return err
	}
	g.serve("api", apiSrv.Serve)
	g.onStop(apiSrv.Stop)
	// No request before authorization can decide it: the modes that read
	// the api (Node, RBAC) list their objects first, as kube-apiserver
	// waits for its informers.
	if s, ok := authzSrv.(*authzServer); ok {
		wctx, cancel := context.WithTimeout(ctx, authzSyncTimeout)
		synced := s.WaitSynced(wctx)
		cancel()
		if !synced {
			return fmt.Errorf("authorization modes %v did not load their objects within %v", o.authorizationModes, authzSyncTimeout)
		}
	}
	gw, lis, closers, err := startGateway(ctx, e)
	g.closer(closers...)
	if err != nil {
		return err
	}
	g.serve("gateway", func() error { return gw.Serve(lis) })
	g.onStop(func(ctx context.Context) { _ = gw.Shutdown(ctx) })
	if lis.Secure != nil {
		if err := adminCertTrusted(o); err != nil {
			// A kubeconfig the secure port answers with 401 would
			// only mislead: say what to do instead.
			log.Warn("no admin kubeconfig written", "reason", err)
			fmt.Fprintf(stdout, "Portico is up. No admin kubeconfig: %v.\n"+
				"  Make one from the CA that --client-ca-file trusts: portico kubeconfig --data-dir %s --client-ca-cert <ca.crt> --client-ca-key <ca.key> --out admin.kubeconfig\n",
				err, o.dataDir)
		} else {
			path, err := writeAdminKubeconfig(o, lis.Secure.Addr())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Portico is up. Admin kubeconfig: %s\n  export KUBECONFIG=%s\n", path, path)
		}
	}
	if lis.Insecure != nil {
		fmt.Fprintf(stdout, "Insecure port (no authentication): kubectl --server http://%s get namespaces\n", lis.Insecure.Addr())
	}
	return g.wait(ctx, o, log)
}

// compactExternalEtcd compacts an external etcd every
// --etcd-compaction-interval, as kube-apiserver does (once per interval
// across every api replica: etcd.Compactor). The embedded etcd compacts
// itself (etcd.DefaultCompactionRetention).
func compactExternalEtcd(g *group, o *options, c *clientv3.Client, emb *etcd.Embedded, log *slog.Logger) {
	if emb != nil || o.etcdCompactionInterval == 0 {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	g.onStop(func(context.Context) { stop() })
	go etcd.NewCompactor(c, log.With("service", "api")).Run(ctx, o.etcdCompactionInterval)
}

// grpcServer is what runUp needs of a gRPC server.
type grpcServer interface {
	Serve() error
	Stop(context.Context)
}

func wrap[S grpcServer](f func(*env) (S, error)) func(*env) (grpcServer, error) {
	return func(e *env) (grpcServer, error) { return f(e) }
}

// runOne runs a single service, for a multi-process deployment.
func runOne(ctx context.Context, name string, o *options, log *slog.Logger) (err error) {
	e, err := newEnv(o, log)
	if err != nil {
		return err
	}
	g := newGroup()
	// Registered first, so run last: the spans of the whole stop go out.
	g.onStop(e.stopTracing)
	defer func() {
		if err != nil {
			g.stop(o)
		}
	}()
	switch name {
	case "authn", "authz":
		start := wrap(startAuthn)
		if name == "authz" {
			start = wrap(startAuthz)
		}
		srv, err := start(e)
		if err != nil {
			return err
		}
		g.serve(name, srv.Serve)
		g.onStop(srv.Stop)
	case "api":
		etcdc, emb, err := startEtcd(ctx, e)
		if err != nil {
			return err
		}
		if emb != nil {
			g.onStop(func(context.Context) { _ = emb.Close() })
		}
		g.closer(etcdc.Close)
		compactExternalEtcd(g, o, etcdc, emb, log)
		srv, closers, err := startAPI(ctx, e, etcdc)
		g.closer(closers...)
		if err != nil {
			return err
		}
		g.serve(name, srv.Serve)
		g.onStop(srv.Stop)
	case "gateway":
		gw, lis, closers, err := startGateway(ctx, e)
		g.closer(closers...)
		if err != nil {
			return err
		}
		g.serve(name, func() error { return gw.Serve(lis) })
		g.onStop(func(ctx context.Context) { _ = gw.Shutdown(ctx) })
	default:
		return fmt.Errorf("unknown service %q", name)
	}
	return g.wait(ctx, o, log)
}

// runCerts makes the internal PKI under --data-dir/pki.
func runCerts(o *options, stdout io.Writer) error {
	written, err := o.pki().EnsureDev()
	if err != nil {
		return err
	}
	saKey, made, err := ensureServiceAccountKey(o.pki())
	if err != nil {
		return err
	}
	if made {
		written = append(written, saKey)
	}
	// Run again, it renews what is due (a third of the validity left).
	renewed, err := o.pki().RenewServices(time.Now())
	for _, name := range renewed {
		written = append(written, o.pki().ServiceKey(name), o.pki().ServiceCert(name))
	}
	for _, f := range written {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if err != nil {
		return err
	}
	if len(written) == 0 {
		fmt.Fprintln(stdout, "the PKI in", o.pki().Dir, "is complete and no service certificate is due: nothing written")
	}
	return nil
}

// adminCertTrusted fails when the secure port would refuse the admin
// client certificate: it is issued by the development client CA, and a
// --client-ca-file of another CA does not trust it.
func adminCertTrusted(o *options) error {
	roots, err := tlsconf.LoadPool(o.clientCAFile)
	if err != nil {
		return err
	}
	certs, err := certutil.CertsFromFile(o.pki().AdminCert())
	if err != nil {
		return fmt.Errorf("admin certificate: %w", err)
	}
	if _, err := pki.VerifyChain(certs, roots, x509.ExtKeyUsageClientAuth, time.Time{}); err != nil {
		return fmt.Errorf("the admin certificate (%s) is not trusted by --client-ca-file %s", o.pki().AdminCert(), o.clientCAFile)
	}
	return nil
}

// writeAdminKubeconfig writes <data-dir>/admin.kubeconfig: the secure
// port, its serving certificate as CA, and the admin client certificate
// (system:masters).
func writeAdminKubeconfig(o *options, secure net.Addr) (string, error) {
	host, port, err := net.SplitHostPort(secure.String())
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	server := "https://" + net.JoinHostPort(host, port)
	caFile := servingCertFile(o)
	layout := o.pki()
	var data [3][]byte
	for i, f := range []string{caFile, layout.AdminCert(), layout.AdminKey()} {
		if data[i], err = os.ReadFile(f); err != nil {
			return "", fmt.Errorf("admin kubeconfig: %w", err)
		}
	}
	kc := renderKubeconfig(server, data[0], data[1], data[2], "admin")
	path := filepath.Join(o.dataDir, "admin.kubeconfig")
	if err := pki.WriteFile(path, kc, 0o600); err != nil {
		return "", fmt.Errorf("admin kubeconfig: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, nil
	}
	return abs, nil
}
