// Command soak runs the cluster of `go tool task cluster`
// (internal/cluster: 3 etcd members, 2 api, 2 authn, 2 authz and 2
// gateways, each its own process on loopback) under a steady mixed load
// through both gateways for -duration: config map creates, updates
// (compare-and-swap), gets, lists and deletes at -rate, paced
// (internal/loadgen), and -watchers open watches. Every -interval it
// prints a row per process (RSS from /proc/<pid>/status, goroutines
// from /metrics where the process serves it, open fds from
// /proc/<pid>/fd) with the load's rate, p50, p99 and errors in that
// interval, and at the end a summary of the first interval against the
// last, so that "flat" can be judged. Every process is stopped at the
// end and on Ctrl-C.
//
//	go tool task soak                                # 10 minutes, a row a minute
//	go tool task soak -- -duration 2m -interval 30s  # a short look
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/portico-dev/portico/internal/peerbin"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program: 0 when the soak ran (or was interrupted and
// summarised), 1 when it failed, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	if o.etcd == "" {
		if wd, err := os.Getwd(); err == nil {
			if root, err := peerbin.FindRoot(wd); err == nil {
				o.etcd = peerbin.Cache{Root: root}.Path(peerbin.Etcd)
			}
		}
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	for _, bin := range []string{o.portico, o.etcd} {
		if _, err := os.Stat(bin); err != nil {
			fmt.Fprintf(stderr, "soak: %v (go tool task build; go tool task peers -- etcd)\n", err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runSoak(ctx, o, stdout, slog.New(slog.NewTextHandler(stderr, nil))); err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 1
	}
	return 0
}
