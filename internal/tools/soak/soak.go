package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/loadgen"
)

// soak is one run: the cluster, its load and what was measured.
type soak struct {
	o      options
	log    *slog.Logger
	stdout io.Writer

	c      *cluster.Cluster
	bases  []string // the gateways' secure URLs
	counts []*watchCounts
	// etcdMetrics reads etcd's /metrics (the api's certificate),
	// gatewayMetrics a gateway's insecure port.
	etcdMetrics, gatewayMetrics *http.Client
}

// runSoak starts the cluster in a fresh o.dir, puts the load on it and
// prints a row per process every interval, then the summary; every
// process is stopped before it returns, when ctx ends (Ctrl-C) too, and
// the summary then covers the intervals that completed.
func runSoak(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) error {
	if err := os.RemoveAll(o.dir); err != nil {
		return err
	}
	s := &soak{o: o, log: log, stdout: stdout}
	log.Info("starting the cluster", "dir", o.dir)
	c, err := cluster.Start(ctx, cluster.Options{Dir: o.dir, Portico: o.portico, Etcd: o.etcd, Args: o.clusterArgs(), Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		log.Info("stopping every process")
		c.Stop()
	}()
	s.c = c
	for _, g := range c.Gateways {
		s.bases = append(s.bases, g.Address)
		s.counts = append(s.counts, &watchCounts{})
	}
	if len(s.bases) == 0 || s.o.workers%len(s.bases) != 0 {
		return fmt.Errorf("%d workers over %d gateways", s.o.workers, len(s.bases))
	}
	etcdTLS, err := c.ClientTLS("api", "127.0.0.1")
	if err != nil {
		return err
	}
	s.etcdMetrics, s.gatewayMetrics = metricsClient(etcdTLS), metricsClient(nil)
	tr, err := s.adminTransport()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	m := newMix(&http.Client{Transport: tr, Timeout: 30 * time.Second}, o.pool, o.churn)
	if err := m.setup(ctx, s.bases[0]); err != nil {
		return err
	}

	watchCtx, stopWatches := context.WithCancel(ctx)
	var watches sync.WaitGroup
	defer func() { stopWatches(); watches.Wait() }()
	for i := range o.watchers {
		w := &watcher{client: &http.Client{Transport: tr}, bases: s.bases, gw: i % len(s.bases), counts: s.counts, log: log}
		watches.Go(func() { w.run(watchCtx) })
	}

	fmt.Fprintln(stdout, machine(time.Now()))
	compaction := "none"
	if o.etcdCompaction > 0 {
		compaction = "periodic, " + o.etcdCompaction.String()
	}
	fmt.Fprintf(stdout, "load: %d req/s aimed at (%d workers, each every %s, half through each gateway), %d watchers; pool %d, churn %d; %s in intervals of %s; etcd compaction %s\n\n",
		o.rate, o.workers, o.pace(), o.watchers, o.pool, o.churn, o.duration, o.interval, compaction)
	rep := s.report()
	rep.header(stdout)
	var ivs []interval
	for n := 1; n <= o.intervals(); n++ {
		iv, ok := s.interval(ctx, m, n)
		if !ok {
			break
		}
		rep.rows(stdout, iv)
		ivs = append(ivs, iv)
	}
	fmt.Fprintln(stdout)
	if ctx.Err() != nil {
		fmt.Fprintf(stdout, "interrupted after %d of %d intervals\n\n", len(ivs), o.intervals())
	}
	rep.summary(stdout, ivs)
	return nil
}

// interval runs the load for one interval through every gateway at
// once, then samples every process; false when ctx ended first (a cut
// interval is not a row).
func (s *soak) interval(ctx context.Context, m *mix, n int) (interval, bool) {
	results := make([]loadgen.Result, len(s.bases))
	errs := make([]error, len(s.bases))
	lo := loadgen.Options{
		Concurrency: s.o.workers / len(s.bases),
		Duration:    s.o.interval,
		// Bounded: twice what the rate asks for.
		MaxRequests: 2*s.o.rate*int(s.o.interval/time.Second) + 100,
		Pace:        s.o.pace(),
	}
	var wg sync.WaitGroup
	for g, base := range s.bases {
		wg.Go(func() { results[g], errs[g] = loadgen.Run(ctx, lo, m.call(base, g, len(s.bases))) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return interval{}, false
	}
	for _, err := range errs {
		if err != nil {
			s.log.Error("load", "error", err)
			return interval{}, false
		}
	}
	iv := interval{n: n, end: time.Duration(n) * s.o.interval}
	for g := range s.bases {
		st := combine(results[g : g+1])
		st.watchEvents, st.watchErrors = s.counts[g].take()
		iv.gateways = append(iv.gateways, st)
		iv.total.watchEvents += st.watchEvents
		iv.total.watchErrors += st.watchErrors
	}
	total := combine(results)
	total.watchEvents, total.watchErrors = iv.total.watchEvents, iv.total.watchErrors
	iv.total = total
	for _, p := range s.c.All() {
		iv.samples = append(iv.samples, s.sample(ctx, p))
	}
	return iv, true
}

// sample reads one process's figures; one that cannot be read is
// unknown (and logged).
func (s *soak) sample(ctx context.Context, p *cluster.Process) sample {
	sm := sample{pid: p.PID(), rss: unknown, goroutines: unknown, fds: unknown}
	if sm.pid == 0 {
		s.log.Warn("process exited", "process", p.Name)
		return sm
	}
	var err error
	if sm.rss, err = readRSS(sm.pid); err != nil {
		s.log.Warn("rss", "process", p.Name, "error", err)
		sm.rss = unknown
	}
	if sm.fds, err = countFDs(sm.pid); err != nil {
		s.log.Warn("fds", "process", p.Name, "error", err)
		sm.fds = unknown
	}
	// Only the gateways and etcd serve /metrics; api, authn and authz
	// expose no HTTP endpoint, so their goroutines are not known.
	var client *http.Client
	var url string
	switch p.Role {
	case cluster.RoleGateway:
		client, url = s.gatewayMetrics, p.InsecureURL+"/metrics"
	case cluster.RoleEtcd:
		client, url = s.etcdMetrics, p.Address+"/metrics"
	default:
		return sm
	}
	if sm.goroutines, err = scrapeGoroutines(ctx, client, url); err != nil {
		s.log.Warn("goroutines", "process", p.Name, "error", err)
		sm.goroutines = unknown
	}
	return sm
}

func (s *soak) report() report {
	r := report{gateways: map[int]int{}}
	g := 0
	for i, p := range s.c.All() {
		r.names = append(r.names, p.Name)
		if p.Role == cluster.RoleGateway {
			r.gateways[i] = g
			g++
		}
	}
	return r
}

// adminTransport speaks to the gateways' secure ports with the admin
// client certificate (system:masters), HTTP/2: one connection per
// gateway, as a client behind one load balancer address would hold.
func (s *soak) adminTransport() (*http.Transport, error) {
	ca, err := os.ReadFile(s.c.ServingCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s: no certificate", s.c.ServingCert)
	}
	pair, err := tls.LoadX509KeyPair(s.c.PKI().AdminCert(), s.c.PKI().AdminKey())
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	return &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4}, nil
}

// machine is the line naming the machine and the time of the run.
func machine(now time.Time) string {
	model := "unknown"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		model = cpuModel(io.LimitReader(f, 1<<20))
		f.Close()
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("machine: %d cores (%s), load average %s; %s; %s", runtime.NumCPU(), model, load, now.UTC().Format("2006-01-02 15:04 UTC"), runtime.Version())
}

// cpuModel is the first "model name" of /proc/cpuinfo's contents.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
