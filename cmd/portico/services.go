package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/etcd"
	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/svcauth"
	"github.com/portico-dev/portico/internal/tlsconf"
	"github.com/portico-dev/portico/internal/tracing"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api"
	"github.com/portico-dev/portico/services/api/controllers"
	"github.com/portico-dev/portico/services/api/storage"
	"github.com/portico-dev/portico/services/api/storage/encryption"
	"github.com/portico-dev/portico/services/authn"
	"github.com/portico-dev/portico/services/authn/accounts"
	"github.com/portico-dev/portico/services/authz"
)

// env is what every service is started from.
type env struct {
	o      *options
	log    *slog.Logger
	pki    pki.Layout
	verify *svcauth.Verifier
	// encryption is --encryption-provider-config, nil when not given.
	encryption *encryption.Config
	// tracing is --tracing-config-file's, nil (tracing off: nothing
	// installed) when not given. Each service gets its own provider
	// (tracing.Service); the process stops it last, flushing.
	tracing *tracing.Tracing
}

func newEnv(o *options, log *slog.Logger) (*env, error) {
	layout := o.pki()
	pool, err := tlsconf.LoadPool(layout.CACert())
	if err != nil {
		return nil, fmt.Errorf("internal CA (run `portico certs` or `portico up` first): %w", err)
	}
	e := &env{o: o, log: log, pki: layout, verify: svcauth.NewVerifier(pool)}
	// Read before anything starts: a bad file stops the start at once.
	if o.encryptionProviderConfig != "" {
		if e.encryption, err = encryption.Load(o.encryptionProviderConfig); err != nil {
			return nil, fmt.Errorf("--encryption-provider-config: %w", err)
		}
	}
	if o.tracingConfigFile != "" {
		c, err := tracing.Load(o.tracingConfigFile)
		if err != nil {
			return nil, fmt.Errorf("--tracing-config-file: %w", err)
		}
		if e.tracing, err = tracing.New(context.Background(), tracing.Options{Config: c, Exporter: o.spanExporter, Logger: log.With("component", "tracing")}); err != nil {
			return nil, fmt.Errorf("--tracing-config-file: %w", err)
		}
		log.Info("tracing on: OTLP gRPC export", "endpoint", c.Endpoint, "sampling-rate-per-million", c.SamplingRatePerMillion)
	}
	return e, nil
}

// stopTracing flushes the spans of every service of the process, last of
// all at stop; a collector that does not answer holds it back at most
// tracingFlushTimeout.
func (e *env) stopTracing(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingFlushTimeout)
	defer cancel()
	if err := e.tracing.Shutdown(ctx); err != nil {
		e.log.Warn("tracing: spans not flushed at stop", "error", err)
	}
}

// tracingFlushTimeout bounds the last export at stop.
const tracingFlushTimeout = 5 * time.Second

// serverTLS is a service's gRPC server config: its own certificate, and
// client certificates required from the internal CA or the client CA.
func (e *env) serverTLS(name string) (*tls.Config, error) {
	cas := []string{e.pki.CACert()}
	if e.o.clientCAFile != "" {
		cas = append(cas, e.o.clientCAFile)
	}
	return tlsconf.Files{CertFile: e.pki.ServiceCert(name), KeyFile: e.pki.ServiceKey(name), CAFiles: cas}.ServerConfig()
}

// dial connects service from to the replicas of service to at target
// (--grpc-<to>-address: one host:port, a list, or dns:///) with from's
// own certificate, trusting only the internal CA and only servers whose
// certificate names to (the authz certificate cannot answer for the
// api), each verified for its own host. Calls go round-robin to the
// replicas that are healthy; those safe to repeat are retried on
// another replica after Unavailable (every authn and authz call, the
// api's reads and conditional writes), and the api's watches resume
// from their last resourceVersion.
func (e *env) dial(from, to, target string) (*grpc.ClientConn, error) {
	t, err := grpcclient.ParseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("--grpc-%s-address: %w", to, err)
	}
	return e.dialTarget(from, to, t)
}

func (e *env) dialTarget(from, to string, t grpcclient.Target) (*grpc.ClientConn, error) {
	cfg, err := tlsconf.Files{CertFile: e.pki.ServiceCert(from), KeyFile: e.pki.ServiceKey(from), CAFiles: []string{e.pki.CACert()}}.ServiceClientConfig("", to)
	if err != nil {
		return nil, err
	}
	o := grpcclient.Options{
		TLS: cfg, HealthService: healthServiceOf(from, to), Logger: e.log.With("service", from, "backend", to),
		StatsHandler: e.tracing.Service(from).ClientHandler(),
	}
	switch to {
	case "api":
		o.Retry, o.ResumeWatches = grpcclient.ResourceCalls, true
	case "authn", "authz":
		o.Retry = grpcclient.RetryAll
	}
	return grpcclient.DialTarget(t, o)
}

