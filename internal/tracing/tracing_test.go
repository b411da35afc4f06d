package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestOffInstallsNothing(t *testing.T) {
	var tr *Tracing
	s := tr.Service("gateway")
	if s != nil {
		t.Fatalf("Service of no tracing = %v, want nil", s)
	}
	if s.ServerHandler() != nil || s.ClientHandler() != nil || s.DialOptions() != nil {
		t.Fatal("tracing off still gives gRPC handlers")
	}
	h := http.NewServeMux()
	if got := s.HTTPHandler(h, nil, nil); got != http.Handler(h) {
		t.Fatalf("HTTPHandler with tracing off wraps the handler: %T", got)
	}
	if _, ok := s.TracerProvider().(interface{ ForceFlush(context.Context) error }); ok {
		t.Fatal("TracerProvider with tracing off is a real provider")
	}
	if err := tr.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPSampling(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		sampled = "00-" + traceID + "-00f067aa0ba902b7-01"
		dropped = "00-" + traceID + "-00f067aa0ba902b7-00"
	)
	tests := map[string]struct {
		rate        int32
		traceparent string
		path        string
		wantSpan    bool
	}{
		"rate 0, no parent: not sampled":       {rate: 0},
		"rate 0, sampled parent: recorded":     {rate: 0, traceparent: sampled, wantSpan: true},
		"every trace, no parent: recorded":     {rate: MaxSamplingRatePerMillion, wantSpan: true},
		"every trace, parent says no: dropped": {rate: MaxSamplingRatePerMillion, traceparent: dropped},
		"skipped path":                         {rate: MaxSamplingRatePerMillion, traceparent: sampled, path: "/livez"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tr, err := New(t.Context(), Options{Config: Config{Endpoint: DefaultEndpoint, SamplingRatePerMillion: tc.rate}, Exporter: exp})
			if err != nil {
				t.Fatal(err)
			}
			var inner trace.SpanContext
			h := tr.Service("gateway").HTTPHandler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				inner = trace.SpanContextFromContext(r.Context())
			}), func(r *http.Request) string { return r.Method + " test" }, func(r *http.Request) bool { return r.URL.Path == "/livez" })
			path := tc.path
			if path == "" {
				path = "/api/v1/namespaces"
			}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if tc.traceparent != "" {
				req.Header.Set("traceparent", tc.traceparent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if err := tr.ForceFlush(t.Context()); err != nil {
				t.Fatal(err)
			}
			spans := exp.GetSpans()
			if !tc.wantSpan {
				if len(spans) != 0 {
					t.Fatalf("%d spans recorded, want none", len(spans))
				}
				return
			}
			if len(spans) != 1 {
				t.Fatalf("%d spans recorded, want 1", len(spans))
			}
			sp := spans[0]
			if sp.Name != "GET test" || sp.SpanKind != trace.SpanKindServer {
				t.Errorf("span %q kind %v", sp.Name, sp.SpanKind)
			}
			if inner.SpanID() != sp.SpanContext.SpanID() {
				t.Errorf("the handler's context does not carry the server span")
			}
			if tc.traceparent != "" && sp.SpanContext.TraceID().String() != traceID {
				t.Errorf("trace %s, want the traceparent's %s", sp.SpanContext.TraceID(), traceID)
			}
			var svc string
			for _, kv := range sp.Resource.Attributes() {
				if kv.Key == "service.name" {
					svc = kv.Value.AsString()
				}
			}
			if svc != "portico-gateway" {
				t.Errorf("service.name %q, want portico-gateway", svc)
			}
			if err := tr.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestServiceIsOnePerName(t *testing.T) {
	tr, err := New(t.Context(), Options{Config: Config{Endpoint: DefaultEndpoint}, Exporter: tracetest.NewInMemoryExporter()})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Service("api") != tr.Service("api") || tr.Service("api") == tr.Service("authn") {
		t.Fatal("Service does not keep one provider per service")
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	if _, err := New(t.Context(), Options{Config: Config{Endpoint: "nowhere", SamplingRatePerMillion: 2_000_000}}); err == nil {
		t.Fatal("New accepted a bad configuration")
	}
}
