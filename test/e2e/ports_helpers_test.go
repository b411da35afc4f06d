package e2e

// Helpers of the ports tests (issue 3): expected start failures, TLS
// handshakes, certificate pairs made in the test, audit and metrics
// readers.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// upArgs are the arguments of a `portico up` on fresh free ports and data
// dir, for starts that are expected to fail.
func upArgs(t *testing.T, extra ...string) []string {
	t.Helper()
	return append([]string{"up",
		"--data-dir", t.TempDir(),
		"--insecure-port", fmt.Sprint(freePort(t)),
		"--secure-port", fmt.Sprint(freePort(t)),
		"--bind-address", "127.0.0.1",
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}, extra...)
}

// mustFailToStart runs portico with args and checks that it exits with
// code 1 and every one of want in its error output.
func mustFailToStart(t *testing.T, args []string, want ...string) {
	t.Helper()
	r := run(t, "", bins.portico, args...)
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("portico %s: want exit code 1; %s", strings.Join(args, " "), r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error output lacks %q:\n%s", w, r.stderr)
		}
	}
}

// handshake makes one new TLS connection to addr and returns its state.
func tlsHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// writeCertPair writes a new self-signed ECDSA serving pair for hosts to
// certFile and keyFile, each replaced atomically (written aside, then
// renamed), the key first; it returns the certificate.
func writeCertPair(t *testing.T, certFile, keyFile string, hosts ...string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("e2e-%d", serial)},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(path string, data []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	replace(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	replace(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// readCert parses the first certificate of a PEM file.
func readCert(t *testing.T, path string) (*x509.Certificate, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, data
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// writePortsTokens writes a --token-auth-file: alice in system:masters, bob in dev.
func writePortsTokens(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.csv")
	data := "alice-token-0123456789,alice,1,system:masters\nbob-token-0123456789,bob,2,dev\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	aliceToken = "alice-token-0123456789"
	bobToken   = "bob-token-0123456789"
)

// request sends one request with optional bearer token and headers.
func sendAs(t *testing.T, c *http.Client, method, url, token string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return resp, b.String()
}

// parseStatus decodes a Kubernetes Status body.
type k8sStatus struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Details *struct {
		RetryAfterSeconds int `json:"retryAfterSeconds"`
	} `json:"details"`
}

func parseStatus(t *testing.T, body string) k8sStatus {
	t.Helper()
	var st k8sStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status (%v): %q", err, body)
	}
	return st
}

// promSample reads one sample of a Prometheus text exposition: the
// counter or gauge value, or a histogram's sample count, of the first
// series of name whose labels include labels; ok is false when there is
// none.
func promSample(t *testing.T, text, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	f := families[name]
series:
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// auditLine is what the tests read of an audit line.
type auditLine struct {
	Kind       string    `json:"kind"`
	APIVersion string    `json:"apiVersion"`
	AuditID    string    `json:"auditID"`
	RequestURI string    `json:"requestURI"`
	Verb       string    `json:"verb"`
	User       auditUser `json:"user"`
	// ImpersonatedUser is set when the request ran as another user.
	ImpersonatedUser *auditUser `json:"impersonatedUser"`
	SourceIPs        []string   `json:"sourceIPs"`
	ObjectRef        *struct {
		Resource, Namespace, Name string
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time         `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time         `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations"`
}

// auditUser is a user of an audit line.
type auditUser struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// readAuditLog parses every line of an audit log; each must be one JSON event.
func readAuditLog(t *testing.T, path string) (string, []auditLine) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var evs []auditLine
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var ev auditLine
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Kind != "Event" {
			t.Fatalf("audit line %d is not a JSON event (%v): %q", i+1, err, line)
		}
		evs = append(evs, ev)
	}
	return string(data), evs
}

// startPorticoQuickStop is startPortico with a short
// --shutdown-grace-period: these tests restart Portico often, and a
// stream left open by a client (or by one service on another) would
// hold every stop for the default 10s.
func startPorticoQuickStop(t *testing.T, extra ...string) *portico {
	t.Helper()
	return startPortico(t, append([]string{"--shutdown-grace-period", "2s"}, extra...)...)
}