// healthServiceOf is the grpc.health.v1 service a replica of to must
// report SERVING to get from's calls. For the gateway, an authz replica
// only once its policy is loaded (the Node and RBAC modes have listed
// their objects), so a replica still starting gets no user's request.
// Not for the api: authz's own lists through the api are authorized by
// authz while it loads (Portico's services may read), and a loading
// replica's "still loading" Unavailable is retried on another anyway.
func healthServiceOf(from, to string) string {
	if from == "gateway" && to == "authz" {
		return authzPolicyHealthService
	}
	return ""
}

// replicas are one connection per replica address of target, for their
// health in the gateway's /readyz; none for a dns:/// target, whose
// addresses gRPC resolves. The closers release them.
func (e *env) replicas(from, to, target string) ([]gateway.Replica, []func() error, error) {
	t, err := grpcclient.ParseTarget(target)
	if err != nil {
		return nil, nil, err
	}
	var out []gateway.Replica
	var closers []func() error
	for _, a := range t.Addresses {
		conn, err := e.dialTarget(from, to, grpcclient.Target{Addresses: []string{a}})
		if err != nil {
			for _, c := range closers {
				_ = c()
			}
			return nil, nil, err
		}
		out = append(out, gateway.Replica{Address: a, Conn: conn})
		closers = append(closers, conn.Close)
	}
	return out, closers, nil
}

func (e *env) newServer(name, address string, auth func(context.Context) (context.Context, error), unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) (*grpcserver.Server, error) {
	cfg, err := e.serverTLS(name)
	if err != nil {
		return nil, err
	}
	return grpcserver.New(grpcserver.Options{
		Name: name, Address: address, TLS: cfg, Logger: e.log, Auth: auth, Unary: unary, Stream: stream,
		StatsHandler:     e.tracing.Service(name).ServerHandler(),
		MaxConnectionAge: connectionAge(e.o.serviceCertValidity),
	})
}

// authnServer is the authn gRPC server with its background work (the
// token file's polling, the service-account index), stopped together.
type authnServer struct {
	*grpcserver.Server
	cancel  context.CancelFunc
	closers []func() error
}

// Stop stops the background work, then drains the server.
func (s *authnServer) Stop(ctx context.Context) {
	s.cancel()
	s.Server.Stop(ctx)
	for _, c := range s.closers {
		_ = c()
	}
}

func startAuthn(e *env) (_ *authnServer, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	var closers []func() error
	defer func() {
		if err != nil {
			cancel()
			for _, c := range closers {
				_ = c()
			}
		}
	}()
	log := e.log.With("service", "authn")
	// TokenReview asks authz whether the caller may review tokens.
	authzConn, err := e.dial("authn", "authz", e.o.grpcAuthzAddress)
	if err != nil {
		return nil, err
	}
	closers = append(closers, authzConn.Close)
	deps := authn.Deps{Logger: log, Authz: authzclient.New(authzConn)}
	var (
		svc   *authn.Service
		index *accounts.Index
	)
	if e.o.serviceAccountSigningKeyFile != "" || len(e.o.serviceAccountKeyFiles) > 0 {
		// Service accounts are read through the api, as authn itself.
		apiConn, err := e.dial("authn", "api", e.o.grpcAPIAddress)
		if err != nil {
			return nil, err
		}
		closers = append(closers, apiConn.Close)
		// The objects tokens are bound to are followed the same way.
		index = accounts.New(accounts.Clients{
			ServiceAccounts: corev1.NewServiceAccountServiceClient(apiConn),
			Pods:            corev1.NewPodServiceClient(apiConn),
			Secrets:         corev1.NewSecretServiceClient(apiConn),
			Nodes:           corev1.NewNodeServiceClient(apiConn),
		}, log, func(all bool, users ...string) {
			if all {
				svc.InvalidateAll()
				return
			}
			svc.InvalidateUsers(users...)
		})
		deps.Accounts = index
	}
	svc, err = authn.New(authn.Options{
		TokenAuthFile: e.o.tokenAuthFile, ClientCAFile: e.o.clientCAFile, Anonymous: e.o.anonymousAuth,
		ServiceAccountSigningKeyFile: e.o.serviceAccountSigningKeyFile, ServiceAccountKeyFiles: e.o.serviceAccountKeyFiles,
		ServiceAccountIssuer: e.o.serviceAccountIssuer, APIAudiences: e.o.apiAudiences,
		ServiceAccountMaxTokenExpiration: e.o.serviceAccountMaxTokenExpiration,
	}, deps)
	if err != nil {
		return nil, err
	}
	// Authenticate and the token RPCs are internal; the reviews are public
	// (svc.AuthFunc tells them apart).
	srv, err := e.newServer("authn", e.o.grpcAuthnAddress, svc.AuthFunc(e.verify), nil, nil)
	if err != nil {
		return nil, err
	}
	svc.Register(srv.Registrar())
	go svc.Run(ctx)
	if index != nil {
		go index.Run(ctx)
	}
	return &authnServer{Server: srv, cancel: cancel, closers: closers}, nil
}

