package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// Backend is one replica of a backend service and its health, as
// /readyz?verbose and the portico_backend_healthy metric show it.
type Backend struct {
	// Address is the replica's host:port (or the target it came from).
	Address string
	// Err is why it does not answer SERVING; nil when it does.
	Err error
}

// Replica is one backend replica's own connection, for its health.
type Replica struct {
	Address string
	Conn    grpc.ClientConnInterface
}

// GRPCReplicasCheck is the check of a service that runs as replicas
// behind conn, a connection balanced across them: it passes while conn
// reaches one that answers grpc.health.v1 SERVING for service (the
// gateway can serve through it), so one replica down does not take the
// gateway out of its load balancer. Each replica's own health, followed
// on its own connection, is listed under the check in ?verbose and
// exported as portico_backend_healthy.
func GRPCReplicasCheck(name string, conn grpc.ClientConnInterface, service string, replicas []Replica) HealthCheck {
	c := GRPCHealthCheck(name, conn, service)
	checks := make([]HealthCheck, len(replicas))
	for i, r := range replicas {
		checks[i] = GRPCHealthCheck(r.Address, r.Conn, service)
	}
	c.Backends = func() []Backend {
		out := make([]Backend, len(checks))
		for i, rc := range checks {
			out[i] = Backend{Address: rc.Name, Err: rc.Check(context.Background())}
		}
		return out
	}
	return c
}

// writeBackends writes a check's replicas under its line, indented so
// that a reader of kube's "[+]name ok" lines does not take them for
// checks: a replica down does not fail the endpoint while another
// serves. Reasons are withheld as for the checks.
func writeBackends(out *strings.Builder, c HealthCheck) {
	if c.Backends == nil {
		return
	}
	for _, b := range c.Backends() {
		if b.Err != nil {
			fmt.Fprintf(out, "  backend %s %s failed: reason withheld\n", c.Name, b.Address)
		} else {
			fmt.Fprintf(out, "  backend %s %s ok\n", c.Name, b.Address)
		}
	}
}

// backendCollector exports every replica's health at scrape time (the
// health streams keep it in memory: a scrape calls no backend).
type backendCollector struct {
	checks func() []HealthCheck
	desc   *prometheus.Desc
}

func newBackendCollector(checks func() []HealthCheck) *backendCollector {
	return &backendCollector{checks: checks, desc: prometheus.NewDesc("portico_backend_healthy",
		"1 when the backend replica answers grpc.health.v1 SERVING to the gateway, else 0, by service and address.",
		[]string{"service", "address"}, nil)}
}

func (c *backendCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *backendCollector) Collect(ch chan<- prometheus.Metric) {
	for _, hc := range c.checks() {
		if hc.Backends == nil {
			continue
		}
		for _, b := range hc.Backends() {
			v := 0.0
			if b.Err == nil {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, hc.Name, b.Address)
		}
	}
}
