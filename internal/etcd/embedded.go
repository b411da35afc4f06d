// Package etcd runs an embedded single-member etcd and builds etcd v3
// clients for it or for an external cluster (--etcd-servers).
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	certutil "k8s.io/client-go/util/cert"
)

const (
	// DefaultCompactionRetention is how much history the embedded etcd keeps
	// (kube-apiserver compacts every 5 minutes too). A watch resuming from an
	// older resourceVersion gets 410 Gone and relists.
	DefaultCompactionRetention = 5 * time.Minute

	// startTimeout bounds the wait for the member to become ready when ctx
	// has no earlier deadline.
	startTimeout = time.Minute

	// maxRequestBytes leaves room above the storage layer's 1.5 MiB value
	// limit for the key and the transaction around it.
	maxRequestBytes = 2 * 1024 * 1024
)

// EmbeddedOptions configures an embedded single-member etcd.
type EmbeddedOptions struct {
	// DataDir holds etcd's data (e.g. <data-dir>/etcd). Required. It is
	// created with mode 0700 when missing; starting again with the same
	// DataDir keeps every acknowledged write.
	DataDir string

	// Optional TLS: when all three are set, the client (and the unused
	// peer) listener serves HTTPS with ServerCertFile/ServerKeyFile and
	// requires a client certificate signed by ClientCAFile. The server
	// certificate must be valid for the IP 127.0.0.1.
	ServerCertFile, ServerKeyFile, ClientCAFile string

	// AllowedClientCNs, with TLS, narrows the client certificates the
	// client listener accepts to those whose subject CN is one of these
	// (etcd's --client-cert-allowed-cn): a CA that also signs other
	// services' certificates then does not make them etcd users. Empty
	// accepts every certificate ClientCAFile signed. The peer listener
	// always accepts only the server certificate's own CN.
	AllowedClientCNs []string

	// CompactionRetention is the history kept before automatic compaction;
	// zero means DefaultCompactionRetention.
	CompactionRetention time.Duration

	// Logger receives etcd's warnings and errors; nil discards them.
	Logger *slog.Logger
}

func (o *EmbeddedOptions) tlsEnabled() bool {
	return o.ServerCertFile != "" || o.ServerKeyFile != "" || o.ClientCAFile != ""
}

// Validate reports missing or inconsistent options.
func (o *EmbeddedOptions) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("etcd: data dir is required"))
	}
	if o.tlsEnabled() {
		for _, f := range []struct{ name, path string }{
			{"server certificate", o.ServerCertFile},
			{"server key", o.ServerKeyFile},
			{"client CA", o.ClientCAFile},
		} {
			if f.path == "" {
				errs = append(errs, fmt.Errorf("etcd: TLS needs a %s file too (server cert, key and client CA go together)", f.name))
				continue
			}
			if _, err := os.Stat(f.path); err != nil {
				errs = append(errs, fmt.Errorf("etcd: %s file: %w", f.name, err))
			}
		}
	}
	if len(o.AllowedClientCNs) > 0 && !o.tlsEnabled() {
		errs = append(errs, errors.New("etcd: allowed client CNs need TLS (server cert, key and client CA)"))
	}
	for _, cn := range o.AllowedClientCNs {
		if cn == "" {
			errs = append(errs, errors.New("etcd: empty allowed client CN"))
		}
	}
	if o.CompactionRetention < 0 {
		errs = append(errs, errors.New("etcd: compaction retention must not be negative"))
	}
	return errors.Join(errs...)
}

// certCommonName is the subject CN of the first certificate in a PEM file.
func certCommonName(file string) (string, error) {
	certs, err := certutil.CertsFromFile(file)
	if err != nil {
		return "", fmt.Errorf("server certificate: %w", err)
	}
	if certs[0].Subject.CommonName == "" {
		return "", fmt.Errorf("server certificate %s has no common name", file)
	}
	return certs[0].Subject.CommonName, nil
}

// Embedded is a running embedded etcd member.
type Embedded struct {
	etcd      *embed.Etcd
	endpoints []string
	closeOnce sync.Once
	closing   *atomic.Bool
}

// StartEmbedded starts a single-member etcd listening on 127.0.0.1 ports
// chosen by the OS and returns once it serves requests. It fails when the
// member is not ready before ctx ends or within a minute.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd: create data dir: %w", err)
	}

	closing := new(atomic.Bool)
	cfg := embed.NewConfig()
	cfg.Name = "portico"
	cfg.Dir = o.DataDir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(o.Logger, "etcd", closing))
	cfg.LogLevel = "warn"

	scheme := "http"
	if o.tlsEnabled() {
		scheme = "https"
		serverCN, err := certCommonName(o.ServerCertFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		tls := transport.TLSInfo{
			CertFile:       o.ServerCertFile,
			KeyFile:        o.ServerKeyFile,
			TrustedCAFile:  o.ClientCAFile,
			ClientCertAuth: true,
		}
		cfg.ClientTLSInfo = tls
		cfg.ClientTLSInfo.AllowedCNs = slices.Clone(o.AllowedClientCNs)
		// Only the member itself speaks raft: the peer listener takes its
		// own certificate and no one else's.
		cfg.PeerTLSInfo = tls
		cfg.PeerTLSInfo.AllowedCNs = []string{serverCN}
	}
	// Port 0 everywhere: the OS picks free ports, so instances never
	// collide, and the advertised peer URL (which etcd derives the member
	// and cluster IDs from) stays the same across restarts. Nobody dials
	// the peer URL of a single-member cluster.
	anyPort := []url.URL{{Scheme: scheme, Host: "127.0.0.1:0"}}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = anyPort, anyPort
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = anyPort, anyPort
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.EnableGRPCGateway = false
	cfg.MaxRequestBytes = maxRequestBytes

	retention := o.CompactionRetention
	if retention == 0 {
		retention = DefaultCompactionRetention
	}
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = retention.String()

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: start: %w", err)
	}
	emb := &Embedded{etcd: e, closing: closing}

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		emb.Close()
		return nil, fmt.Errorf("etcd: start: %w", err)
	case <-ctx.Done():
		emb.Close()
		return nil, fmt.Errorf("etcd: not ready: %w", ctx.Err())
	case <-timer.C:
		emb.Close()
		return nil, fmt.Errorf("etcd: not ready after %s", startTimeout)
	}

	for _, l := range e.Clients {
		emb.endpoints = append(emb.endpoints, scheme+"://"+l.Addr().String())
	}
	return emb, nil
}

// Endpoints returns the client URLs actually bound, e.g.
// "http://127.0.0.1:41235".
func (e *Embedded) Endpoints() []string {
	return append([]string(nil), e.endpoints...)
}

// Close stops the member after in-flight requests finish. It is safe to call
// more than once.
func (e *Embedded) Close() error {
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		e.etcd.Close()
	})
	return nil
}

// Err delivers a fatal error of the running member (a listener failing).
func (e *Embedded) Err() <-chan error {
	return e.etcd.Err()
}
