package e2e

import (
	"context"
	"crypto/tls"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/portico-dev/portico/internal/testpeers"
	"github.com/portico-dev/portico/internal/testwait"
)

// TestExternalEtcd: --etcd-servers points the same storage code at an
// etcd Portico did not start. The first instance's embedded etcd plays
// the external cluster; what the second writes, the first reads.
func TestExternalEtcd(t *testing.T) {
	first := startPortico(t)
	endpoint := etcdEndpoint(t, first)
	second := startPortico(t,
		"--etcd-servers", endpoint,
		"--etcd-cafile", first.pki("ca.crt"),
		"--etcd-certfile", first.pki("api.crt"),
		"--etcd-keyfile", first.pki("api.key"),
	)
	if strings.Contains(second.logs.String(), "embedded etcd serving") {
		t.Fatalf("the second instance started its own etcd:\n%s", second.logs.String())
	}
	second.mustKubectl(t, "create", "namespace", "written-by-second")
	if out := first.mustKubectl(t, "get", "namespace", "written-by-second"); !strings.Contains(out, "written-by-second") {
		t.Fatalf("the first instance does not see the write: %s", out)
	}
}

var endpointLine = regexp.MustCompile(`embedded etcd serving.*endpoints=(https://127\.0\.0\.1:\d+)`)

// etcdEndpoint is the client URL of an instance's embedded etcd, from its log.
func etcdEndpoint(t *testing.T, p *portico) string {
	t.Helper()
	var m []string
	testwait.Until(t, 10*time.Second, "the embedded etcd endpoint in the log", func() bool {
		m = endpointLine.FindStringSubmatch(p.logs.String())
		return m != nil
	})
	return m[1]
}

// TestEmbeddedEtcdOnlyAPI: every service certificate comes from the one
// internal CA, but the embedded etcd accepts only the api's; the others
// (the gateway's, authn's, authz's, even etcd's own serving certificate)
// cannot read a key, let alone write one.
func TestEmbeddedEtcdOnlyAPI(t *testing.T) {
	p := startPortico(t)
	tests := map[string]struct {
		service string
		wantOK  bool
	}{
		"api":     {service: "api", wantOK: true},
		"gateway": {service: "gateway"},
		"authn":   {service: "authn"},
		"authz":   {service: "authz"},
		"etcd":    {service: "etcd"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := dialEtcd(t, p, tc.service)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := c.Get(ctx, "/registry/secrets/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			if (err == nil) != tc.wantOK {
				t.Fatalf("read with the %s certificate: error %v, want success %v", tc.service, err, tc.wantOK)
			}
		})
	}
}

// dialEtcd is a client of an instance's embedded etcd with the
// certificate of service (e.g. "api"); it is closed at the end of the
// test. It connects lazily: a refused certificate shows at the first
// request.
func dialEtcd(t *testing.T, p *portico, service string) *clientv3.Client {
	t.Helper()
	tlsInfo := transport.TLSInfo{CertFile: p.pki(service + ".crt"), KeyFile: p.pki(service + ".key"), TrustedCAFile: p.pki("ca.crt")}
	cfg, err := tlsInfo.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinVersion = tls.VersionTLS12
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdEndpoint(t, p)}, TLS: cfg, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestExternalEtcdClusterTLS (issue 13): --etcd-servers with the three
// members of a real etcd cluster (the built etcd 3.7, mutual TLS on
// clients and peers) and kube-apiserver's --etcd-cafile, --etcd-certfile
// and --etcd-keyfile. What Portico writes is read through another member
// directly; with one member stopped, writes still go through the other
// two; a CA that does not sign the members' certificates stops the start.
func TestExternalEtcdClusterTLS(t *testing.T) {
	e := testpeers.StartEtcd(t, testpeers.EtcdOptions{Members: 3, TLS: true})
	flags := func(caFile string) []string {
		return []string{"--etcd-servers", strings.Join(e.Endpoints(), ","),
			"--etcd-cafile", caFile, "--etcd-certfile", e.TLS.CertFile, "--etcd-keyfile", e.TLS.KeyFile}
	}
	p := startPortico(t, flags(e.TLS.CAFile)...)
	if strings.Contains(p.logs.String(), "embedded etcd serving") {
		t.Fatalf("an embedded etcd started:\n%s", p.logs.String())
	}
	p.mustKubectl(t, "create", "namespace", "on-the-cluster")
	last := e.Members[2]
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{last.ClientURL}, TLS: e.TLS.Config(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/registry/namespaces/on-the-cluster", clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("member %s: the namespace's key: %v, count %v", last.Name, err, resp)
	}
	e.Members[0].Stop()
	p.mustKubectl(t, "create", "namespace", "one-member-down")
	p.mustKubectl(t, "get", "namespace", "on-the-cluster")

	mustFailToStart(t, upArgs(t, flags(p.pki("ca.crt"))...), "etcd:", "not reachable")
}
