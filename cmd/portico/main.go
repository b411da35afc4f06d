// Command portico runs Portico, a Kubernetes-style API server built as
// gRPC services: `portico up` runs them all on one machine with embedded
// etcd; `portico authn|authz|api|gateway` run one each; `portico certs`
// makes the internal PKI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

const usage = `Usage: portico <command> [flags]

Commands:
  up        run every service in one process, with embedded etcd
  authn     run the authentication service
  authz     run the authorization service
  api       run the resource service (etcd storage)
  gateway   run the REST gateway (insecure and secure ports)
  certs     make the internal PKI and the admin client certificate
  kubeconfig  issue a user client certificate and write its kubeconfig

Run 'portico <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "portico:", err)
		}
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	o := defaultOptions()
	fs := pflag.NewFlagSet("portico "+cmd, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	o.addCommonFlags(fs)
	var ko *kubeconfigOptions
	switch cmd {
	case "up", "api", "authn", "authz":
		o.serves = []string{cmd}
		if cmd == "up" {
			o.serves = []string{"api", "authn", "authz"}
		}
	}
	switch cmd {
	case "up", "gateway", "api", "authn", "authz":
		o.addTracingFlags(fs)
	}
	switch cmd {
	case "up":
		o.addServiceCertFlags(fs)
		o.addGatewayFlags(fs)
		o.addAuthnFlags(fs)
		o.addAuthzFlags(fs)
		o.addStorageFlags(fs)
	case "gateway":
		o.addGatewayFlags(fs)
	case "authn":
		o.addServiceCertFlags(fs)
		o.addAuthnFlags(fs)
	case "authz":
		o.addServiceCertFlags(fs)
		o.addAuthzFlags(fs)
	case "api":
		o.addServiceCertFlags(fs)
		o.addStorageFlags(fs)
	case "certs":
		o.addServiceCertFlags(fs)
		fs.StringSliceVar(&o.certHosts, "hosts", nil, "More DNS names and IP addresses for every service certificate (comma-separated), for services that reach each other across hosts; certificates already in <data-dir>/pki keep theirs (remove a pair to have it made again).")
	case "kubeconfig":
		ko = addKubeconfigFlags(fs)
		fs.StringVar(&o.tlsCertFile, "tls-cert-file", "", "The secure port's certificate (its CA goes into the kubeconfig). Default: <data-dir>/certs/apiserver.crt.")
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", cmd, fs.Args())
	}
	if err := o.validate(fs); err != nil {
		return err
	}
	log := newLogger(stderr, o.logLevel)
	switch cmd {
	case "up":
		return runUp(ctx, o, log, stdout)
	case "certs":
		return runCerts(o, stdout)
	case "kubeconfig":
		return runKubeconfig(o, ko, stdout)
	default:
		return runOne(ctx, cmd, o, log)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
