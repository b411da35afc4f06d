package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/etcd"
	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/svcauth"
	"github.com/portico-dev/portico/internal/tlsconf"
	"github.com/portico-dev/portico/services/api"
	"github.com/portico-dev/portico/services/authn"
	"github.com/portico-dev/portico/services/authz"
)

// env is what every service is started from.
type env struct {
	o      *options
	log    *slog.Logger
	pki    pki.Layout
	verify *svcauth.Verifier
}

func newEnv(o *options, log *slog.Logger) (*env, error) {
	layout := o.pki()
	pool, err := tlsconf.LoadPool(layout.CACert())
	if err != nil {
		return nil, fmt.Errorf("internal CA (run `portico certs` or `portico up` first): %w", err)
	}
	return &env{o: o, log: log, pki: layout, verify: svcauth.NewVerifier(pool)}, nil
}

// serverTLS is a service's gRPC server config: its own certificate, and
// client certificates required from the internal CA or the client CA.
func (e *env) serverTLS(name string) (*tls.Config, error) {
	cas := []string{e.pki.CACert()}
	if e.o.clientCAFile != "" {
		cas = append(cas, e.o.clientCAFile)
	}
	return tlsconf.Files{CertFile: e.pki.ServiceCert(name), KeyFile: e.pki.ServiceKey(name), CAFiles: cas}.ServerConfig()
}

// dial connects service name to the service at address with its own
// certificate, trusting only the internal CA.
func (e *env) dial(name, address string) (*grpc.ClientConn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", address, err)
	}
	cfg, err := tlsconf.Files{CertFile: e.pki.ServiceCert(name), KeyFile: e.pki.ServiceKey(name), CAFiles: []string{e.pki.CACert()}}.ClientConfig(host)
	if err != nil {
		return nil, err
	}
	return grpcclient.Dial(address, cfg)
}

func (e *env) newServer(name, address string, auth func(context.Context) (context.Context, error), unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) (*grpcserver.Server, error) {
	cfg, err := e.serverTLS(name)
	if err != nil {
		return nil, err
	}
	return grpcserver.New(grpcserver.Options{
		Name: name, Address: address, TLS: cfg, Logger: e.log, Auth: auth, Unary: unary, Stream: stream,
	})
}

func startAuthn(e *env) (*grpcserver.Server, error) {
	svc, err := authn.New(authn.Options{
		TokenAuthFile: e.o.tokenAuthFile, ClientCAFile: e.o.clientCAFile, Anonymous: e.o.anonymousAuth,
	}, e.log.With("service", "authn"))
	if err != nil {
		return nil, err
	}
	// Authenticate is internal: only the gateway and the api ask it.
	srv, err := e.newServer("authn", e.o.grpcAuthnAddress, e.verify.RequireService("gateway", "api"), nil, nil)
	if err != nil {
		return nil, err
	}
	svc.Register(srv.Registrar())
	return srv, nil
}

func startAuthz(e *env) (*grpcserver.Server, error) {
	svc, err := authz.New(authz.Options{Modes: e.o.authorizationModes, PolicyFile: e.o.policyFile}, e.log.With("service", "authz"))
	if err != nil {
		return nil, err
	}
	srv, err := e.newServer("authz", e.o.grpcAuthzAddress, e.verify.RequireService("api"), nil, nil)
	if err != nil {
		return nil, err
	}
	svc.Register(srv.Registrar())
	return srv, nil
}

// startAPI starts the api service on an etcd client; closers are the
// connections to release at stop.
func startAPI(ctx context.Context, e *env, etcdc *clientv3.Client) (*grpcserver.Server, []func() error, error) {
	authnConn, err := e.dial("api", e.o.grpcAuthnAddress)
	if err != nil {
		return nil, nil, err
	}
	authzConn, err := e.dial("api", e.o.grpcAuthzAddress)
	if err != nil {
		authnConn.Close()
		return nil, nil, err
	}
	closers := []func() error{authnConn.Close, authzConn.Close}
	svc, err := api.New(api.Deps{
		Etcd: etcdc, Authn: authnclient.New(authnConn), Authz: authzclient.New(authzConn),
		Verifier: e.verify, Logger: e.log.With("service", "api"),
	})
	if err != nil {
		return nil, closers, err
	}
	initCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := svc.EnsureSystemNamespaces(initCtx); err != nil {
		return nil, closers, err
	}
	srv, err := e.newServer("api", e.o.grpcAPIAddress, svc.AuthFunc(),
		[]grpc.UnaryServerInterceptor{svc.UnaryAuthorizer()}, []grpc.StreamServerInterceptor{svc.StreamAuthorizer()})
	if err != nil {
		return nil, closers, err
	}
	if err := svc.Register(srv.Registrar()); err != nil {
		return nil, closers, err
	}
	return srv, closers, nil
}

