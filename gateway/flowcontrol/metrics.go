package flowcontrol

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the apiserver_flowcontrol_* series, with kube-apiserver's
// names and labels. Controllers may share one Metrics when their schema
// names differ.
type Metrics struct {
	inqueue    *prometheus.GaugeVec
	executing  *prometheus.GaugeVec
	dispatched *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	wait       *prometheus.HistogramVec
	seats      *prometheus.GaugeVec
	watches    *prometheus.GaugeVec
}

// waitBuckets are kube-apiserver's request_wait_duration_seconds buckets.
var waitBuckets = []float64{0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30}

// NewMetrics makes the series and registers them with reg (nil: with
// none, for tests).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	pl := []string{"priority_level", "flow_schema"}
	m := &Metrics{
		inqueue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_current_inqueue_requests",
			Help: "Number of requests currently pending in queues of the API Priority and Fairness subsystem.",
		}, pl),
		executing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_current_executing_requests",
			Help: "Number of requests in initial (for a WATCH) or any (for a non-WATCH) execution stage in the API Priority and Fairness subsystem.",
		}, pl),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_flowcontrol_dispatched_requests_total",
			Help: "Number of requests executed by API Priority and Fairness subsystem.",
		}, pl),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_flowcontrol_rejected_requests_total",
			Help: "Number of requests rejected by API Priority and Fairness subsystem, by reason (queue-full, concurrency-limit, time-out, cancelled, watch-limit).",
		}, append(pl, "reason")),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_flowcontrol_request_wait_duration_seconds",
			Help:    "Length of time a request spent waiting in its queue.",
			Buckets: waitBuckets,
		}, append(pl, "execute")),
		seats: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_nominal_limit_seats",
			Help: "Nominal number of execution seats configured for each priority level (0: not limited).",
		}, []string{"priority_level"}),
		watches: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_current_watches",
			Help: "Number of watches open, which take no seat but count against the per-user watch bound.",
		}, pl),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.inqueue, m.executing, m.dispatched, m.rejected, m.wait, m.seats, m.watches} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// schemaMetrics are one schema's series, resolved once.
type schemaMetrics struct {
	m                      *Metrics
	level, schema          string
	inqueue, executing     prometheus.Gauge
	watches                prometheus.Gauge
	dispatched             prometheus.Counter
	waitExec, waitRejected prometheus.Observer
}

func (m *Metrics) forSchema(level, schema string) schemaMetrics {
	return schemaMetrics{
		m: m, level: level, schema: schema,
		inqueue:      m.inqueue.WithLabelValues(level, schema),
		executing:    m.executing.WithLabelValues(level, schema),
		watches:      m.watches.WithLabelValues(level, schema),
		dispatched:   m.dispatched.WithLabelValues(level, schema),
		waitExec:     m.wait.WithLabelValues(level, schema, "true"),
		waitRejected: m.wait.WithLabelValues(level, schema, "false"),
	}
}

func (s *schemaMetrics) observeWait(d time.Duration, executed bool) {
	if executed {
		s.waitExec.Observe(d.Seconds())
	} else {
		s.waitRejected.Observe(d.Seconds())
	}
}

func (s *schemaMetrics) reject(reason string) {
	s.m.rejected.WithLabelValues(s.level, s.schema, reason).Inc()
}
