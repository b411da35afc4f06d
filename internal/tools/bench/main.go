// Command bench measures Portico side by side with a real
// kube-apiserver v1.37.2 in one run: it starts both on free loopback
// ports, each on its own real etcd (the same binary, from bin/peers/),
// makes the same fixtures in both, loads both with the same requests
// (internal/loadgen) and prints one markdown table with the ratio.
//
//	go tool task bench                      # builds bin/portico and the peers first
//	go run ./internal/tools/bench -d 5s     # the same, once they are built
//	go run ./internal/tools/bench -quick    # about a minute, smaller counts
//	go run ./internal/tools/bench -sched-only  # the real scheduler's throughput alone
//
// Only loopback is loaded, every measurement is bounded by -d, and every
// process it starts is stopped before it exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/peerbin"
	"github.com/portico-dev/portico/internal/programtb"
)

type options struct {
	duration    time.Duration
	concurrency int
	quick       bool
	portico     string
	// scale are the object counts of the LIST cost growth (f).
	scale []int
	// watchers and writes are the watch fan-out (e).
	watchers, writes int
	grpc             bool
	// schedPods pods onto schedNodes nodes are the scheduling
	// throughput (h); 0 pods skips it.
	schedPods, schedNodes int
	// schedOnly measures (h) alone.
	schedOnly bool
	// profileDir, when set, gets CPU profiles of Portico during GET,
	// LIST 500 and the watch fan-out (it runs with --profiling).
	profileDir string
}

// Validate reports options that would run unbounded or not at all.
func (o options) Validate() []error {
	var errs []error
	if o.duration <= 0 || o.duration > time.Minute {
		errs = append(errs, errors.New("-d must be between 0 and 1m"))
	}
	if o.concurrency < 1 || o.concurrency > 256 {
		errs = append(errs, errors.New("-c must be between 1 and 256"))
	}
	if o.portico == "" {
		errs = append(errs, errors.New("-portico: the portico binary is required (go build -o bin/portico ./cmd/portico)"))
	}
	if o.watchers < 1 || o.watchers > 5000 || o.writes < 1 || o.writes > 10000 {
		errs = append(errs, errors.New("-watchers must be 1..5000 and -writes 1..10000"))
	}
	if o.schedPods < 0 || o.schedPods > 5000 || o.schedNodes < 1 || o.schedNodes > 1000 {
		errs = append(errs, errors.New("-sched-pods must be 0..5000 and -sched-nodes 1..1000"))
	}
	if o.schedOnly && o.schedPods == 0 {
		errs = append(errs, errors.New("-sched-only needs -sched-pods above 0"))
	}
	if o.profileDir != "" {
		if st, err := os.Stat(o.profileDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("-profile %s: not a directory", o.profileDir))
		}
	}
	for _, n := range o.scale {
		if n < 1 || n > 20000 {
			errs = append(errs, fmt.Errorf("-scale %d: counts must be 1..20000", n))
		}
	}
	return errs
}

// applyQuick shrinks the counts for a quick look (-quick).
func (o *options) applyQuick() {
	o.duration = min(o.duration, time.Second)
	o.scale = []int{100, 1000}
	o.watchers, o.writes = min(o.watchers, 100), min(o.writes, 100)
	o.schedPods = min(o.schedPods, 100)
}

func main() {
	o := options{}
	scale := "100,1000,10000"
	flag.DurationVar(&o.duration, "d", 5*time.Second, "how long each load measurement runs")
	flag.IntVar(&o.concurrency, "c", 16, "clients of the GET, LIST and CREATE measurements")
	flag.BoolVar(&o.quick, "quick", false, "1s measurements, LIST growth at 100 and 1,000 only, 100 watchers and writes")
	flag.StringVar(&o.portico, "portico", "", "the portico binary (default: bin/portico of this checkout)")
	flag.StringVar(&scale, "scale", scale, "object counts of the LIST cost growth")
	flag.IntVar(&o.watchers, "watchers", 1000, "watchers of the watch fan-out")
	flag.IntVar(&o.writes, "writes", 1000, "configmaps written while they watch")
	flag.BoolVar(&o.grpc, "grpc", true, "measure the gRPC Get straight to Portico's api")
	flag.IntVar(&o.schedPods, "sched-pods", 500, "pods the real kube-scheduler binds in the scheduling throughput (0 skips it)")
	flag.IntVar(&o.schedNodes, "sched-nodes", 100, "Ready nodes the scheduling throughput binds onto")
	flag.BoolVar(&o.schedOnly, "sched-only", false, "measure the scheduling throughput alone (after the start time and idle RSS)")
	flag.StringVar(&o.profileDir, "profile", "", "a directory for CPU profiles of Portico during GET (get.prof), LIST 500 (list.prof) and the watch fan-out (watch.prof); Portico runs with --profiling")
	flag.Parse()
	for _, s := range strings.Split(scale, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
			fmt.Fprintf(os.Stderr, "bench: -scale %q: %v\n", s, err)
			os.Exit(2)
		}
		o.scale = append(o.scale, n)
	}
	if o.quick {
		o.applyQuick()
	}
	if o.portico == "" {
		if wd, err := os.Getwd(); err == nil {
			if root, err := peerbin.FindRoot(wd); err == nil {
				o.portico = filepath.Join(root, "bin", "portico")
			}
		}
	}
	if errs := o.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
	os.Exit(run(o))
}

// run starts the servers, measures and prints; every process it started
// is stopped before it returns, on a failure and on SIGINT too.
func run(o options) int {
	return programtb.Main("bench", func(tb *programtb.TB) { measureBoth(tb, o) })
}

func measureBoth(tb *programtb.TB, o options) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logf("machine: %d cores (%s), load average %s", runtime.NumCPU(), runtime.GOARCH, loadAverage())
	logf("starting Portico (%s) and kube-apiserver, each on its own etcd", o.portico)
	p := startPortico(tb, o.portico, o.concurrency, o.profileDir != "")
	k := startKube(tb, o.concurrency)
	b := &bench{o: o, tb: tb, ctx: ctx, servers: [2]*server{p, k}}
	b.measure()
	fmt.Printf("\nmachine: %d cores, load average before %s, after %s; -d %s, -c %d\n\n", runtime.NumCPU(), b.loadBefore, loadAverage(), o.duration, o.concurrency)
	writeTable(os.Stdout, b.rows)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