// cachedAuthn is an authn client that caches answers while its
// invalidation stream is open; stop ends the stream.
func cachedAuthn(conn *grpc.ClientConn, log *slog.Logger) (*authnclient.Client, func() error, error) {
	c, err := authnclient.NewCached(conn, authnclient.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	return c, func() error { cancel(); return nil }, nil
}

// authzServer is the authz gRPC server with its background work (the
// policy file's polling, the informers of Node and RBAC), stopped
// together.
type authzServer struct {
	*grpcserver.Server
	cancel  context.CancelFunc
	closers []func() error
	// WaitSynced reports when the modes that read the api (Node, RBAC)
	// have listed their objects, false if ctx ends first.
	WaitSynced func(ctx context.Context) bool
}

// Stop stops the background work, then drains the server.
func (s *authzServer) Stop(ctx context.Context) {
	s.cancel()
	s.Server.Stop(ctx)
	for _, c := range s.closers {
		_ = c()
	}
}

// authzPolicyHealthService is the grpc.health.v1 service name under which
// authz reports whether its policy is loaded (the informers of Node and
// RBAC have listed once).
const authzPolicyHealthService = "policy"

// cachedAuthz is an authz client that caches decisions while its policy
// stream is open; stop ends the stream.
func cachedAuthz(conn *grpc.ClientConn, log *slog.Logger) (*authzclient.Client, func() error, error) {
	c, err := authzclient.NewCached(conn, authzclient.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	return c, func() error { cancel(); return nil }, nil
}

func startAuthz(e *env) (_ *authzServer, err error) {
	var closers []func() error
	defer func() {
		if err != nil {
			for _, c := range closers {
				_ = c()
			}
		}
	}()
	log := e.log.With("service", "authz")
	// Node and RBAC read pods and RBAC objects through the api, as authz
	// itself; reviews sent with their own credentials are authenticated
	// by authn.
	apiConn, err := e.dial("authz", "api", e.o.grpcAPIAddress)
	if err != nil {
		return nil, err
	}
	closers = append(closers, apiConn.Close)
	authnConn, err := e.dial("authz", "authn", e.o.grpcAuthnAddress)
	if err != nil {
		return nil, err
	}
	closers = append(closers, authnConn.Close)
	svc, err := authz.New(authz.Options{Modes: e.o.authorizationModes, PolicyFile: e.o.policyFile},
		authz.Deps{API: apiConn, Authn: authnclient.New(authnConn), Logger: log})
	if err != nil {
		return nil, err
	}
	// Authorize is internal (api, gateway, authn); the reviews are public
	// (svc.AuthFunc tells them apart) and authorized like a create.
	srv, err := e.newServer("authz", e.o.grpcAuthzAddress, svc.AuthFunc(e.verify), []grpc.UnaryServerInterceptor{svc.UnaryAuthorizer()}, nil)
	if err != nil {
		return nil, err
	}
	svc.Register(srv.Registrar())
	ctx, cancel := context.WithCancel(context.Background())
	go svc.Run(ctx)
	// The gateway's /readyz waits until the modes that read from the api
	// (Node, RBAC) have listed their objects.
	srv.SetServingStatus(authzPolicyHealthService, false)
	go func() {
		if svc.WaitSynced(ctx) {
			srv.SetServingStatus(authzPolicyHealthService, true)
		}
	}()
	return &authzServer{Server: srv, cancel: cancel, closers: closers, WaitSynced: svc.WaitSynced}, nil
}

// startAPI starts the api service on an etcd client; closers are the
// connections to release at stop.
func startAPI(ctx context.Context, e *env, etcdc *clientv3.Client) (*grpcserver.Server, []func() error, error) {
	authnConn, err := e.dial("api", "authn", e.o.grpcAuthnAddress)
	if err != nil {
		return nil, nil, err
	}
	authzConn, err := e.dial("api", "authz", e.o.grpcAuthzAddress)
	if err != nil {
		authnConn.Close()
		return nil, nil, err
	}
	closers := []func() error{authnConn.Close, authzConn.Close}
	authnc, stopAuthn, err := cachedAuthn(authnConn, e.log.With("service", "api"))
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, stopAuthn)
	authzc, stopAuthz, err := cachedAuthz(authzConn, e.log.With("service", "api"))
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, stopAuthz)
	log := e.log.With("service", "api")
	deps := api.Deps{
		Etcd: etcdc, Authn: authnc, Authz: authzc,
		Verifier: e.verify, Logger: log,
		JSON:    kjson.New(kjson.WithTypes(kjson.KubernetesTypes())),
		Options: api.Options{WatchBookmarkInterval: e.o.watchBookmarkInterval},
	}
	if e.encryption != nil {
		deps.Encryption = e.encryption
		logEncryption(log, e.encryption)
	}
	if e.o.watchCache {
		deps.WatchCache = &storage.CacheOptions{WindowSize: e.o.watchCacheSize}
	}
	svc, err := api.New(deps)
	if err != nil {
		return nil, closers, err
	}
	closers = append(closers, func() error { svc.Close(); return nil })
	initCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := svc.EnsureSystemNamespaces(initCtx); err != nil {
		return nil, closers, err
	}
	if err := svc.EnsureRBACBootstrap(initCtx); err != nil {
		return nil, closers, err
	}
	if err := svc.EnsureDefaultServiceAccounts(initCtx); err != nil {
		return nil, closers, err
	}
	if err := svc.EnsureSystemPriorityClasses(initCtx); err != nil {
		return nil, closers, err
	}
	if e.o.clientCAFile != "" {
		ca, err := os.ReadFile(e.o.clientCAFile)
		if err != nil {
			return nil, closers, fmt.Errorf("--client-ca-file: %w", err)
		}
		if err := svc.EnsureAuthenticationConfigMap(initCtx, ca); err != nil {
			return nil, closers, err
		}
	}
	srv, err := e.newServer("api", e.o.grpcAPIAddress, svc.AuthFunc(),
		[]grpc.UnaryServerInterceptor{svc.UnaryAuthorizer()}, []grpc.StreamServerInterceptor{svc.StreamAuthorizer()})
	if err != nil {
		return nil, closers, err
	}
	if err := svc.Register(srv.Registrar()); err != nil {
		return nil, closers, err
	}
	probeCtx, stopProbe := context.WithCancel(context.Background())
	closers = append(closers, func() error { stopProbe(); return nil })
	reportEtcdHealth(probeCtx, etcdc, srv, log)
	if e.o.encryptionRewriteStale {
		go rewriteStale(probeCtx, svc, log)
	}
	enabled, err := controllers.Parse(e.o.builtinControllers)
	if err != nil {
		return nil, closers, err
	}
	ctlCtx, stopControllers := context.WithCancel(context.Background())
	ctlDone := make(chan struct{})
	go func() {
		defer close(ctlDone)
		if err := svc.RunControllers(ctlCtx, enabled); err != nil {
			log.Error("built-in controllers did not start", "error", err)
		}
	}()
	closers = append(closers, func() error { stopControllers(); <-ctlDone; return nil })
	return srv, closers, nil
}

