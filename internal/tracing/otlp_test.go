package tracing

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// collector is an OTLP gRPC trace receiver that keeps what it gets.
type collector struct {
	collectorpb.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*collectorpb.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, r *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, r)
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

// TestOTLPExport: with no Exporter given, spans go by OTLP gRPC to the
// configured endpoint, with the service's name, and Shutdown sends them.
func TestOTLPExport(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	collectorpb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	tr, err := New(t.Context(), Options{Config: Config{Endpoint: lis.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Service("api").HTTPHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), nil, nil)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var spans int
	var svc string
	for _, r := range c.reqs {
		for _, rs := range r.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					svc = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				spans += len(ss.Spans)
			}
		}
	}
	if spans != 1 || svc != "portico-api" {
		t.Fatalf("the collector got %d spans of %q, want 1 of portico-api", spans, svc)
	}
}
