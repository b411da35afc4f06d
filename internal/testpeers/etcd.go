package testpeers

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/peerbin"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// EtcdOptions describe a real etcd.
type EtcdOptions struct {
	// Members is the cluster's size; 1 when 0.
	Members int
	// TLS makes every client and peer URL https with client certificates
	// required, from a CA made for the test.
	TLS bool
	// Args are more flags for every member.
	Args []string
}

// EtcdReadyTimeout bounds how long StartEtcd waits for every member to
// report healthy.
const EtcdReadyTimeout = 60 * time.Second

// Etcd is a running etcd cluster.
type Etcd struct {
	Members []*EtcdMember
	// TLS is the client's certificate and the CA, nil without TLS.
	TLS *TLSFiles
}

// EtcdMember is one member's process.
type EtcdMember struct {
	Name      string
	ClientURL string
	PeerURL   string
	DataDir   string
	*Process
}

// TLSFiles are PEM files for a client: the CA to trust and the
// certificate to present.
type TLSFiles struct {
	CAFile, CertFile, KeyFile string
}

// Config is a tls.Config trusting the CA and presenting the certificate.
func (f *TLSFiles) Config(tb testing.TB) *tls.Config {
	tb.Helper()
	caPEM, err := os.ReadFile(f.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		tb.Fatalf("no certificate in %s", f.CAFile)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if f.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// Endpoints are the members' client URLs.
func (e *Etcd) Endpoints() []string {
	var eps []string
	for _, m := range e.Members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// StartEtcd starts a real etcd of o.Members members on free loopback
// ports and waits until each reports healthy (for a cluster: a leader is
// elected). A port taken by another process before etcd bound it makes
// the whole cluster start again on fresh ports.
func StartEtcd(tb testing.TB, o EtcdOptions) *Etcd {
	tb.Helper()
	bin := Binary(tb, peerbin.Etcd)
	if o.Members == 0 {
		o.Members = 1
	}
	dir := tb.TempDir()
	e := &Etcd{}
	var certs map[string][2]string // member name -> serving/peer cert and key
	if o.TLS {
		e.TLS, certs = etcdPKI(tb, filepath.Join(dir, "pki"), o.Members)
	}
	for attempt := 1; ; attempt++ {
		e.Members = nil
		scheme := "http"
		if o.TLS {
			scheme = "https"
		}
		var initial []string
		for i := range o.Members {
			m := &EtcdMember{
				Name:      fmt.Sprintf("m%d", i),
				ClientURL: loopbackURL(scheme, FreePort(tb)),
				PeerURL:   loopbackURL(scheme, FreePort(tb)),
				DataDir:   filepath.Join(dir, fmt.Sprintf("attempt%d-m%d", attempt, i)),
			}
			e.Members = append(e.Members, m)
			initial = append(initial, m.Name+"="+m.PeerURL)
		}
		for _, m := range e.Members {
			args := []string{
				"--name", m.Name,
				"--data-dir", m.DataDir,
				"--listen-client-urls", m.ClientURL,
				"--advertise-client-urls", m.ClientURL,
				"--listen-peer-urls", m.PeerURL,
				"--initial-advertise-peer-urls", m.PeerURL,
				"--initial-cluster", strings.Join(initial, ","),
				"--initial-cluster-state", "new",
				"--initial-cluster-token", fmt.Sprintf("testpeers-%d", attempt),
			}
			if o.TLS {
				cert := certs[m.Name]
				args = append(args,
					"--cert-file", cert[0], "--key-file", cert[1],
					"--trusted-ca-file", e.TLS.CAFile, "--client-cert-auth",
					"--peer-cert-file", cert[0], "--peer-key-file", cert[1],
					"--peer-trusted-ca-file", e.TLS.CAFile, "--peer-client-cert-auth",
				)
			}
			m.Process = Start(tb, "etcd "+m.Name, bin, append(args, o.Args...)...)
		}
		if e.waitHealthy(tb) {
			return e
		}
		clash := false
		for _, m := range e.Members {
			m.Stop()
			clash = clash || m.bindClash()
		}
		if !clash || attempt == startAttempts {
			tb.Fatalf("etcd did not become healthy:\n%s", e.logs())
		}
		tb.Logf("a port was taken before etcd bound it; trying fresh ports")
	}
}

// waitHealthy waits until every member's /health is true, or one member
// has exited, and reports which.
func (e *Etcd) waitHealthy(tb testing.TB) bool {
	tb.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	if e.TLS != nil {
		client.Transport = &http.Transport{TLSClientConfig: e.TLS.Config(tb)}
	}
	defer client.CloseIdleConnections()
	healthy := false
	testwait.Until(tb, EtcdReadyTimeout, "etcd members healthy", func() bool {
		healthy = true
		for _, m := range e.Members {
			if m.Exited() {
				healthy = false
				return true
			}
			if !etcdHealthy(client, m.ClientURL) {
				healthy = false
			}
		}
		return healthy
	})
	return healthy
}

func etcdHealthy(c *http.Client, url string) bool {
	resp, err := c.Get(url + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}

func (e *Etcd) logs() string {
	var b strings.Builder
	for _, m := range e.Members {
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", m.Name, m.ClientURL, m.Tail())
	}
	return b.String()
}

// etcdPKI makes a CA, one serving and peer certificate per member, and a
// client certificate, in dir.
func etcdPKI(tb testing.TB, dir string, members int) (*TLSFiles, map[string][2]string) {
	tb.Helper()
	ca := newCA(tb, dir, "testpeers-etcd-ca")
	files := &TLSFiles{CAFile: filepath.Join(dir, "ca.crt")}
	files.CertFile, files.KeyFile = issue(tb, ca, dir, "client", pki.IssueOptions{CommonName: "testpeers-etcd-client", Client: true})
	certs := map[string][2]string{}
	for i := range members {
		name := fmt.Sprintf("m%d", i)
		cert, key := issue(tb, ca, dir, name, pki.IssueOptions{
			CommonName:  "testpeers-etcd-" + name,
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			Server:      true,
			Client:      true,
		})
		certs[name] = [2]string{cert, key}
	}
	return files, certs
}

// newCA makes a CA and writes its certificate to dir/ca.crt.
func newCA(tb testing.TB, dir, commonName string) *pki.CA {
	tb.Helper()
	ca, err := pki.NewCA(commonName, 24*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca.CertPEM(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return ca
}

// issue writes a certificate and key signed by ca to dir/name.{crt,key}.
func issue(tb testing.TB, ca *pki.CA, dir, name string, o pki.IssueOptions) (certFile, keyFile string) {
	tb.Helper()
	if o.Validity == 0 {
		o.Validity = 24 * time.Hour
	}
	certPEM, keyPEM, err := ca.Issue(o)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile
}
