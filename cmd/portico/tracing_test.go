package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/testpeers"
	"github.com/portico-dev/portico/internal/testwait"
)

// keptExporter is the in-memory exporter without its Shutdown, which
// would forget the spans: the test reads them after Portico stopped.
type keptExporter struct{ *tracetest.InMemoryExporter }

func (keptExporter) Shutdown(context.Context) error { return nil }

// TestTraceSpansEveryHop runs `portico up` in this process with tracing
// on (an in-memory exporter for the OTLP endpoint, samplingRatePerMillion
// 0, so only requests whose traceparent says sampled are recorded), makes
// one REST create carrying a traceparent on the secure port, stops
// Portico (which flushes), and checks that the traceparent's trace has a
// span from every hop, each the child of the one before.
func TestTraceSpansEveryHop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every service and etcd")
	}
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tracingFile := write("tracing.yaml", "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: 127.0.0.1:1\n")
	// The prober's token polls /readyz; alice's is used once, so that
	// neither authn's nor authz's answer is in a cache yet.
	tokens := write("tokens.csv", "probe-token,prober,u1,\nalice-token,alice,u2,devs\n")
	securePort := testpeers.FreePort(t)
	o, fs := parse(t,
		"--data-dir", filepath.Join(dir, "data"),
		"--tracing-config-file", tracingFile,
		"--token-auth-file", tokens,
		"--authorization-mode", "AlwaysAllow",
		"--insecure-port", "0",
		"--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(securePort),
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", testpeers.FreePort(t)),
		"--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", testpeers.FreePort(t)),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", testpeers.FreePort(t)),
		"--builtin-controllers=",
		"--shutdown-grace-period", "5s",
	)
	o.serves = []string{"api", "authn", "authz"}
	if err := o.validate(fs); err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	o.spanExporter = keptExporter{exp}

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	go func() { done <- runUp(ctx, o, log, io.Discard) }()
	stopped := false
	stopUp := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("portico up: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("portico up did not stop within 30s")
		}
	}
	defer stopUp()

	base := fmt.Sprintf("https://127.0.0.1:%d", securePort)
	var client *http.Client
	do := func(req *http.Request, token string) (int, string, error) {
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	testwait.Until(t, 90*time.Second, "portico up ready on the secure port", func() bool {
		select {
		case err := <-done:
			t.Fatalf("portico up ended: %v", err)
		default:
		}
		if client == nil {
			pem, err := os.ReadFile(filepath.Join(dir, "data", "certs", "apiserver.crt"))
			if err != nil {
				return false
			}
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
			client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
		code, _, err := do(req, "probe-token")
		return err == nil && code == http.StatusOK
	})

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	parent := "b7ad6b7169203331"
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/namespaces/default/configmaps",
		strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"traced"},"data":{"a":"b"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parent+"-01")
	code, body, err := do(req, "alice-token")
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %s %v", code, body, err)
	}
	// Stopping flushes every provider.
	stopUp()

	var spans []sdktrace.ReadOnlySpan
	for _, s := range exp.GetSpans().Snapshots() {
		if s.SpanContext().TraceID().String() == traceID {
			spans = append(spans, s)
		}
	}
	for _, s := range spans {
		t.Logf("%-16s %-7s %-60s %s <- %s", service(s), s.SpanKind(), s.Name(), s.SpanContext().SpanID(), s.Parent().SpanID())
	}
	find := func(what, svc string, kind trace.SpanKind, name string, parent trace.SpanID) sdktrace.ReadOnlySpan {
		t.Helper()
		for _, s := range spans {
			if service(s) == svc && s.SpanKind() == kind && strings.Contains(s.Name(), name) && (!parent.IsValid() || s.Parent().SpanID() == parent) {
				return s
			}
		}
		t.Fatalf("no span for %s: %s %v %q, child of %s", what, svc, kind, name, parent)
		return nil
	}
	gw := find("the gateway's HTTP server", "portico-gateway", trace.SpanKindServer, "create configmaps", mustSpanID(t, parent))
	toAuthn := find("gateway → authn", "portico-gateway", trace.SpanKindClient, "portico.authn.v1.", gw.SpanContext().SpanID())
	find("the authn server", "portico-authn", trace.SpanKindServer, "portico.authn.v1.", toAuthn.SpanContext().SpanID())
	toAPI := find("gateway → api", "portico-gateway", trace.SpanKindClient, "ConfigMapService/CreateConfigMap", gw.SpanContext().SpanID())
	api := find("the api's server", "portico-api", trace.SpanKindServer, "ConfigMapService/CreateConfigMap", toAPI.SpanContext().SpanID())
	toAuthz := find("api → authz", "portico-api", trace.SpanKindClient, "portico.authz.v1.", api.SpanContext().SpanID())
	find("the authz server", "portico-authz", trace.SpanKindServer, "portico.authz.v1.", toAuthz.SpanContext().SpanID())
	find("api → etcd", "portico-api", trace.SpanKindClient, "etcdserverpb.KV/", api.SpanContext().SpanID())
}

// TestTracingConfigFileAtStart: a bad file stops the start with the
// flag's name; no file is no tracing at all.
func TestTracingConfigFileAtStart(t *testing.T) {
	dir := t.TempDir()
	o, _ := parse(t, "--data-dir", dir)
	if _, err := o.pki().EnsureDev(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	e, err := newEnv(o, log)
	if err != nil {
		t.Fatal(err)
	}
	if e.tracing != nil || e.tracing.Service("api").ServerHandler() != nil {
		t.Fatal("tracing is on without --tracing-config-file")
	}
	tests := map[string]struct{ file, wantErr string }{
		"missing":       {file: "", wantErr: "no such file"},
		"unknown field": {file: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRate: 1\n", wantErr: `unknown field "samplingRate"`},
		"bad rate":      {file: "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 2000000\n", wantErr: "samplingRatePerMillion: 2000000"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o.tracingConfigFile = filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			if tc.file != "" {
				if err := os.WriteFile(o.tracingConfigFile, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := newEnv(o, log)
			if err == nil || !strings.Contains(err.Error(), "--tracing-config-file: ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("newEnv: %v, want --tracing-config-file: ... %s", err, tc.wantErr)
			}
		})
	}
}

func mustSpanID(t *testing.T, s string) trace.SpanID {
	t.Helper()
	id, err := trace.SpanIDFromHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// service is the span's service.name.
func service(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			return kv.Value.AsString()
		}
	}
	return ""
}
