package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/services/authz"

	"github.com/spf13/pflag"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/etcd"
	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/tlsconf"
	"github.com/portico-dev/portico/services/api"
	"github.com/portico-dev/portico/services/api/controllers"
)

// options is the union of every service's flags; each subcommand
// registers the groups it uses. Names follow kube-apiserver.
type options struct {
	dataDir  string
	logLevel string

	// internal gRPC listeners: where each service listens (one address)
	// and where the others reach its replicas (a list or dns:///).
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
	tlsMinVersion       string
	tlsCipherSuites     []string
	readOnlyPort        int

	// gateway limits and audit
	maxRequestsInflight         int
	maxMutatingRequestsInflight int
	maxWatchesPerUser           int
	requestTimeout              time.Duration
	requestBodyTimeout          time.Duration
	profiling                   bool
	serviceCertValidity         time.Duration
	auditLogPath                string

	// authn
	clientCAFile  string
	tokenAuthFile string
	anonymousAuth bool
	// service-account tokens
	serviceAccountKeyFiles       []string
	serviceAccountSigningKeyFile string
	serviceAccountIssuer         string
	apiAudiences                 []string
	// serviceAccountMaxTokenExpiration caps TokenRequest lifetimes.
	serviceAccountMaxTokenExpiration time.Duration

	// authz
	authorizationModes []string
	policyFile         string

	// storage
	etcdServers  []string
	etcdCAFile   string
	etcdCertFile string
	etcdKeyFile  string
	// encryption at rest
	encryptionProviderConfig string
	encryptionRewriteStale   bool
	// watches
	watchBookmarkInterval  time.Duration
	etcdCompactionInterval time.Duration
	// builtinControllers are the api's controllers to run.
	builtinControllers []string
	// watch cache
	watchCache     bool
	watchCacheSize int

	shutdownGrace time.Duration

	// tracingConfigFile is kube-apiserver's TracingConfiguration; empty
	// is tracing off.
	tracingConfigFile string
	// spanExporter, for tests, receives the spans instead of the
	// file's OTLP endpoint.
	spanExporter sdktrace.SpanExporter

	// certHosts are more names and addresses for the service
	// certificates `portico certs` issues.
	certHosts []string

	// serves are the services this command runs: their own
	// --grpc-<service>-address is where they listen, one address.
	serves []string
}

func defaultOptions() *options {
	return &options{
		dataDir:                     ".portico",
		logLevel:                    "info",
		grpcAPIAddress:              "127.0.0.1:6444",
		grpcAuthnAddress:            "127.0.0.1:6445",
		grpcAuthzAddress:            "127.0.0.1:6446",
		insecurePort:                8080,
		insecureBindAddress:         "127.0.0.1",
		securePort:                  6443,
		tlsMinVersion:               "VersionTLS12",
		maxRequestsInflight:         gateway.DefaultMaxRequestsInFlight,
		maxMutatingRequestsInflight: gateway.DefaultMaxMutatingRequestsInFlight,
		maxWatchesPerUser:           gateway.DefaultMaxWatchesPerUser,
		requestTimeout:              gateway.DefaultRequestTimeout,
		authorizationModes:          authz.DefaultModes(),
		shutdownGrace:               10 * time.Second,
		watchBookmarkInterval:       api.DefaultWatchBookmarkInterval,
		builtinControllers:          controllers.All(),
		watchCache:                  true,
		watchCacheSize:              100,
	}
}

func (o *options) addCommonFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "Directory for Portico's state: the internal PKI (pki/), embedded etcd (etcd/), serving certificates and the admin kubeconfig.")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "Log level: debug, info, warn or error.")
	fs.DurationVar(&o.shutdownGrace, "shutdown-grace-period", o.shutdownGrace, "How long running requests may take to finish after SIGTERM.")
	fs.StringVar(&o.grpcAPIAddress, "grpc-api-address", o.grpcAPIAddress, "The api service's gRPC address: host:port where `portico api` (and up) listens; for its callers, its replicas as a comma-separated list of host:port or a dns:///name:port target, balanced round-robin over the healthy ones.")
	fs.StringVar(&o.grpcAuthnAddress, "grpc-authn-address", o.grpcAuthnAddress, "The authn service's gRPC address: host:port where `portico authn` (and up) listens; for its callers, its replicas as a comma-separated list of host:port or a dns:///name:port target.")
	fs.StringVar(&o.grpcAuthzAddress, "grpc-authz-address", o.grpcAuthzAddress, "The authz service's gRPC address: host:port where `portico authz` (and up) listens; for its callers, its replicas as a comma-separated list of host:port or a dns:///name:port target.")
	fs.StringVar(&o.clientCAFile, "client-ca-file", o.clientCAFile, "CA bundle that user client certificates must verify against (CN = user, O = groups). Default with up: <data-dir>/pki/client-ca.crt.")
}

