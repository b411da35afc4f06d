// Package gateway serves the Kubernetes REST API on the two ports of
// "Configuring APIserver ports": the insecure port (plain HTTP on
// localhost, no authentication or authorization, every request made as
// system:unsecured in system:masters) and the secure port (HTTPS, client
// certificates requested, bearer tokens, callers authenticated by authn).
// REST is translated to gRPC calls on the api service by grpc-gateway;
// the gateway holds no business logic and forwards the authenticated user
// in metadata that only its own certificate may send.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/portico-dev/portico/gateway/flowcontrol"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/reqmeta"
	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/tlsconf"
	"github.com/portico-dev/portico/internal/tracing"
)

// Options configure the gateway's listeners.
type Options struct {
	// InsecureAddress is --insecure-bind-address:--insecure-port; empty disables the port.
	InsecureAddress string
	// SecureAddress is --bind-address:--secure-port; empty disables the port.
	SecureAddress string
	// ServingTLS is the secure port's TLS configuration (certificate,
	// minimum version, client certificates requested).
	ServingTLS *tls.Config
	// MaxBodyBytes bounds a request body (413 past it).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
	// MaxRequestsInFlight plus MaxMutatingRequestsInFlight are the seats
	// of priority and fairness: the requests served at once, watches
	// excluded, shared out by priority level (429 when a request waited
	// too long for one). The insecure port has as many of its own. Both 0
	// is no limit.
	MaxRequestsInFlight         int
	MaxMutatingRequestsInFlight int
	// MaxWatchesPerUser bounds one user's open watches (429 past it),
	// system:masters excepted; 0 is no limit.
	MaxWatchesPerUser int
	// RequestTimeout bounds a request other than a watch (504 after it);
	// 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RequestBodyTimeout bounds the read of a request body, from when
	// the request is given its seat (400 after it), so that a client
	// sending slowly holds a seat that long at most; 0 means a sixth of
	// RequestTimeout.
	RequestBodyTimeout time.Duration
	// Profiling serves Go's runtime profiles under /debug/pprof/ on the
	// insecure port (--profiling); never on the secure port.
	Profiling bool
}

// Default limits, as kube-apiserver has them.
const (
	DefaultMaxBodyBytes   = 3 << 20
	DefaultMaxHeaderBytes = 1 << 20
)

// Validate reports unusable options.
func (o *Options) Validate() error {
	var errs []error
	if o.InsecureAddress == "" && o.SecureAddress == "" {
		errs = append(errs, errors.New("gateway: both ports are disabled"))
	}
	if o.SecureAddress != "" && o.ServingTLS == nil {
		errs = append(errs, errors.New("gateway: the secure port needs a serving certificate"))
	}
	if o.ServingTLS != nil && o.ServingTLS.MinVersion < tls.VersionTLS12 {
		errs = append(errs, errors.New("gateway: TLS 1.2 is the minimum"))
	}
	if o.ServingTLS != nil && tlsconf.HTTP2CipherSuiteMissing(o.ServingTLS.CipherSuites, o.ServingTLS.MinVersion) {
		errs = append(errs, errors.New("gateway: --tls-cipher-suites must include TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (HTTP/2 requires one of them over TLS 1.2)"))
	}
	for _, f := range []struct {
		flag string
		v    int
	}{
		{"--max-requests-inflight", o.MaxRequestsInFlight},
		{"--max-mutating-requests-inflight", o.MaxMutatingRequestsInFlight},
		{"--max-watches-per-user", o.MaxWatchesPerUser},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("gateway: %s %d is negative (0 is no limit)", f.flag, f.v))
		}
	}
	if o.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("gateway: --request-timeout %s is negative", o.RequestTimeout))
	}
	if o.RequestBodyTimeout < 0 {
		errs = append(errs, fmt.Errorf("gateway: --request-body-timeout %s is negative", o.RequestBodyTimeout))
	}
	return errors.Join(errs...)
}

// Deps are the gateway's connections to the services.
type Deps struct {
	// API is the connection to the api service, made with the gateway's
	// own service certificate.
	API grpc.ClientConnInterface
	// Authn authenticates secure-port callers.
	Authn *authnclient.Client
	// Authz decides the secure port's non-resource requests and answers
	// the access reviews; required with a secure port.
	Authz  *authzclient.Client
	Logger *slog.Logger
	// ReadyChecks are the backends /readyz and /healthz check (the api,
	// authn, etcd through the api).
	ReadyChecks []HealthCheck
	// Audit receives the audit log, one JSON line per request; nil
	// writes none.
	Audit io.Writer
	// Tracing is the gateway's tracing: a server span per request on
	// either port, child of the request's W3C traceparent, whose context
	// the calls to the services carry on. nil is tracing off.
	Tracing *tracing.Service
}

// Gateway is the REST front end.
type Gateway struct {
	opts    Options
	deps    Deps
	log     *slog.Logger
	json    runtime.Marshaler
	handler http.Handler  // the REST routes, shared by both ports
	core    []apiResource // /api/v1
	groups  []tableGroup  // /apis
	openapi *openAPIDocs  // /openapi/v3

	metrics        *metrics
	metricsHandler http.Handler // /metrics for callers allowed to read it
	audit          *auditLog
	// Priority and fairness, one budget per port.
	secureFlow, insecureFlow *flowcontrol.Controller
	shuttingDown             atomic.Bool // fails /readyz once Shutdown begins
	// stopping ends every watch when Shutdown begins.
	stopping context.Context
	stop     context.CancelFunc

	healthMu      sync.Mutex
	healthFailing map[string]bool // checks failing at their last run

	mu      sync.Mutex
	servers []*http.Server
}

