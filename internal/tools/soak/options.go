package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/loadgen"
)

// Defaults of the options.
const (
	defaultDuration = 10 * time.Minute
	defaultInterval = time.Minute
	defaultRate     = 100
	defaultWorkers  = 8
	defaultWatchers = 4
	defaultPool     = 100
	defaultChurn    = 200
	defaultDir      = ".portico-soak"
)

// Bounds of the options, so that a soak can neither run nor grow
// without limit.
const (
	maxDuration  = 24 * time.Hour
	minInterval  = 5 * time.Second
	maxIntervals = 1440
	maxRate      = 2000
	maxWorkers   = 64
	maxWatchers  = 32
	maxObjects   = 5000
)

// options are the soak's flags.
type options struct {
	// dir is the cluster's state; removed at start, its logs kept after.
	dir string
	// portico and etcd are the binaries ("" etcd: bin/peers/etcd).
	portico, etcd string
	// duration is how long the load runs, in intervals of interval; a
	// table row per process is printed at the end of each.
	duration, interval time.Duration
	// rate is the requests a second the workers aim at, split evenly
	// over the gateways.
	rate int
	// workers send the requests (at least one per gateway).
	workers int
	// watchers are open watches on the load's namespace, spread over
	// the gateways.
	watchers int
	// pool is how many config maps are updated and read; churn how many
	// created ones are kept before the oldest is deleted.
	pool, churn int
	// etcdCompaction, when not 0, has the etcd members compact their
	// history themselves (periodic, keeping this much). The cluster
	// layout does not: nothing compacts its etcd.
	etcdCompaction time.Duration
}

func defaultOptions() options {
	return options{
		dir: defaultDir, portico: "bin/portico",
		duration: defaultDuration, interval: defaultInterval,
		rate: defaultRate, workers: defaultWorkers, watchers: defaultWatchers,
		pool: defaultPool, churn: defaultChurn,
	}
}

// Validate reports every option that would run unbounded or not at all.
func (o options) Validate() error {
	var errs []error
	if o.dir == "" || o.dir == "." || o.dir == "/" {
		errs = append(errs, errors.New("-dir: a directory of its own is required (it is removed at start)"))
	}
	if o.portico == "" {
		errs = append(errs, errors.New("-portico: the portico binary is required (go tool task build)"))
	}
	if o.interval < minInterval || o.interval > loadgen.MaxDuration {
		errs = append(errs, fmt.Errorf("-interval %s: between %s and %s", o.interval, minInterval, loadgen.MaxDuration))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		errs = append(errs, fmt.Errorf("-duration %s: between 0 and %s", o.duration, maxDuration))
	} else if o.interval > 0 && (o.duration < o.interval || o.duration%o.interval != 0) {
		errs = append(errs, fmt.Errorf("-duration %s: a whole number of -interval %s", o.duration, o.interval))
	} else if o.interval > 0 && o.duration/o.interval > maxIntervals {
		errs = append(errs, fmt.Errorf("-duration %s: at most %d intervals of %s", o.duration, maxIntervals, o.interval))
	}
	if o.rate < 1 || o.rate > maxRate {
		errs = append(errs, fmt.Errorf("-rate %d: between 1 and %d requests a second", o.rate, maxRate))
	}
	if o.workers < 2 || o.workers > maxWorkers || o.workers%2 != 0 {
		errs = append(errs, fmt.Errorf("-workers %d: an even number between 2 and %d (half on each gateway)", o.workers, maxWorkers))
	}
	if o.watchers < 0 || o.watchers > maxWatchers {
		errs = append(errs, fmt.Errorf("-watchers %d: between 0 and %d", o.watchers, maxWatchers))
	}
	if o.pool < 1 || o.pool > maxObjects || o.churn < 1 || o.churn > maxObjects {
		errs = append(errs, fmt.Errorf("-pool %d and -churn %d: between 1 and %d", o.pool, o.churn, maxObjects))
	}
	if o.etcdCompaction < 0 || o.etcdCompaction > maxDuration {
		errs = append(errs, fmt.Errorf("-etcd-compaction %s: between 0 (none) and %s", o.etcdCompaction, maxDuration))
	}
	if o.rate > 0 && o.workers > 0 && o.pace() > o.interval {
		errs = append(errs, fmt.Errorf("-rate %d with -workers %d: each worker would wait longer than an interval", o.rate, o.workers))
	}
	return errors.Join(errs...)
}

// pace is how often each worker sends a request, for the rate.
func (o options) pace() time.Duration {
	return time.Duration(o.workers) * time.Second / time.Duration(o.rate)
}

// intervals is how many rows per process the soak prints.
func (o options) intervals() int { return int(o.duration / o.interval) }

// parseFlags reads args into options with the defaults.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", o.dir, "State directory of the cluster; removed at start, every process's log kept in logs/ afterwards.")
	fs.StringVar(&o.portico, "portico", o.portico, "The portico binary.")
	fs.StringVar(&o.etcd, "etcd", "", "The etcd binary. Default: bin/peers/etcd (go tool task peers -- etcd).")
	fs.DurationVar(&o.duration, "duration", o.duration, "How long the load runs (a whole number of -interval).")
	fs.DurationVar(&o.interval, "interval", o.interval, "How often a row per process is printed.")
	fs.IntVar(&o.rate, "rate", o.rate, "Requests a second the load aims at, over both gateways (creates, updates, gets, lists, deletes).")
	fs.IntVar(&o.workers, "workers", o.workers, "Workers sending the requests, half through each gateway.")
	fs.IntVar(&o.watchers, "watchers", o.watchers, "Watches kept open on the load's namespace, spread over the gateways.")
	fs.IntVar(&o.pool, "pool", o.pool, "Config maps that are updated and read.")
	fs.IntVar(&o.churn, "churn", o.churn, "Created config maps kept; past this many the oldest is deleted.")
	fs.DurationVar(&o.etcdCompaction, "etcd-compaction", 0, "When not 0, the etcd members compact their history every this long, keeping this much (etcd's periodic auto-compaction; kube-apiserver compacts every 5m). 0: only the api replicas compact, every 5m as kube-apiserver (--etcd-compaction-interval).")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// clusterArgs are the flags the soak adds to the cluster's processes.
func (o options) clusterArgs() map[string][]string {
	if o.etcdCompaction <= 0 {
		return nil
	}
	return map[string][]string{cluster.RoleEtcd: {"--auto-compaction-mode", "periodic", "--auto-compaction-retention", o.etcdCompaction.String()}}
}
