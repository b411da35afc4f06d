package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// intermediate is a CA signed by root.
func intermediate(t *testing.T, root *CA, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, key.Public(), root.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key}
}

func TestVerifyChain(t *testing.T) {
	newCA := func(name string) *CA {
		t.Helper()
		ca, err := NewCA(name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	internalCA, clientCA, foreignCA := newCA("internal-ca"), newCA("client-ca"), newCA("foreign-ca")
	now := time.Now()
	leaf := func(ca *CA, o IssueOptions) *x509.Certificate {
		t.Helper()
		if o.Validity == 0 {
			o.Validity = time.Hour
		}
		certPEM, keyPEM, err := ca.Issue(o)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair.Leaf
	}
	svc := leaf(internalCA, IssueOptions{CommonName: "portico-gateway", Server: true, Client: true})
	user := leaf(clientCA, IssueOptions{CommonName: "jane", Client: true})
	serverOnly := leaf(internalCA, IssueOptions{CommonName: "portico-x", Server: true})
	expired := leaf(internalCA, IssueOptions{CommonName: "old", Client: true, NotBefore: now.Add(-2 * time.Hour)})
	future := leaf(internalCA, IssueOptions{CommonName: "future", Client: true, NotBefore: now.Add(time.Minute)})
	foreign := leaf(foreignCA, IssueOptions{CommonName: "portico-gateway", Client: true})
	inter := intermediate(t, internalCA, "intermediate")
	viaInter := leaf(inter, IssueOptions{CommonName: "portico-authn", Client: true})

	internalPool, clientPool := x509.NewCertPool(), x509.NewCertPool()
	internalPool.AddCert(internalCA.Cert)
	clientPool.AddCert(clientCA.Cert)

	tests := map[string]struct {
		chain   []*x509.Certificate
		roots   *x509.CertPool
		usage   x509.ExtKeyUsage
		now     time.Time
		wantErr string
	}{
		"service certificate, client usage":  {chain: []*x509.Certificate{svc}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now},
		"service certificate, server usage":  {chain: []*x509.Certificate{svc}, roots: internalPool, usage: x509.ExtKeyUsageServerAuth, now: now},
		"zero time means now":                {chain: []*x509.Certificate{svc}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth},
		"user certificate against client CA": {chain: []*x509.Certificate{user}, roots: clientPool, usage: x509.ExtKeyUsageClientAuth, now: now},
		"user certificate is not a service":  {chain: []*x509.Certificate{user}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "unknown authority"},
		"service certificate is not a user":  {chain: []*x509.Certificate{svc}, roots: clientPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "unknown authority"},
		"wrong usage":                        {chain: []*x509.Certificate{serverOnly}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "key usage"},
		"expired":                            {chain: []*x509.Certificate{expired}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "expired"},
		"not yet valid":                      {chain: []*x509.Certificate{future}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "not yet valid"},
		"valid now, checked later":           {chain: []*x509.Certificate{svc}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now.Add(2 * time.Hour), wantErr: "expired"},
		"foreign CA":                         {chain: []*x509.Certificate{foreign}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "unknown authority"},
		"chain with intermediate":            {chain: []*x509.Certificate{viaInter, inter.Cert}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now},
		"intermediate not presented":         {chain: []*x509.Certificate{viaInter}, roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "unknown authority"},
		"foreign intermediate":               {chain: []*x509.Certificate{viaInter, inter.Cert}, roots: clientPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "unknown authority"},
		"empty chain":                        {roots: internalPool, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "no certificate presented"},
		"nil roots":                          {chain: []*x509.Certificate{svc}, usage: x509.ExtKeyUsageClientAuth, now: now, wantErr: "no trusted roots"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := VerifyChain(tc.chain, tc.roots, tc.usage, tc.now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Verify error = %v, want containing %q", err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("VerifyChain returned a chain with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(got) < 2 || got[0] != tc.chain[0] || !got[len(got)-1].Equal(internalCA.Cert) && !got[len(got)-1].Equal(clientCA.Cert) {
				t.Errorf("VerifyChain returned %d certificates, want the leaf first and a trusted root last", len(got))
			}
		})
	}
}

// TestServingConfig checks the secure port's config: a client without a
// certificate gets in (it may use a token), a certificate is passed on
// unverified for the authenticator, and old TLS is refused.
