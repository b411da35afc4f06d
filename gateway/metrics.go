package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/portico-dev/portico/gateway/flowcontrol"
	"github.com/portico-dev/portico/internal/requestinfo"
)

// metrics are the gateway's Prometheus metrics, named as kube-apiserver's
// so its dashboards and alerts apply. Each Gateway has its own registry:
// nothing goes to the prometheus default registry.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	inflight    *prometheus.GaugeVec
	longRunning *prometheus.GaugeVec
	// The two series of inflight, resolved once.
	inflightReadOnly, inflightMutating prometheus.Gauge
	// flowcontrol are the apiserver_flowcontrol_* series of both ports.
	flowcontrol *flowcontrol.Metrics
}

// latencyBuckets are kube-apiserver's apiserver_request_duration_seconds buckets.
var latencyBuckets = []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

func newMetrics() (*metrics, error) {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
		}, []string{"verb", "resource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb and resource (watches excluded).",
			Buckets: latencyBuckets,
		}, []string{"verb", "resource"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Number of requests executing with a seat of priority and fairness (both ports, exempt ones too), by kind (readOnly or mutating).",
		}, []string{"request_kind"}),
		longRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Number of long-running requests (watches) open, by verb and resource.",
		}, []string{"verb", "resource"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inflight, m.longRunning,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both kinds show from the start, at 0.
	m.inflightReadOnly = m.inflight.WithLabelValues("readOnly")
	m.inflightMutating = m.inflight.WithLabelValues("mutating")
	fc, err := flowcontrol.NewMetrics(m.registry)
	if err != nil {
		return nil, err
	}
	m.flowcontrol = fc
	return m, nil
}

// observe counts one finished request.
func (m *metrics) observe(ri *requestinfo.Info, method, resource string, code int, d time.Duration) {
	verb := metricsVerb(ri, method)
	m.requests.WithLabelValues(verb, resource, strconv.Itoa(code)).Inc()
	if !longRunning(ri) {
		m.latency.WithLabelValues(verb, resource).Observe(d.Seconds())
	}
}

// inflightGauge is the apiserver_current_inflight_requests series of ri.
func (m *metrics) inflightGauge(ri *requestinfo.Info) prometheus.Gauge {
	if readOnly(ri) {
		return m.inflightReadOnly
	}
	return m.inflightMutating
}

// serveMetrics is /metrics in the Prometheus text format. Who may read
// it is decided as for every non-resource path (authorizeRequest on the
// secure port: a grant on "/metrics", which no ordinary user has by
// default, system:masters always; everyone on the insecure port), as in
// kube-apiserver.
func (g *Gateway) serveMetrics(w http.ResponseWriter, r *http.Request) {
	g.metricsHandler.ServeHTTP(w, r)
}
