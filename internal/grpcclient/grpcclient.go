// Package grpcclient dials Portico's services: one long-lived HTTP/2
// connection per backend over mutual TLS, never a dial per request.
//
// A service may run as several replicas. A Target names them (a list of
// host:port, or a dns:/// name resolving to several); the connection
// balances calls across them with gRPC's round_robin, sends calls only to
// backends whose grpc.health.v1 status is SERVING (client-side health
// checking), retries on another backend the calls that are safe to repeat
// (RetryPolicy) and resumes broken watch streams from their last
// resourceVersion (resume.go).
package grpcclient

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	// Registers client-side health checking (healthCheckConfig).
	_ "google.golang.org/grpc/health"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/stats"
)

// MaxMessageBytes bounds every message a client receives. An unpaged
// list of everything of a kind is one message (kube-apiserver answers it
// whole), so the bound is far above any single object: 512 MiB, a quarter
// of etcd's default quota.
const MaxMessageBytes = 512 << 20

// MaxAddresses bounds the replicas one Target may list.
const MaxAddresses = 64

// DefaultMaxAttempts is how many times a call that is safe to retry is
// tried in all, on different backends when there are several.
const DefaultMaxAttempts = 3

// reconnect is how fast a connection to a backend that went away is
// tried again: a restarted replica gets calls again within about a
// second, not after gRPC's default of up to two minutes.
func reconnect() grpc.ConnectParams {
	return grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: 2 * time.Second,
	}
}

// Target is where a service's replicas are: either static addresses or
// one DNS name that resolves to them.
type Target struct {
	// Addresses are host:port pairs, in the order given.
	Addresses []string
	// DNS is a "dns:///host:port" target, re-resolved by gRPC.
	DNS string
}

// ParseTarget reads a --grpc-*-address value: "host:port", a
// comma-separated list of them, or "dns:///host:port".
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, errors.New("empty address")
	}
	if rest, ok := strings.CutPrefix(s, "dns:"); ok {
		// dns:///host:port, or dns://resolver/host:port as gRPC allows.
		if !strings.HasPrefix(rest, "//") {
			return Target{}, fmt.Errorf("%q: a DNS target is dns:///host:port", s)
		}
		rest = rest[2:]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return Target{}, fmt.Errorf("%q: a DNS target is dns:///host:port", s)
		}
		if err := checkHostPort(rest[i+1:]); err != nil {
			return Target{}, fmt.Errorf("%q: %w", s, err)
		}
		return Target{DNS: s}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxAddresses {
		return Target{}, fmt.Errorf("%d addresses: at most %d", len(parts), MaxAddresses)
	}
	var t Target
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if err := checkHostPort(p); err != nil {
			return Target{}, err
		}
		if seen[p] {
			return Target{}, fmt.Errorf("address %s listed twice", p)
		}
		seen[p] = true
		t.Addresses = append(t.Addresses, p)
	}
	return t, nil
}

func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("address %q: %w", a, err)
	}
	if host == "" {
		return fmt.Errorf("address %q: no host", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q: port %q is not a port number", a, port)
	}
	return nil
}

// String is the target as the flag would give it.
func (t Target) String() string {
	if t.DNS != "" {
		return t.DNS
	}
	return strings.Join(t.Addresses, ",")
}

// Single returns the one address of a target that lists exactly one.
func (t Target) Single() (string, bool) {
	if t.DNS == "" && len(t.Addresses) == 1 {
		return t.Addresses[0], true
	}
	return "", false
}

// Options configure a connection to one service's replicas.
type Options struct {
	// TLS carries the caller's certificate and the CA that signed the
	// servers'. Required. Its ServerName may be empty: each backend is
	// then verified for its own host.
	TLS *tls.Config
	// HealthService is the grpc.health.v1 service that must be SERVING
	// for a backend to get calls ("" is the server as a whole).
	HealthService string
	// Retry decides which calls are tried again on Unavailable; nil
	// retries nothing.
	Retry RetryPolicy
	// MaxAttempts bounds the tries of a retried call; 0 is
	// DefaultMaxAttempts.
	MaxAttempts int
	// ResumeWatches resumes watch streams that break with Unavailable
	// from their last resourceVersion (the api's Watch* methods).
	ResumeWatches bool
	// Logger hears retries and resumes at debug level; nil discards.
	Logger *slog.Logger
	// StatsHandler, if set, sees every call (tracing: a client span
	// per call, its traceparent sent in the metadata; a retried call is
	// one span per attempt). nil installs none.
	StatsHandler stats.Handler
}

// Validate reports missing or impossible options.
func (o *Options) Validate() error {
	var errs []error
	if o.TLS == nil {
		errs = append(errs, errors.New("TLS is required"))
	} else if o.TLS.MinVersion < tls.VersionTLS12 {
		errs = append(errs, errors.New("TLS below 1.2"))
	}
	if o.MaxAttempts < 0 || o.MaxAttempts > 10 {
		errs = append(errs, fmt.Errorf("MaxAttempts %d: between 0 (default) and 10", o.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Dial returns a lazily connecting client for one address. tlsConf must
// carry the caller's certificate and the CA that signed the server's.
func Dial(address string, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	t, err := ParseTarget(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	return DialTarget(t, Options{TLS: tlsConf})
}

// DialTarget returns a lazily connecting client that balances over t's
// replicas as o says.
func DialTarget(t Target, o Options) (*grpc.ClientConn, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("dial %s: %w", t, err)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sc, err := serviceConfig(o.HealthService)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(o.TLS)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes)),
		// Our own config only: a DNS TXT record must not change it.
		grpc.WithDisableServiceConfig(),
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithConnectParams(reconnect()),
	}
	if o.StatsHandler != nil {
		opts = append(opts, grpc.WithStatsHandler(o.StatsHandler))
	}
	if o.Retry != nil {
		r := retrier{policy: o.Retry, attempts: o.MaxAttempts, log: log}
		opts = append(opts, grpc.WithChainUnaryInterceptor(r.unary))
	}
	if o.ResumeWatches {
		opts = append(opts, grpc.WithChainStreamInterceptor(resumer{attempts: o.MaxAttempts, log: log}.stream))
	}
	target := t.DNS
	if target == "" {
		// A resolver of this connection's own (no global registry)
		// holding the static list; each address is verified for its own
		// host.
		r := manual.NewBuilderWithScheme("portico-static")
		var eps []resolver.Endpoint
		for _, a := range t.Addresses {
			host, _, _ := net.SplitHostPort(a)
			eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a, ServerName: host}}})
		}
		r.InitialState(resolver.State{Endpoints: eps})
		opts = append(opts, grpc.WithResolvers(r))
		// The authority (and :authority header) is the first address.
		target = "portico-static:///" + t.Addresses[0]
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t, err)
	}
	return conn, nil
}

// serviceConfig is round_robin over every backend, with calls only to
// those reporting healthService SERVING.
func serviceConfig(healthService string) (string, error) {
	b, err := json.Marshal(map[string]any{
		"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}},
		"healthCheckConfig":   map[string]any{"serviceName": healthService},
	})
	if err != nil {
		return "", err
	}
	return string(b), nil
}
