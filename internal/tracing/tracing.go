// Package tracing is Portico's OpenTelemetry tracing: the
// --tracing-config-file (kube-apiserver's TracingConfiguration), one
// OTLP gRPC exporter per process, and per service a TracerProvider
// (service.name portico-<service>) with the stats handlers and HTTP
// middleware that carry W3C traceparent across every hop.
//
// Nothing is global: no otel.SetTracerProvider, no
// otel.SetTextMapPropagator. Each handler is given its provider and
// propagator. Tracing off is a nil *Tracing, whose Service is a nil
// *Service, whose handlers are nil and whose middleware is the handler
// itself: the callers install nothing and the hot path pays nothing.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// ServiceNamePrefix starts every service.name: portico-gateway,
// portico-api, portico-authn, portico-authz.
const ServiceNamePrefix = "portico-"

// Options configure a process's tracing.
type Options struct {
	// Config is the validated --tracing-config-file.
	Config Config
	// Exporter receives the finished spans; nil is OTLP gRPC to
	// Config.Endpoint (plain gRPC to a collector beside the process, as
	// kube-apiserver dials it; OTEL_EXPORTER_OTLP_* settings apply).
	Exporter sdktrace.SpanExporter
	// Logger hears when exports start failing and when they work again;
	// nil discards.
	Logger *slog.Logger
}

// Validate reports an unusable configuration.
func (o *Options) Validate() error { return o.Config.Validate() }

// Tracing is one process's exporter and the providers of the services it
// runs. A nil *Tracing is tracing off.
type Tracing struct {
	exporter *loggingExporter
	sampler  sdktrace.Sampler
	// propagator is W3C Trace Context only (traceparent, tracestate):
	// baggage from a REST client is not carried into the services.
	propagator propagation.TextMapPropagator

	mu       sync.Mutex
	services map[string]*Service
	closed   bool
}

// New builds the exporter (it connects lazily: a collector that is not
// up yet costs dropped spans, not a failed start).
func New(ctx context.Context, o Options) (*Tracing, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	exp := o.Exporter
	if exp == nil {
		var err error
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(o.Config.Endpoint), otlptracegrpc.WithInsecure())
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", o.Config.Endpoint, err)
		}
	}
	rate := float64(o.Config.SamplingRatePerMillion) / MaxSamplingRatePerMillion
	return &Tracing{
		exporter:   &loggingExporter{SpanExporter: exp, log: log, endpoint: o.Config.Endpoint},
		sampler:    sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate)),
		propagator: propagation.TraceContext{},
		services:   map[string]*Service{},
	}, nil
}

// Service is the tracing of the named service (gateway, api, authn,
// authz), made on first use; nil when t is nil. Its spans go out through
// the process's one exporter.
func (t *Tracing) Service(name string) *Service {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.services[name]; ok {
		return s
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", ServiceNamePrefix+name)))
	if err != nil {
		// Only conflicting schema URLs fail, and ours has none.
		res = resource.NewSchemaless(attribute.String("service.name", ServiceNamePrefix+name))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(t.sampler),
		sdktrace.WithResource(res),
		// Each provider's batcher stops with it; the shared exporter is
		// shut down once, by Tracing.Shutdown.
		sdktrace.WithBatcher(sharedExporter{t.exporter}),
	)
	s := &Service{name: name, provider: tp, propagator: t.propagator}
	t.services[name] = s
	return s
}

// ForceFlush exports every span ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	for _, s := range t.list() {
		errs = append(errs, s.provider.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes every service's spans, then closes the exporter; ctx
// bounds the wait for a collector that does not answer.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	var errs []error
	for _, s := range t.list() {
		errs = append(errs, s.provider.Shutdown(ctx))
	}
	errs = append(errs, t.exporter.SpanExporter.Shutdown(ctx))
	return errors.Join(errs...)
}

func (t *Tracing) list() []*Service {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Service, 0, len(t.services))
	for _, s := range t.services {
		out = append(out, s)
	}
	return out
}

// Service is one service's provider and propagator. A nil *Service is
// tracing off: no handler, no middleware.
type Service struct {
	name       string
	provider   *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

// TracerProvider is the service's provider; a no-op one when s is nil.
func (s *Service) TracerProvider() trace.TracerProvider {
	if s == nil {
		return tracenoop.NewTracerProvider()
	}
	return s.provider
}

// grpcOptions: the service's provider and propagator, no metrics (the
// global meter provider is never consulted), and no spans for health
// checks (every client watches every backend's health, and probes poll).
func (s *Service) grpcOptions() []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(s.provider),
		otelgrpc.WithPropagators(s.propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	}
}

// ServerHandler is the stats handler of the service's gRPC servers: a
// server span per call, child of the caller's traceparent. nil when s
// is nil.
func (s *Service) ServerHandler() stats.Handler {
	if s == nil {
		return nil
	}
	return otelgrpc.NewServerHandler(s.grpcOptions()...)
}

// ClientHandler is the stats handler of the service's gRPC clients: a
// client span per call, its traceparent sent in the metadata. nil when
// s is nil.
func (s *Service) ClientHandler() stats.Handler {
	if s == nil {
		return nil
	}
	return otelgrpc.NewClientHandler(s.grpcOptions()...)
}

// DialOptions are the client handler as dial options, for a client
// built elsewhere (etcd's clientv3.Config.DialOptions); none when s is
// nil.
func (s *Service) DialOptions() []grpc.DialOption {
	if s == nil {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(s.ClientHandler())}
}

// HTTPHandler wraps h in a server span per request, child of the
// request's traceparent, named by spanName (nil: the method); skip, if
// set, leaves requests it matches untraced. h itself when s is nil.
func (s *Service) HTTPHandler(h http.Handler, spanName func(*http.Request) string, skip func(*http.Request) bool) http.Handler {
	if s == nil {
		return h
	}
	opts := []otelhttp.Option{
		otelhttp.WithTracerProvider(s.provider),
		otelhttp.WithPropagators(s.propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
	}
	if spanName != nil {
		opts = append(opts, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return spanName(r) }))
	}
	if skip != nil {
		opts = append(opts, otelhttp.WithFilter(func(r *http.Request) bool { return !skip(r) }))
	}
	return otelhttp.NewHandler(h, ServiceNamePrefix+s.name, opts...)
}

// sharedExporter is the process's exporter as one provider sees it: its
// Shutdown is Tracing's, after every provider has flushed.
type sharedExporter struct{ sdktrace.SpanExporter }

func (sharedExporter) Shutdown(context.Context) error { return nil }

// loggingExporter logs, once, that spans cannot be exported, and once
// that they can again, instead of OpenTelemetry's global error handler
// printing every failed batch.
type loggingExporter struct {
	sdktrace.SpanExporter
	log      *slog.Logger
	endpoint string
	failing  atomic.Bool
}

func (e *loggingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	switch {
	case err != nil && !e.failing.Swap(true):
		e.log.Warn("traces are not exported: spans are dropped until the collector answers", "endpoint", e.endpoint, "error", err)
	case err == nil && e.failing.Swap(false):
		e.log.Info("traces are exported again", "endpoint", e.endpoint)
	}
	// Reported above: nothing for the batcher to do with it.
	return nil
}
