// Command peers builds the real Kubernetes components into bin/peers/
// (see internal/peerbin) and prints their versions: `go tool task peers`
// runs it. With names as arguments it builds only those; a binary built
// from the same test/peers go.mod and go.sum is not built again.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/peerbin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(names []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := peerbin.FindRoot(wd)
	if err != nil {
		return err
	}
	bins := peerbin.All
	if len(names) > 0 {
		bins = nil
		for _, n := range names {
			b, err := peerbin.Lookup(n)
			if err != nil {
				return err
			}
			bins = append(bins, b)
		}
	}
	c := peerbin.Cache{Root: root}
	start := time.Now()
	if err := c.Build(ctx, os.Stderr, bins...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "peers: ready in %s, in %s\n", time.Since(start).Round(100*time.Millisecond), c.Dir())
	for _, b := range bins {
		v, err := c.Version(ctx, b.Name)
		if err != nil {
			return err
		}
		fmt.Printf("%-24s %s\n", b.Name, v)
	}
	return nil
}
