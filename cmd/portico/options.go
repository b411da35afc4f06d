package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/portico-dev/portico/internal/pki"
)

// options is the union of every service's flags; each subcommand
// registers the groups it uses. Names follow kube-apiserver.
type options struct {
	dataDir  string
	logLevel string

	// internal gRPC listeners
	grpcAPIAddress   string
	grpcAuthnAddress string
	grpcAuthzAddress string

	// gateway ports
	insecurePort        int
	insecureBindAddress string
	insecureAllowRemote bool
	securePort          int
	bindAddress         string
	tlsCertFile         string
	tlsKeyFile          string
	certDir             string
	readOnlyPort        int

	// authn
	clientCAFile  string
	tokenAuthFile string
	anonymousAuth bool

	// authz
	authorizationModes []string
	policyFile         string

	// storage
	etcdServers  []string
	etcdCAFile   string
	etcdCertFile string
	etcdKeyFile  string

	shutdownGrace time.Duration
}

func defaultOptions() *options {
	return &options{
		dataDir:             ".portico",
		logLevel:            "info",
		grpcAPIAddress:      "127.0.0.1:6444",
		grpcAuthnAddress:    "127.0.0.1:6445",
		grpcAuthzAddress:    "127.0.0.1:6446",
		insecurePort:        8080,
		insecureBindAddress: "127.0.0.1",
		securePort:          6443,
		authorizationModes:  []string{"AlwaysDeny"},
		shutdownGrace:       10 * time.Second,
	}
}

func (o *options) addCommonFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "Directory for Portico's state: the internal PKI (pki/), embedded etcd (etcd/), serving certificates and the admin kubeconfig.")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "Log level: debug, info, warn or error.")
	fs.DurationVar(&o.shutdownGrace, "shutdown-grace-period", o.shutdownGrace, "How long running requests may take to finish after SIGTERM.")
	fs.StringVar(&o.grpcAPIAddress, "grpc-api-address", o.grpcAPIAddress, "host:port of the api service's gRPC listener.")
	fs.StringVar(&o.grpcAuthnAddress, "grpc-authn-address", o.grpcAuthnAddress, "host:port of the authn service's gRPC listener.")
	fs.StringVar(&o.grpcAuthzAddress, "grpc-authz-address", o.grpcAuthzAddress, "host:port of the authz service's gRPC listener.")
	fs.StringVar(&o.clientCAFile, "client-ca-file", o.clientCAFile, "CA bundle that user client certificates must verify against (CN = user, O = groups). Default with up: <data-dir>/pki/client-ca.crt.")
}

func (o *options) addGatewayFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.insecurePort, "insecure-port", o.insecurePort, "Port of the insecure HTTP listener: no authentication, no authorization. 0 disables it.")
	fs.StringVar(&o.insecureBindAddress, "insecure-bind-address", o.insecureBindAddress, "Address of the insecure port. Only loopback unless --insecure-allow-remote.")
	fs.BoolVar(&o.insecureAllowRemote, "insecure-allow-remote", false, "Allow --insecure-bind-address to be a non-loopback address. The port is then protected only by network access.")
	fs.IntVar(&o.securePort, "secure-port", o.securePort, "Port of the HTTPS listener with authentication and authorization. 0 disables it.")
	fs.StringVar(&o.bindAddress, "bind-address", "", "Address of the secure port. Default: the first non-loopback interface's address, else 0.0.0.0.")
	fs.StringVar(&o.tlsCertFile, "tls-cert-file", "", "Serving certificate of the secure port. When empty, a self-signed one is made in --cert-dir.")
	fs.StringVar(&o.tlsKeyFile, "tls-private-key-file", "", "Key of --tls-cert-file.")
	fs.StringVar(&o.certDir, "cert-dir", "", "Where the self-signed serving certificate goes. Default: <data-dir>/certs.")
	fs.IntVar(&o.readOnlyPort, "read-only-port", 0, "Removed: the read-only port is gone for security reasons. Use service accounts instead.")
}

func (o *options) addAuthnFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.tokenAuthFile, "token-auth-file", "", "Static bearer tokens, CSV: token,user,uid,\"group1,group2\".")
	fs.BoolVar(&o.anonymousAuth, "anonymous-auth", false, "Treat requests with no credential as system:anonymous.")
}

func (o *options) addAuthzFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.authorizationModes, "authorization-mode", o.authorizationModes, "Ordered list of authorization modes: AlwaysAllow, AlwaysDeny. system:masters is always allowed.")
	fs.StringVar(&o.policyFile, "authorization-policy-file", "", "ABAC policy file (JSON lines).")
}

func (o *options) addStorageFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.etcdServers, "etcd-servers", nil, "External etcd client URLs. When empty, an embedded etcd runs in <data-dir>/etcd.")
	fs.StringVar(&o.etcdCAFile, "etcd-cafile", "", "CA of the external etcd's serving certificate.")
	fs.StringVar(&o.etcdCertFile, "etcd-certfile", "", "Client certificate for the external etcd.")
	fs.StringVar(&o.etcdKeyFile, "etcd-keyfile", "", "Key of --etcd-certfile.")
}

// pki is the layout of the internal PKI under --data-dir.
func (o *options) pki() pki.Layout { return pki.Layout{Dir: filepath.Join(o.dataDir, "pki")} }

func (o *options) validate(fs *pflag.FlagSet) error {
	var errs []error
	if fs.Lookup("read-only-port") != nil && fs.Changed("read-only-port") {
		errs = append(errs, errors.New("--read-only-port: the read-only port was removed for security reasons; use service accounts (bearer tokens on the secure port) instead"))
	}
	if o.dataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	for flag, p := range map[string]int{"--insecure-port": o.insecurePort, "--secure-port": o.securePort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: %d is not a port (0 disables)", flag, p))
		}
	}
	if fs.Lookup("insecure-bind-address") != nil && o.insecurePort != 0 {
		ip := net.ParseIP(o.insecureBindAddress)
		switch {
		case ip == nil:
			errs = append(errs, fmt.Errorf("--insecure-bind-address: %q is not an IP address", o.insecureBindAddress))
		case !ip.IsLoopback() && !o.insecureAllowRemote:
			errs = append(errs, fmt.Errorf("--insecure-bind-address %s is not a loopback address: the insecure port has no authentication; add --insecure-allow-remote to bind it anyway", o.insecureBindAddress))
		}
	}
	if o.bindAddress != "" && net.ParseIP(o.bindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address: %q is not an IP address", o.bindAddress))
	}
	if (o.tlsCertFile == "") != (o.tlsKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together"))
	}
	for flag, a := range map[string]string{"--grpc-api-address": o.grpcAPIAddress, "--grpc-authn-address": o.grpcAuthnAddress, "--grpc-authz-address": o.grpcAuthzAddress} {
		if _, port, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		} else if _, err := strconv.Atoi(port); err != nil {
			errs = append(errs, fmt.Errorf("%s: port %q is not a number", flag, port))
		}
	}
	switch strings.ToLower(o.logLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", o.logLevel))
	}
	return errors.Join(errs...)
}

// defaultBindAddress is kube-apiserver's default for --bind-address: the
// first non-loopback interface's address, else 0.0.0.0.
func defaultBindAddress() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "0.0.0.0"
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	return "0.0.0.0"
}
