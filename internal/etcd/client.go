package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
)

// DefaultDialTimeout bounds connecting and the reachability check of
// NewClient when ClientOptions.DialTimeout is zero.
const DefaultDialTimeout = 5 * time.Second

// ClientOptions describes how to reach an etcd cluster, embedded
// (Embedded.Endpoints) or external (--etcd-servers).
type ClientOptions struct {
	// Endpoints are client URLs such as "https://10.0.0.1:2379". Required.
	Endpoints []string
	// CertFile and KeyFile are the client certificate and key; CAFile
	// verifies the servers. Any of them turns TLS on.
	CertFile, KeyFile, CAFile string
	// DialTimeout bounds connecting and the reachability check; zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Logger receives the client's warnings and errors; nil discards them.
	Logger *slog.Logger
	// DialOptions are added to the client's own (tracing's stats
	// handler: a client span per etcd call, child of the request's).
	DialOptions []grpc.DialOption
}

// Validate reports missing or inconsistent options.
func (o *ClientOptions) Validate() error {
	var errs []error
	if len(o.Endpoints) == 0 {
		errs = append(errs, errors.New("etcd: at least one endpoint is required"))
	}
	for _, ep := range o.Endpoints {
		if strings.TrimSpace(ep) == "" {
			errs = append(errs, errors.New("etcd: empty endpoint"))
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("etcd: client certificate and key go together"))
	}
	if o.DialTimeout < 0 {
		errs = append(errs, errors.New("etcd: dial timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// NewClient connects to the cluster and checks that it answers a
// linearizable read before returning. Its KV's errors that mean the
// cluster cannot answer now (no leader, no quorum, timeouts) are
// UnavailableError. The caller closes the client.
func NewClient(ctx context.Context, o ClientOptions) (*clientv3.Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	timeout := o.DialTimeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	cfg := clientv3.Config{
		Endpoints:            o.Endpoints,
		DialTimeout:          timeout,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		Logger:               newZapLogger(o.Logger, "etcd-client", nil),
		DialOptions:          o.DialOptions,
	}
	switch {
	case o.CertFile != "" || o.KeyFile != "" || o.CAFile != "":
		tlsCfg, err := transport.TLSInfo{
			CertFile:      o.CertFile,
			KeyFile:       o.KeyFile,
			TrustedCAFile: o.CAFile,
		}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd: client TLS: %w", err)
		}
		cfg.TLS = tlsCfg
	case anyHTTPS(o.Endpoints):
		// HTTPS without files: verify the servers against the system roots.
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}

	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(o.Endpoints, ","), err)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The same probe as `etcdctl endpoint health`: a quorum read. Permission
	// denied still proves the cluster is up and has a leader.
	if _, err := c.Get(cctx, "health"); err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		c.Close()
		return nil, fmt.Errorf("etcd: %s not reachable: %w", strings.Join(o.Endpoints, ","), err)
	}
	// Without quorum, reads and writes fail as UnavailableError.
	c.KV = classifyingKV{c.KV}
	return c, nil
}

func anyHTTPS(endpoints []string) bool {
	for _, ep := range endpoints {
		if strings.HasPrefix(ep, "https://") || strings.HasPrefix(ep, "unixs://") {
			return true
		}
	}
	return false
}
