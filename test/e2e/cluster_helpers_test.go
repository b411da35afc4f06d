package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/peerbin"
	"github.com/portico-dev/portico/internal/testpeers"
)

// testCluster is internal/cluster's layout (the one `go tool task
// cluster` runs) started for a test: 3 etcd members with mutual TLS and
// two of every Portico service, each a process on loopback.
type testCluster struct {
	*cluster.Cluster
}

// startCluster starts the cluster with more flags per role; it stops at
// the test's cleanup, printing every process's log tail when the test
// failed.
func startCluster(t *testing.T, args map[string][]string) *testCluster {
	t.Helper()
	etcdBin := testpeers.Binary(t, peerbin.Etcd)
	c, err := cluster.Start(t.Context(), cluster.Options{
		Dir: debugDir(t), Portico: bins.portico, Etcd: etcdBin, Args: args,
		ReadyTimeout: time.Minute, StopGrace: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			for _, p := range c.All() {
				t.Logf("--- %s (tail):\n%s", p.Name, p.Tail(6<<10))
			}
		}
	})
	return &testCluster{Cluster: c}
}

// client is an HTTPS client for the gateways' secure ports with a client
// certificate (the admin's when cert is "").
func (c *testCluster) client(t *testing.T, cert, key string, timeout time.Duration) *http.Client {
	t.Helper()
	if cert == "" {
		cert, key = c.PKI().AdminCert(), c.PKI().AdminKey()
	}
	caPEM, err := os.ReadFile(c.ServingCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}, Timeout: timeout}
}

// debugDir is the cluster's directory: under $PORTICO_E2E_CLUSTER_DIR
// when set (one per test, kept afterwards with every process's log),
// else a temporary one.
func debugDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PORTICO_E2E_CLUSTER_DIR")
	if base == "" {
		return t.TempDir()
	}
	d := filepath.Join(base, t.Name())
	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	return d
}
