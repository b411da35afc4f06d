// Package grpcserver builds the gRPC server every Portico service runs: mutual
// TLS, health, reflection, and one interceptor chain (recovery → logging →
// authentication) whose order is the same everywhere.
package grpcserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/grpcclient"
)

// MaxMessageBytes bounds every message a server receives.
const MaxMessageBytes = 4 << 20

// Options configure a Server.
type Options struct {
	// Name is the service's name in logs and health (e.g. "api").
	Name string
	// Address is the host:port to listen on; port 0 picks a free one.
	Address string
	// TLS is the server's TLS configuration; it must require client certificates.
	TLS *tls.Config
	// Logger receives one line per finished call.
	Logger *slog.Logger
	// Auth authenticates every call except health and reflection. It returns
	// the context the handler runs with.
	Auth auth.AuthFunc
	// Extra interceptors run after authentication (e.g. authorization),
	// with the same exemptions.
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
	// StatsHandler, if set, sees every call before the interceptors
	// (tracing: a server span per call, child of the caller's
	// traceparent). nil installs none.
	StatsHandler stats.Handler
	// MaxConnectionAge, when positive, closes each connection (GOAWAY)
	// after about this long, with as long again for the calls in flight
	// (watches end then, and their clients resume them): clients
	// reconnect with the certificate they hold now. Service certificates
	// are short-lived and checked on every call, so a connection must
	// not outlive the certificate it was opened with. 0 keeps
	// connections open.
	MaxConnectionAge time.Duration
}

// Validate reports what is missing.
func (o *Options) Validate() error {
	var errs []error
	if o.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if o.Address == "" {
		errs = append(errs, fmt.Errorf("%s: listen address is required", o.Name))
	}
	if o.TLS == nil {
		errs = append(errs, fmt.Errorf("%s: TLS is required: every gRPC hop is mutual TLS", o.Name))
	} else if o.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		errs = append(errs, fmt.Errorf("%s: TLS must require and verify client certificates", o.Name))
	}
	if o.Auth == nil {
		errs = append(errs, fmt.Errorf("%s: an authentication function is required", o.Name))
	}
	if o.Logger == nil {
		errs = append(errs, fmt.Errorf("%s: logger is required", o.Name))
	}
	return errors.Join(errs...)
}

// Server is a listening gRPC server.
type Server struct {
	name   string
	grpc   *grpc.Server
	health *health.Server
	// stopping ends every stream (watches) when Stop begins, so a drain
	// waits for unary calls, not for clients that never hang up.
	stopping context.Context
	stop     context.CancelFunc
	lis      net.Listener
	log      *slog.Logger
}

// New listens on o.Address and builds the server; register services on
// Registrar before Serve.
func New(o Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", o.Address)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", o.Name, o.Address, err)
	}
	log := o.Logger.With("service", o.Name)
	recover := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall), logging.WithLevels(callLevel)}
	authMatch := selector.MatchFunc(needsAuth)
	unary := []grpc.UnaryServerInterceptor{
		// Marks an Unavailable this server answers because a service it
		// needs stayed down through its retries, so that callers do not
		// retry it on another replica (which would wait again).
		markAnsweredUnavailable,
		// Recovery first, so a panic anywhere below becomes Internal.
		recovery.UnaryServerInterceptor(recover),
		// Logging second, so it records the code auth and handlers return.
		logging.UnaryServerInterceptor(slogAdapter(log), logOpts...),
		// Authentication for every method but health and reflection.
		selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(o.Auth), authMatch),
	}
	stopping, stop := context.WithCancel(context.Background())
	stream := []grpc.StreamServerInterceptor{
		endOnStop(stopping),
		recovery.StreamServerInterceptor(recover),
		logging.StreamServerInterceptor(slogAdapter(log), logOpts...),
		selector.StreamServerInterceptor(auth.StreamServerInterceptor(o.Auth), authMatch),
	}
	// Then the caller's interceptors (authorization, ...), with the same
	// exemptions as authentication.
	for _, u := range o.Unary {
		unary = append(unary, selector.UnaryServerInterceptor(u, authMatch))
	}
	for _, st := range o.Stream {
		stream = append(stream, selector.StreamServerInterceptor(st, authMatch))
	}
	opts := []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(o.TLS)),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
	if o.StatsHandler != nil {
		opts = append(opts, grpc.StatsHandler(o.StatsHandler))
	}
	if o.MaxConnectionAge > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: o.MaxConnectionAge, MaxConnectionAgeGrace: o.MaxConnectionAge}))
	}
	gs := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{name: o.Name, grpc: gs, health: hs, lis: lis, log: log, stopping: stopping, stop: stop}, nil
}