// addTracingFlags is for every command that runs a service.
func (o *options) addTracingFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.tracingConfigFile, "tracing-config-file", "", "File with kube-apiserver's TracingConfiguration (apiserver.config.k8s.io/v1, v1beta1 or v1alpha1): OpenTelemetry traces of every request across the gateway, api, authn, authz and etcd, exported by OTLP gRPC to its endpoint (default localhost:4317), sampled at samplingRatePerMillion (default 0: only requests whose W3C traceparent says sampled). When empty, nothing is traced.")
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
	fs.StringVar(&o.tlsMinVersion, "tls-min-version", o.tlsMinVersion, "Minimum TLS version of the secure port: VersionTLS12 or VersionTLS13 (1.0 and 1.1 are refused).")
	fs.StringSliceVar(&o.tlsCipherSuites, "tls-cipher-suites", nil, "Comma-separated cipher suites of the secure port for TLS 1.2, by Go name (e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256). Insecure suites are refused. Default: Go's secure defaults. TLS 1.3 suites are not configurable.")
	fs.IntVar(&o.readOnlyPort, "read-only-port", 0, "Removed: the read-only port is gone for security reasons. Use service accounts instead.")
	fs.IntVar(&o.maxRequestsInflight, "max-requests-inflight", o.maxRequestsInflight, "With --max-mutating-requests-inflight, the seats of priority and fairness: the requests served at once, watches excluded, shared out by priority level; a request waits in its flow's queue for a seat, at most a quarter of --request-timeout, then is 429 with Retry-After. The insecure port has as many seats of its own. system:masters and health probes are never limited. Both 0 is no limit.")
	fs.IntVar(&o.maxMutatingRequestsInflight, "max-mutating-requests-inflight", o.maxMutatingRequestsInflight, "Added to --max-requests-inflight for the seats of priority and fairness, as kube-apiserver does (the seats are not split by read or write).")
	fs.IntVar(&o.maxWatchesPerUser, "max-watches-per-user", o.maxWatchesPerUser, "The most watches one user may have open at once (each port counts its own); past it, 429 with Retry-After. Watches take no seat. system:masters on the secure port is never limited; on the insecure port all watches count as one user's. 0 is no limit.")
	fs.DurationVar(&o.requestTimeout, "request-timeout", o.requestTimeout, "How long a request other than a watch may take before it is answered 504 Timeout. A watch is bounded by its own timeoutSeconds.")
	fs.DurationVar(&o.requestBodyTimeout, "request-body-timeout", 0, "How long a client may take to send a request body once the request has its seat; past it, 400 and the seat is freed. Default: a sixth of --request-timeout (10s).")
	fs.BoolVar(&o.profiling, "profiling", false, "Serve Go's runtime profiles (net/http/pprof) under /debug/pprof/ on the insecure port, and only there; each profile is bounded by --request-timeout. Off by default (kube-apiserver's default is on, on its secure port): a profile costs CPU, and the insecure port asks for no credential.")
	fs.StringVar(&o.auditLogPath, "audit-log-path", "", "If set, one JSON line (audit.k8s.io/v1 Event, Metadata level) per request is appended to this file; '-' means standard out. Never holds a credential.")
}

func (o *options) addAuthnFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.tokenAuthFile, "token-auth-file", "", "Static bearer tokens, CSV: token,user,uid,\"group1,group2\".")
	fs.BoolVar(&o.anonymousAuth, "anonymous-auth", false, "Treat requests with no credential as system:anonymous (group system:unauthenticated). A credential that is present but wrong is refused (401), never anonymous.")
	fs.StringArrayVar(&o.serviceAccountKeyFiles, "service-account-key-file", nil, "File of PEM-encoded RSA or ECDSA keys (public or private, or certificates) that verify service-account tokens; repeat the flag or put several keys in a file to rotate keys. Default: the public half of --service-account-signing-key-file.")
	fs.StringVar(&o.serviceAccountSigningKeyFile, "service-account-signing-key-file", "", "PEM private key (RSA or ECDSA) that signs service-account tokens (TokenRequest, kubectl create token). `portico up` makes a development key in <data-dir>/pki/service-account.key when not given.")
	fs.StringVar(&o.serviceAccountIssuer, "service-account-issuer", "https://kubernetes.default.svc.cluster.local", "Identifier of the service-account token issuer: the \"iss\" claim of issued tokens, and the issuer tokens must name.")
	fs.DurationVar(&o.serviceAccountMaxTokenExpiration, "service-account-max-token-expiration", 0, "The longest lifetime a TokenRequest (kubectl create token) gets: a longer request is shortened to it, with a warning. 0 is no cap but 2^32 seconds; otherwise between 1h and 2^32 seconds.")
	fs.StringSliceVar(&o.apiAudiences, "api-audiences", nil, "Audiences a service-account token must name (one of) to be accepted by the API. Default: the issuer.")
}