// logEncryption says which served resources are encrypted at rest and
// with which provider and key they are written (names, never keys).
func logEncryption(log *slog.Logger, c *encryption.Config) {
	for _, row := range resources.All() {
		if w := c.Writer(row.Group, row.Resource); w != "" {
			name := row.Resource
			if row.Group != "" {
				name += "." + row.Group
			}
			log.Info("encryption at rest", "resource", name, "writes-with", w)
		}
	}
}

// rewriteStale runs the rotation rewrite (--encryption-rewrite-stale) in
// the background while the api serves: every write is a compare-and-swap,
// so it races no one.
func rewriteStale(ctx context.Context, svc *api.Service, log *slog.Logger) {
	start := time.Now()
	counts, err := svc.RewriteStale(ctx)
	total := 0
	for _, n := range counts {
		total += n
	}
	if err != nil {
		log.Error("encryption rewrite failed", "error", err, "rewritten", total)
		return
	}
	log.Info("encryption rewrite finished", "rewritten", total, "duration", time.Since(start).Round(time.Millisecond))
}

// etcdHealthService is the grpc.health.v1 service name under which the
// api reports whether etcd answers; the gateway's /readyz checks it.
const etcdHealthService = "etcd"

// etcdProbeInterval is how often the api probes etcd for its health.
const etcdProbeInterval = time.Second

