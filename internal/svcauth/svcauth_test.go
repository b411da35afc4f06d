package svcauth

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

func TestVerifierService(t *testing.T) {
	internal, err := pki.NewCA("internal", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client, err := pki.NewCA("client", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *pki.CA, cn string, validity time.Duration) *x509.Certificate {
		t.Helper()
		certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: cn, Client: true, Validity: validity})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair.Leaf
	}
	roots := x509.NewCertPool()
	roots.AddCert(internal.Cert)
	gateway := issue(internal, "portico-gateway", 10*time.Minute)
	start := time.Now()
	tests := []struct {
		name  string
		cert  *x509.Certificate
		at    time.Duration // after start
		want  string
		valid bool
	}{
		{"service certificate", gateway, 0, "gateway", true},
		{"again, remembered", gateway, time.Minute, "gateway", true},
		{"remembered, but expired", gateway, 20 * time.Minute, "", false},
		{"user CA, service name", issue(client, "portico-api", time.Hour), 0, "", false},
		{"internal CA, not a service name", issue(internal, "alice", time.Hour), 0, "", false},
		{"prefix alone", issue(internal, "portico-", time.Hour), 0, "", false},
	}
	v := NewVerifier(roots)
	for _, tc := range tests {
		v.now = func() time.Time { return start.Add(tc.at) }
		name, ok := v.Service([]*x509.Certificate{tc.cert})
		if name != tc.want || ok != tc.valid {
			t.Errorf("%s: Service = %q, %v; want %q, %v", tc.name, name, ok, tc.want, tc.valid)
		}
	}
	if _, ok := v.Service(nil); ok {
		t.Error("no certificate passed")
	}
}