func (o *options) addAuthzFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.authorizationModes, "authorization-mode", o.authorizationModes, "Ordered list of plug-ins to do authorization on the secure port and gRPC: AlwaysAllow, AlwaysDeny, ABAC, Node, RBAC. The first to allow or deny decides; system:masters is always allowed.")
	fs.StringVar(&o.policyFile, "authorization-policy-file", "", "File with authorization policy in JSON line by line format, used with --authorization-mode=ABAC; re-read when it changes.")
}

// addServiceCertFlags are the flags of the commands that issue service
// certificates from the internal CA (up, certs).
func (o *options) addServiceCertFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.serviceCertValidity, "service-cert-validity", pki.DefaultServiceValidity, "How long the internal service certificates in <data-dir>/pki are valid. `portico up` renews its services' with a third of it left, and they use the new ones without a restart; for separate processes, run `portico certs` that often on the CA's host and hand out the renewed files (docs/deploy.md). At least 15s.")
}

func (o *options) addStorageFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.etcdServers, "etcd-servers", nil, "External etcd client URLs. When empty, an embedded etcd runs in <data-dir>/etcd.")
	fs.StringVar(&o.etcdCAFile, "etcd-cafile", "", "CA of the external etcd's serving certificate.")
	fs.StringVar(&o.etcdCertFile, "etcd-certfile", "", "Client certificate for the external etcd.")
	fs.StringVar(&o.etcdKeyFile, "etcd-keyfile", "", "Key of --etcd-certfile.")
	fs.StringVar(&o.encryptionProviderConfig, "encryption-provider-config", "", "File with kube-apiserver's EncryptionConfiguration (apiserver.config.k8s.io/v1): which resources are encrypted in etcd, with which providers (aesgcm, aescbc, secretbox, identity) and keys. The first provider of an entry encrypts writes; all of them read.")
	fs.StringSliceVar(&o.builtinControllers, "builtin-controllers", o.builtinControllers, "The api's built-in controllers: garbagecollector (ownerReferences, foregroundDeletion and orphan finalizers) and namespace (empties Terminating namespaces, then finalizes them). kube-controller-manager's names (garbage-collector-controller, namespace-controller), '*' and '-name' work too. Set it empty (--builtin-controllers=) when a kube-controller-manager runs against Portico, and on all but one api replica.")
	fs.BoolVar(&o.watchCache, "watch-cache", o.watchCache, "Serve gets, lists and watches of every resource from memory kept current by one etcd watch per resource, as fresh as a quorum read of etcd (kube-apiserver's consistent reads from cache). false reads etcd on every request.")
	fs.IntVar(&o.watchCacheSize, "default-watch-cache-size", o.watchCacheSize, "How many recent events the watch cache keeps per resource, for watches that resume from a resourceVersion; older ones get 410 Gone and list again.")
	fs.BoolVar(&o.encryptionRewriteStale, "encryption-rewrite-stale", false, "After the api starts, store again every object of the configured resources that is not stored with the first provider and key (the last step of a key rotation, as `kubectl get secrets -A -o json | kubectl replace -f -`). Concurrent writes are never lost.")
	fs.DurationVar(&o.etcdCompactionInterval, "etcd-compaction-interval", etcd.DefaultCompactionInterval, "How often the api compacts an external etcd (--etcd-servers) to the revision it had one interval earlier, as kube-apiserver does; several api replicas compact it once per interval between them. 0 leaves compaction to etcd (--auto-compaction-retention). The embedded etcd compacts itself every 5m.")
	fs.DurationVar(&o.watchBookmarkInterval, "watch-bookmark-interval", o.watchBookmarkInterval, "How often a watch with allowWatchBookmarks gets a BOOKMARK event (one also comes two seconds before its timeoutSeconds ends).")
}

// grpcAddress is --grpc-<service>-address.
func (o *options) grpcAddress(service string) string {
	switch service {
	case "api":
		return o.grpcAPIAddress
	case "authn":
		return o.grpcAuthnAddress
	case "authz":
		return o.grpcAuthzAddress
	}
	return ""
}

// pki is the layout of the internal PKI under --data-dir.
func (o *options) pki() pki.Layout {
	return pki.Layout{Dir: filepath.Join(o.dataDir, "pki"), Hosts: o.certHosts, ServiceValidity: o.serviceCertValidity}
}

// maxCertHosts bounds --hosts.
const maxCertHosts = 100