// reportEtcdHealth probes etcd now and then every etcdProbeInterval until
// ctx ends, reporting the result as srv's etcdHealthService health and
// logging each change.
func reportEtcdHealth(ctx context.Context, c *clientv3.Client, srv *grpcserver.Server, log *slog.Logger) {
	healthy := true
	probe := func() {
		pctx, cancel := context.WithTimeout(ctx, etcdProbeInterval)
		defer cancel()
		err := etcd.Healthy(pctx, c)
		if ctx.Err() != nil {
			return
		}
		srv.SetServingStatus(etcdHealthService, err == nil)
		switch {
		case err != nil && healthy:
			log.Warn("etcd does not answer", "error", err)
		case err == nil && !healthy:
			log.Info("etcd answers again")
		}
		healthy = err == nil
	}
	probe()
	go func() {
		t := time.NewTicker(etcdProbeInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				probe()
			}
		}
	}()
}

// startEtcd returns a client for --etcd-servers, or starts the embedded
// etcd in <data-dir>/etcd (mutual TLS with the internal PKI) and returns a
// client for it. The embedded etcd accepts the api's certificate only:
// the other services' certificates come from the same CA, but they never
// need etcd (the gateway's /readyz asks the api), so they get no access.
func startEtcd(ctx context.Context, e *env) (*clientv3.Client, *etcd.Embedded, error) {
	if len(e.o.etcdServers) > 0 {
		c, err := etcd.NewClient(ctx, etcd.ClientOptions{
			Endpoints: e.o.etcdServers, CertFile: e.o.etcdCertFile, KeyFile: e.o.etcdKeyFile, CAFile: e.o.etcdCAFile,
			DialOptions: e.tracing.Service("api").DialOptions(),
		})
		return c, nil, err
	}
	emb, err := etcd.StartEmbedded(ctx, etcd.EmbeddedOptions{
		DataDir:        filepath.Join(e.o.dataDir, "etcd"),
		ServerCertFile: e.pki.ServiceCert("etcd"), ServerKeyFile: e.pki.ServiceKey("etcd"), ClientCAFile: e.pki.CACert(),
		AllowedClientCNs: []string{pki.ServiceCNPrefix + "api"},
		Logger:           e.log.With("service", "etcd"),
	})
	if err != nil {
		return nil, nil, err
	}
	c, err := etcd.NewClient(ctx, etcd.ClientOptions{
		Endpoints: emb.Endpoints(), CertFile: e.pki.ServiceCert("api"), KeyFile: e.pki.ServiceKey("api"), CAFile: e.pki.CACert(),
		DialOptions: e.tracing.Service("api").DialOptions(),
	})
	if err != nil {
		emb.Close()
		return nil, nil, err
	}
	e.log.Info("embedded etcd serving (mutual TLS, internal CA, api certificate only)", "service", "etcd", "endpoints", strings.Join(emb.Endpoints(), ","))
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
	cfg := tlsconf.ServingConfig(rl, clientCAs)
	// Validated with the flags.
	if cfg.MinVersion, err = tlsconf.ParseMinVersion(e.o.tlsMinVersion); err != nil {
		return nil, "", fmt.Errorf("--tls-min-version: %w", err)
	}
	if cfg.CipherSuites, err = tlsconf.ParseCipherSuites(e.o.tlsCipherSuites); err != nil {
		return nil, "", fmt.Errorf("--tls-cipher-suites: %w", err)
	}
	return cfg, certFile, nil
}

