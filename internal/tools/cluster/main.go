// Command cluster runs Portico as a cluster on this machine, every piece
// a process of its own on loopback (internal/cluster): a 3-member etcd
// cluster with mutual TLS, 2 api, 2 authn, 2 authz and 2 gateway
// replicas, from the PKI of `portico certs`. It prints the endpoints and
// writes an admin kubeconfig with one context per gateway, and stops
// everything on Ctrl-C. `go tool task cluster` builds what it needs and
// runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/peerbin"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o cluster.Options
	fs.StringVar(&o.Dir, "dir", ".portico-cluster", "State directory; everything in it but pki/ and certs/ is removed at start (etcd data, logs).")
	fs.StringVar(&o.Portico, "portico", "bin/portico", "The portico binary.")
	fs.StringVar(&o.Etcd, "etcd", "", "The etcd binary. Default: bin/peers/etcd (go tool task peers -- etcd).")
	fs.IntVar(&o.EtcdMembers, "etcd-members", cluster.DefaultEtcdMembers, "etcd members (odd).")
	fs.IntVar(&o.APIs, "apis", cluster.DefaultReplicas, "api replicas.")
	fs.IntVar(&o.Authns, "authns", cluster.DefaultReplicas, "authn replicas.")
	fs.IntVar(&o.Authzs, "authzs", cluster.DefaultReplicas, "authz replicas.")
	fs.IntVar(&o.Gateways, "gateways", cluster.DefaultReplicas, "gateway replicas.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Etcd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		root, err := peerbin.FindRoot(wd)
		if err != nil {
			return err
		}
		o.Etcd = peerbin.Cache{Root: root}.Path(peerbin.Etcd)
	}
	for _, bin := range []string{o.Portico, o.Etcd} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (go tool task build; go tool task peers -- etcd)", err)
		}
	}
	if err := clean(o.Dir); err != nil {
		return err
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return err
	}
	defer c.Stop()
	kubeconfig, err := filepath.Abs(filepath.Join(o.Dir, "admin.kubeconfig"))
	if err != nil {
		return err
	}
	if err := c.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Portico cluster is up:")
	c.Describe(stdout)
	fmt.Fprintf(stdout, "Admin kubeconfig (system:masters; a kubeconfig cluster has one server, so each gateway is a context):\n"+
		"  export KUBECONFIG=%s\n  kubectl get namespaces                      # gateway-0\n  kubectl --context gateway-1 get namespaces  # gateway-1\n"+
		"Ctrl-C stops everything.\n", kubeconfig)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	return nil
}

// clean removes dir's contents but the PKI and the serving pair, so a
// kubeconfig of an earlier run still works; the etcd members start a
// new cluster on new ports.
func clean(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "pki" || e.Name() == "certs" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