// streamWorkers is how many goroutines serve calls and are kept for the
// next one (a call finding none busy-free gets a new goroutine, as
// without workers): a new goroutine per call grows its stack from 8 KB
// through the interceptors each time, which a CPU profile of GET showed
// as a twentieth of the api's work. Idle, they hold about 1 MB.
const streamWorkers = 32

// markAnsweredUnavailable sets grpcclient.AnsweredUnavailable in the
// trailer of an Unavailable answer given after a call of the handler's
// to another service gave up.
func markAnsweredUnavailable(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, gaveUp := grpcclient.TrackGaveUp(ctx)
	resp, err := handler(ctx, req)
	if status.Code(err) == codes.Unavailable && gaveUp() {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(grpcclient.AnsweredUnavailable, "true"))
	}
	return resp, err
}

// endOnStop gives every stream a context that ends when the server
// stops. A stream ended that way ends with Unavailable, whatever its
// handler returned: for the client it is a replica going away, not the
// end of its watch, so it resumes on another replica (grpcclient resumes
// watches from their last resourceVersion; the authn and authz streams
// reconnect).
func endOnStop(stopping context.Context) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		unhook := context.AfterFunc(stopping, cancel)
		defer unhook()
		err := handler(srv, ctxStream{ServerStream: ss, ctx: ctx})
		if stopping.Err() != nil && ss.Context().Err() == nil {
			return status.Error(codes.Unavailable, "the server is stopping: watch again on another replica")
		}
		return err
	}
}

// ctxStream is a ServerStream with another context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c ctxStream) Context() context.Context { return c.ctx }

// needsAuth exempts health checks and reflection from authentication: the
// TLS handshake has still required a trusted client certificate.
func needsAuth(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service != healthpb.Health_ServiceDesc.ServiceName &&
		!strings.HasPrefix(c.Service, "grpc.reflection.")
}

// SetServingStatus reports a health service of this server (one that is
// not a registered gRPC service, such as a dependency) SERVING or
// NOT_SERVING to grpc.health.v1 callers. After Stop it does nothing.
func (s *Server) SetServingStatus(service string, serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus(service, st)
}

// Registrar is where services register.
func (s *Server) Registrar() grpc.ServiceRegistrar { return s.grpc }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Serve serves until Stop; it marks every registered service SERVING first.
func (s *Server) Serve() error {
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.log.Info("gRPC server listening", "address", s.lis.Addr().String())
	if err := s.grpc.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("%s: serve: %w", s.name, err)
	}
	return nil
}

// Stop drains: health turns NOT_SERVING, running calls finish until ctx
// ends, then the rest are cut.
func (s *Server) Stop(ctx context.Context) {
	s.health.Shutdown()
	s.stop()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}

// PeerCertificates is the verified chain the caller presented, leaf first.
func PeerCertificates(ctx context.Context) []*x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return nil
	}
	return ti.State.PeerCertificates
}

// callLevel keeps the log quiet on the hot path: answers a client caused
// are debug lines, refusals info, server failures errors.
func callLevel(c codes.Code) logging.Level {
	switch c {
	case codes.OK, codes.NotFound, codes.AlreadyExists, codes.Aborted, codes.InvalidArgument,
		codes.OutOfRange, codes.Canceled, codes.FailedPrecondition:
		return logging.LevelDebug
	case codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted, codes.DeadlineExceeded:
		return logging.LevelInfo
	default:
		return logging.LevelError
	}
}

func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}