func startGateway(ctx context.Context, e *env) (*gateway.Gateway, gateway.Listeners, []func() error, error) {
	var none gateway.Listeners
	apiConn, err := e.dial("gateway", "api", e.o.grpcAPIAddress)
	if err != nil {
		return nil, none, nil, err
	}
	authnConn, err := e.dial("gateway", "authn", e.o.grpcAuthnAddress)
	if err != nil {
		apiConn.Close()
		return nil, none, nil, err
	}
	// The gateway authorizes non-resource paths itself, and forwards reviews.
	authzConn, err := e.dial("gateway", "authz", e.o.grpcAuthzAddress)
	if err != nil {
		apiConn.Close()
		authnConn.Close()
		return nil, none, nil, err
	}
	closers := []func() error{apiConn.Close, authnConn.Close, authzConn.Close}
	opts := gateway.Options{
		MaxRequestsInFlight: e.o.maxRequestsInflight, MaxMutatingRequestsInFlight: e.o.maxMutatingRequestsInflight,
		MaxWatchesPerUser: e.o.maxWatchesPerUser,
		RequestTimeout:    e.o.requestTimeout, RequestBodyTimeout: e.o.requestBodyTimeout,
		Profiling: e.o.profiling,
	}
	if e.o.insecurePort != 0 {
		opts.InsecureAddress = net.JoinHostPort(e.o.insecureBindAddress, fmt.Sprint(e.o.insecurePort))
		if !net.ParseIP(e.o.insecureBindAddress).IsLoopback() {
			e.log.Warn("WARNING: THE INSECURE PORT IS BOUND TO A NON-LOOPBACK ADDRESS (--insecure-allow-remote). It has no authentication and no authorization: "+
				"anyone who can reach it has full control of the cluster. It is protected only by host and network access.", "address", opts.InsecureAddress)
		}
	} else {
		e.log.Info("insecure port disabled (--insecure-port 0)")
	}
	if e.o.securePort != 0 {
		bind := e.o.bindAddress
		if bind == "" {
			var ifc string
			bind, ifc = defaultBindAddress(hostInterfaces())
			if ifc != "" {
				e.log.Info("--bind-address not given: picked the first non-loopback interface's address", "address", bind, "interface", ifc)
			} else {
				e.log.Info("--bind-address not given and no non-loopback interface has an IPv4 address: binding every interface", "address", bind)
			}
		}
		opts.SecureAddress = net.JoinHostPort(bind, fmt.Sprint(e.o.securePort))
		if opts.ServingTLS, _, err = servingTLS(e, bind); err != nil {
			return nil, none, closers, err
		}
	} else {
		e.log.Info("secure port disabled (--secure-port 0)")
	}
	audit, closeAudit, err := openAuditLog(e.o.auditLogPath)
	if err != nil {
		return nil, none, closers, err
	}
	closers = append(closers, closeAudit)
	authnc, stopAuthn, err := cachedAuthn(authnConn, e.log.With("service", "gateway"))
	if err != nil {
		return nil, none, closers, err
	}
	closers = append(closers, stopAuthn)
	authzc, stopAuthz, err := cachedAuthz(authzConn, e.log.With("service", "gateway"))
	if err != nil {
		return nil, none, closers, err
	}
	closers = append(closers, stopAuthz)
	// /readyz passes while one replica of each service answers; each
	// replica's own health is listed under its check.
	var checks []gateway.HealthCheck
	for _, b := range []struct {
		name, target string
		conn         *grpc.ClientConn
	}{{"api", e.o.grpcAPIAddress, apiConn}, {"authn", e.o.grpcAuthnAddress, authnConn}, {"authz", e.o.grpcAuthzAddress, authzConn}} {
		reps, cl, err := e.replicas("gateway", b.name, b.target)
		closers = append(closers, cl...)
		if err != nil {
			return nil, none, closers, err
		}
		checks = append(checks, gateway.GRPCReplicasCheck(b.name, b.conn, healthServiceOf("gateway", b.name), reps))
	}
	checks = append(checks, gateway.GRPCHealthCheck("etcd", apiConn, etcdHealthService))
	gw, err := gateway.New(ctx, opts, gateway.Deps{
		API: apiConn, Authn: authnc, Authz: authzc, Logger: e.log, Audit: audit,
		ReadyChecks: checks, Tracing: e.tracing.Service("gateway"),
	})
	if err != nil {
		return nil, none, closers, err
	}
	l, err := gw.Listen()
	if err != nil {
		return nil, none, closers, err
	}
	return gw, l, closers, nil
}

// openAuditLog opens --audit-log-path for appending ("-" is standard out,
// "" no audit log). The file is made private to its owner: it names users
// and what they did.
func openAuditLog(path string) (io.Writer, func() error, error) {
	switch path {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return os.Stdout, func() error { return nil }, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("--audit-log-path: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--audit-log-path: %w", err)
	}
	return f, f.Close, nil
}
