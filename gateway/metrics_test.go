package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/portico-dev/portico/internal/requestinfo"
)

// TestMetrics: every request is counted by verb, resource and code, timed
// in the latency histogram (watches excepted), and /metrics serves the
// Prometheus text format.
func TestMetrics(t *testing.T) {
	g := newTestGateway(t, Options{MaxRequestsInFlight: 10}, Deps{}, nil)
	g.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			g.serveMetrics(w, r)
		case "/api/v1/namespaces/x":
			w.WriteHeader(http.StatusNotFound)
		case "/api/v1/madeupthings":
			markUnrouted(r.Context()) // as routingErrorHandler does
			w.WriteHeader(http.StatusNotFound)
		}
	})
	h := g.insecureHandler()
	for _, target := range []string{"/api/v1/namespaces", "/api/v1/namespaces", "/api/v1/namespaces/x", "/api/v1/namespaces?watch=true", "/healthz"} {
		get(h, "GET", target, nil)
	}
	get(h, "POST", "/api/v1/namespaces/a/configmaps", nil)
	get(h, "GET", "/api/v1/madeupthings", nil)
	get(h, "BREW", "/coffee", nil)
	w := get(h, "GET", "/metrics", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %v", w.Code, w.Header())
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, w.Body)
	}
	count := func(name string, labels map[string]string) float64 {
		f := families[name]
		if f == nil {
			t.Fatalf("no %s", name)
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metric
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
		return 0
	}
	tests := map[string]struct {
		name   string
		labels map[string]string
		want   float64
	}{
		"lists":                       {"apiserver_request_total", map[string]string{"verb": "LIST", "resource": "namespaces", "code": "200"}, 2},
		"get 404":                     {"apiserver_request_total", map[string]string{"verb": "GET", "resource": "namespaces", "code": "404"}, 1},
		"watch":                       {"apiserver_request_total", map[string]string{"verb": "WATCH", "resource": "namespaces", "code": "200"}, 1},
		"create":                      {"apiserver_request_total", map[string]string{"verb": "POST", "resource": "configmaps", "code": "200"}, 1},
		"non-resource":                {"apiserver_request_total", map[string]string{"verb": "GET", "resource": "", "code": "200"}, 1},
		"lists timed":                 {"apiserver_request_duration_seconds", map[string]string{"verb": "LIST", "resource": "namespaces"}, 2},
		"watches untimed":             {"apiserver_request_duration_seconds", map[string]string{"verb": "WATCH"}, 0},
		"in flight now":               {"apiserver_current_inflight_requests", map[string]string{"request_kind": "readOnly"}, 1},
		"mutating now":                {"apiserver_current_inflight_requests", map[string]string{"request_kind": "mutating"}, 0},
		"no watch open":               {"apiserver_longrunning_requests", map[string]string{"verb": "WATCH"}, 0},
		"unrouted: no resource label": {"apiserver_request_total", map[string]string{"verb": "LIST", "resource": "", "code": "404"}, 1},
		"unknown method":              {"apiserver_request_total", map[string]string{"verb": "other", "resource": ""}, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := count(tc.name, tc.labels); got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
			}
		})
	}
	if strings.Contains(w.Body.String(), "madeupthings") {
		t.Errorf("a made-up resource is a label value")
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}
}

func TestMetricsVerb(t *testing.T) {
	tests := map[string]struct {
		method, target, want string
	}{
		"list":             {"GET", "/api/v1/namespaces", "LIST"},
		"get":              {"GET", "/api/v1/namespaces/a", "GET"},
		"watch":            {"GET", "/api/v1/namespaces?watch=true", "WATCH"},
		"watch path":       {"GET", "/api/v1/watch/namespaces/a/configmaps", "WATCH"},
		"create":           {"POST", "/api/v1/namespaces", "POST"},
		"update":           {"PUT", "/api/v1/namespaces/a", "PUT"},
		"patch":            {"PATCH", "/api/v1/namespaces/a", "PATCH"},
		"delete":           {"DELETE", "/api/v1/namespaces/a", "DELETE"},
		"deletecollection": {"DELETE", "/api/v1/namespaces/a/configmaps", "DELETECOLLECTION"},
		"non-resource":     {"GET", "/healthz", "GET"},
		"non-resource put": {"PUT", "/version", "PUT"},
		"unknown method":   {"BREW", "/coffee", "other"},
		"lower-case get":   {"get", "/healthz", "other"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			info, _ := requestinfo.Parse(tc.method, r.URL)
			if got := metricsVerb(&info, tc.method); got != tc.want {
				t.Errorf("= %s, want %s", got, tc.want)
			}
		})
	}
}