// validateHosts checks --hosts: IP addresses or DNS names.
func validateHosts(hosts []string) []error {
	var errs []error
	if len(hosts) > maxCertHosts {
		errs = append(errs, fmt.Errorf("--hosts: %d names, at most %d", len(hosts), maxCertHosts))
	}
	for _, h := range hosts {
		if net.ParseIP(h) != nil {
			continue
		}
		if len(h) == 0 || len(h) > 253 || !dnsName.MatchString(h) {
			errs = append(errs, fmt.Errorf("--hosts: %q is neither an IP address nor a DNS name", h))
		}
	}
	return errs
}

var dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

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
	minVersion, verr := tlsconf.ParseMinVersion(o.tlsMinVersion)
	if verr != nil {
		errs = append(errs, fmt.Errorf("--tls-min-version: %w", verr))
	}
	suites, err := tlsconf.ParseCipherSuites(o.tlsCipherSuites)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("--tls-cipher-suites: %w", err))
	case verr == nil && tlsconf.HTTP2CipherSuiteMissing(suites, minVersion):
		errs = append(errs, errors.New("--tls-cipher-suites: include TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: HTTP/2 over TLS 1.2 requires one of them"))
	}
	for _, f := range []struct {
		flag string
		v    int
	}{
		{"--max-requests-inflight", o.maxRequestsInflight},
		{"--max-mutating-requests-inflight", o.maxMutatingRequestsInflight},
		{"--max-watches-per-user", o.maxWatchesPerUser},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative (0 is no limit)", f.flag, f.v))
		}
	}
	if o.etcdCompactionInterval < 0 {
		errs = append(errs, fmt.Errorf("--etcd-compaction-interval: %s is negative (0 leaves compaction to etcd)", o.etcdCompactionInterval))
	}
	if o.watchBookmarkInterval <= 0 {
		errs = append(errs, fmt.Errorf("--watch-bookmark-interval: %s must be positive", o.watchBookmarkInterval))
	}
	if o.requestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--request-timeout: %s must be positive", o.requestTimeout))
	}
	if fs.Lookup("service-cert-validity") != nil && o.serviceCertValidity < pki.MinServiceValidity {
		errs = append(errs, fmt.Errorf("--service-cert-validity: %s is shorter than %s", o.serviceCertValidity, pki.MinServiceValidity))
	}
	if o.profiling && o.insecurePort == 0 {
		errs = append(errs, errors.New("--profiling: profiles are served on the insecure port only, and --insecure-port is 0"))
	}
	if o.requestBodyTimeout < 0 {
		errs = append(errs, fmt.Errorf("--request-body-timeout: %s is negative (0 is a sixth of --request-timeout)", o.requestBodyTimeout))
	}
	for _, service := range []string{"api", "authn", "authz"} {
		t, err := grpcclient.ParseTarget(o.grpcAddress(service))
		if err != nil {
			errs = append(errs, fmt.Errorf("--grpc-%s-address: %w", service, err))
			continue
		}
		if _, one := t.Single(); !one && slices.Contains(o.serves, service) {
			errs = append(errs, fmt.Errorf("--grpc-%s-address %s: this process serves %s and listens on one host:port (the list of replicas is for its callers)", service, t, service))
		}
	}
	if o.watchCache && o.watchCacheSize <= 0 {
		errs = append(errs, fmt.Errorf("--default-watch-cache-size: %d is not a size; disable the cache with --watch-cache=false", o.watchCacheSize))
	}
	if o.encryptionRewriteStale && o.encryptionProviderConfig == "" {
		errs = append(errs, errors.New("--encryption-rewrite-stale needs --encryption-provider-config: with no configuration nothing is encrypted"))
	}
	if _, err := controllers.Parse(o.builtinControllers); err != nil {
		errs = append(errs, fmt.Errorf("--builtin-controllers: %w", err))
	}
	errs = append(errs, validateHosts(o.certHosts)...)
	switch strings.ToLower(o.logLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", o.logLevel))
	}
	return errors.Join(errs...)
}

// iface is what picking a bind address needs of a network interface.
type iface struct {
	name  string
	up    bool
	loop  bool
	addrs []net.Addr
}

// hostInterfaces lists this host's interfaces.
func hostInterfaces() []iface {
	ifcs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []iface
	for _, ifc := range ifcs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		out = append(out, iface{name: ifc.Name, up: ifc.Flags&net.FlagUp != 0, loop: ifc.Flags&net.FlagLoopback != 0, addrs: addrs})
	}
	return out
}

// defaultBindAddress is kube-apiserver's default for --bind-address: the
// first IPv4 address (not loopback, not link-local) of the first
// interface that is up and not a loopback; else 0.0.0.0, every
// interface. It returns the interface's name, "" for 0.0.0.0.
func defaultBindAddress(ifaces []iface) (address, ifaceName string) {
	for _, ifc := range ifaces {
		if !ifc.up || ifc.loop {
			continue
		}
		for _, a := range ifc.addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP.String(), ifc.name
			}
		}
	}
	return "0.0.0.0", ""
}