// New builds the gateway; call Serve to listen.
func New(ctx context.Context, o Options, d Deps) (*Gateway, error) {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.RequestBodyTimeout == 0 {
		o.RequestBodyTimeout = o.RequestTimeout / 6
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if d.API == nil || d.Authn == nil || d.Logger == nil {
		return nil, errors.New("gateway: api connection, authn client and logger are required")
	}
	if o.SecureAddress != "" && d.Authz == nil {
		return nil, errors.New("gateway: the secure port needs an authz client")
	}
	m, err := newMetrics()
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: o, deps: d, log: d.Logger.With("service", "gateway"), metrics: m, healthFailing: map[string]bool{}}
	if g.secureFlow, err = newFlowControl(o, m, flowcontrol.DefaultConfig); err != nil {
		return nil, err
	}
	if g.insecureFlow, err = newFlowControl(o, m, flowcontrol.InsecureConfig); err != nil {
		return nil, err
	}
	g.stopping, g.stop = context.WithCancel(context.Background())
	g.deps.API = statusFirst{ClientConnInterface: g.deps.API, stopping: g.stopping}
	g.core, g.groups = discoveryFromTable(resources.All())
	docs, err := buildOpenAPI(resources.All())
	if err != nil {
		return nil, err
	}
	g.openapi = docs
	if err := m.registry.Register(newBackendCollector(g.healthzChecks)); err != nil {
		return nil, err
	}
	g.metricsHandler = promhttp.HandlerFor(g.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelError),
	})
	g.audit = &auditLog{w: d.Audit, log: g.log}
	jsonM, protoM := newMarshalers(o.MaxBodyBytes)
	g.json = jsonM
	muxOpts := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonM),
		runtime.WithMarshalerOption("application/json", jsonM),
		runtime.WithMarshalerOption(mediaProtobuf, protoM),
		runtime.WithMarshalerOption(mediaPartialProtobuf, partialProtobuf{jsonM}),
		// Nothing a client sends becomes metadata: identity is set by
		// WithMetadata from what this gateway authenticated.
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingTrailerMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithMetadata(forwardUser),
		// The User-Agent names the field manager of a write without one.
		runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD { return reqmeta.WithUserAgent(r.UserAgent()) }),
		// The verb is the HTTP method: no X-HTTP-Method-Override (a form
		// POST that deletes, audited as a create) and no form POST served
		// as a GET.
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithErrorHandler(g.errorHandler),
		runtime.WithRoutingErrorHandler(g.routingErrorHandler),
		runtime.WithForwardResponseOption(g.forwardResponse),
		runtime.WithForwardResponseRewriter(rewriter(jsonM.Types(), newTabler(jsonM), partialer{jsonM})),
	}
	for _, mt := range patchMediaTypes {
		muxOpts = append(muxOpts, runtime.WithMarshalerOption(mt, patchMarshaler{jsonM, o.MaxBodyBytes}))
	}
	mux, err := registerResources(ctx, muxOpts, g.deps.API)
	if err != nil {
		return nil, err
	}
	g.handler = g.routes(mux)
	return g, nil
}

// Listeners are the gateway's bound ports.
type Listeners struct {
	Insecure, Secure net.Listener
}

// Listen binds the configured ports.
func (g *Gateway) Listen() (Listeners, error) {
	var l Listeners
	var err error
	if g.opts.InsecureAddress != "" {
		if l.Insecure, err = net.Listen("tcp", g.opts.InsecureAddress); err != nil {
			return l, fmt.Errorf("insecure port: %w", err)
		}
	}
	if g.opts.SecureAddress != "" {
		if l.Secure, err = net.Listen("tcp", g.opts.SecureAddress); err != nil {
			if l.Insecure != nil {
				l.Insecure.Close()
			}
			return l, fmt.Errorf("secure port: %w", err)
		}
	}
	return l, nil
}

// Serve serves both ports until Shutdown; it returns the first error.
func (g *Gateway) Serve(l Listeners) error {
	errc := make(chan error, 2)
	n := 0
	if l.Insecure != nil {
		srv := g.newServer(g.traced(g.insecureHandler()))
		g.track(srv)
		g.log.Info("insecure port listening: no authentication or authorization, protected only by host access", "address", l.Insecure.Addr().String())
		n++
		go func() { errc <- srv.Serve(l.Insecure) }()
	}
	if l.Secure != nil {
		srv := g.newServer(g.traced(g.secureHandler()))
		srv.TLSConfig = g.opts.ServingTLS.Clone()
		g.track(srv)
		g.log.Info("secure port listening", "address", l.Secure.Addr().String())
		n++
		// ServeTLS offers HTTP/2 and HTTP/1.1 by ALPN.
		go func() { errc <- srv.ServeTLS(l.Secure, "", "") }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
		}
	}
	return first
}

func (g *Gateway) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    g.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
}

func (g *Gateway) track(s *http.Server) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.servers = append(g.servers, s)
}

// Shutdown stops accepting, lets running requests finish until ctx ends,
// then closes what is left (watches).
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.shuttingDown.Store(true)
	g.stop()
	g.mu.Lock()
	servers := append([]*http.Server(nil), g.servers...)
	g.mu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			s.Close()
		}
	}
	return errors.Join(errs...)
}