// startEtcd returns a client for --etcd-servers, or starts the embedded
// etcd in <data-dir>/etcd (mutual TLS with the internal PKI) and returns a
// client for it.
func startEtcd(ctx context.Context, e *env) (*clientv3.Client, *etcd.Embedded, error) {
	if len(e.o.etcdServers) > 0 {
		c, err := etcd.NewClient(ctx, etcd.ClientOptions{
			Endpoints: e.o.etcdServers, CertFile: e.o.etcdCertFile, KeyFile: e.o.etcdKeyFile, CAFile: e.o.etcdCAFile,
		})
		return c, nil, err
	}
	emb, err := etcd.StartEmbedded(ctx, etcd.EmbeddedOptions{
		DataDir:        filepath.Join(e.o.dataDir, "etcd"),
		ServerCertFile: e.pki.ServiceCert("etcd"), ServerKeyFile: e.pki.ServiceKey("etcd"), ClientCAFile: e.pki.CACert(),
		Logger: e.log.With("service", "etcd"),
	})
	if err != nil {
		return nil, nil, err
	}
	c, err := etcd.NewClient(ctx, etcd.ClientOptions{
		Endpoints: emb.Endpoints(), CertFile: e.pki.ServiceCert("api"), KeyFile: e.pki.ServiceKey("api"), CAFile: e.pki.CACert(),
	})
	if err != nil {
		emb.Close()
		return nil, nil, err
	}
	return c, emb, nil
}

// servingTLS is the secure port's TLS: --tls-cert-file, or a self-signed
// pair in --cert-dir, reloaded when the files change.
func servingTLS(e *env, bindAddress string) (*tls.Config, string, error) {
	certFile, keyFile := e.o.tlsCertFile, e.o.tlsKeyFile
	if certFile == "" {
		dir := e.o.certDir
		if dir == "" {
			dir = filepath.Join(e.o.dataDir, "certs")
		}
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if h, err := os.Hostname(); err == nil && h != "" {
			hosts = append(hosts, h)
		}
		if bindAddress != "0.0.0.0" && bindAddress != "::" {
			hosts = append(hosts, bindAddress)
		}
		var err error
		if certFile, keyFile, err = pki.EnsureSelfSigned(dir, hosts); err != nil {
			return nil, "", err
		}
	}
	rl, err := tlsconf.NewReloader(certFile, keyFile, e.log)
	if err != nil {
		return nil, "", err
	}
	var clientCAs *x509.CertPool
	if e.o.clientCAFile != "" {
		p, err := tlsconf.LoadPool(e.o.clientCAFile)
		if err != nil {
			return nil, "", fmt.Errorf("--client-ca-file: %w", err)
		}
		clientCAs = p
	}
	return tlsconf.ServingConfig(rl, clientCAs), certFile, nil
}

func startGateway(ctx context.Context, e *env) (*gateway.Gateway, gateway.Listeners, []func() error, error) {
	var none gateway.Listeners
	apiConn, err := e.dial("gateway", e.o.grpcAPIAddress)
	if err != nil {
		return nil, none, nil, err
	}
	authnConn, err := e.dial("gateway", e.o.grpcAuthnAddress)
	if err != nil {
		apiConn.Close()
		return nil, none, nil, err
	}
	closers := []func() error{apiConn.Close, authnConn.Close}
	opts := gateway.Options{}
	if e.o.insecurePort != 0 {
		opts.InsecureAddress = net.JoinHostPort(e.o.insecureBindAddress, fmt.Sprint(e.o.insecurePort))
		if !net.ParseIP(e.o.insecureBindAddress).IsLoopback() {
			e.log.Warn("THE INSECURE PORT IS BOUND TO A NON-LOOPBACK ADDRESS: anyone who can reach it has full control of the cluster", "address", opts.InsecureAddress)
		}
	}
	if e.o.securePort != 0 {
		bind := e.o.bindAddress
		if bind == "" {
			bind = defaultBindAddress()
			e.log.Info("--bind-address not given: picked the first non-loopback interface", "address", bind)
		}
		opts.SecureAddress = net.JoinHostPort(bind, fmt.Sprint(e.o.securePort))
		if opts.ServingTLS, _, err = servingTLS(e, bind); err != nil {
			return nil, none, closers, err
		}
	}
	gw, err := gateway.New(ctx, opts, gateway.Deps{API: apiConn, Authn: authnclient.New(authnConn), Logger: e.log})
	if err != nil {
		return nil, none, closers, err
	}
	l, err := gw.Listen()
	if err != nil {
		return nil, none, closers, err
	}
	return gw, l, closers, nil
}
