package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

// parseCert decodes the single certificate in data.
func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no CERTIFICATE PEM block in %q", data)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("trailing data after certificate: %q", rest)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

// parseKey decodes a PKCS#8 "PRIVATE KEY" block holding an ECDSA P-256 key.
func parseKey(t *testing.T, data []byte) *ecdsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("no PRIVATE KEY PEM block in key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse PKCS#8 key: %v", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("key is %T, want *ecdsa.PrivateKey", key)
	}
	if ec.Curve != elliptic.P256() {
		t.Fatalf("key curve %s, want P-256", ec.Curve.Params().Name)
	}
	return ec
}

// verify checks cert against ca for usage at now.
func verify(cert *x509.Certificate, ca *x509.Certificate, usage x509.ExtKeyUsage, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: now})
	return err
}

func newCA(t *testing.T, cn string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(cn, time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	tests := map[string]struct {
		cn       string
		validity time.Duration
		wantErr  string
	}{
		"ok":                {cn: "test-ca", validity: time.Hour},
		"empty common name": {cn: "", validity: time.Hour, wantErr: "empty common name"},
		"zero validity":     {cn: "test-ca", validity: 0, wantErr: "not positive"},
		"negative validity": {cn: "test-ca", validity: -time.Hour, wantErr: "not positive"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := time.Now()
			ca, err := pki.NewCA(tc.cn, tc.validity)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewCA error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCA: %v", err)
			}
			cert := parseCert(t, ca.CertPEM())
			if !cert.Equal(ca.Cert) {
				t.Errorf("CertPEM does not hold ca.Cert")
			}
			if !cert.IsCA || !cert.BasicConstraintsValid {
				t.Errorf("IsCA = %v, BasicConstraintsValid = %v; want both true", cert.IsCA, cert.BasicConstraintsValid)
			}
			if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
				t.Errorf("KeyUsage %v lacks CertSign", cert.KeyUsage)
			}
			if cert.Subject.CommonName != tc.cn {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tc.cn)
			}
			if err := cert.CheckSignatureFrom(cert); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			if !cert.NotBefore.Before(before) {
				t.Errorf("NotBefore %v is not backdated before %v", cert.NotBefore, before)
			}
			if got := cert.NotAfter.Sub(cert.NotBefore); got != tc.validity.Truncate(time.Second) {
				t.Errorf("lifetime %v, want %v", got, tc.validity)
			}
			pub, ok := ca.Key.Public().(*ecdsa.PublicKey)
			if !ok || pub.Curve != elliptic.P256() {
				t.Errorf("key is %T, want ECDSA P-256", ca.Key.Public())
			}
			if !pub.Equal(cert.PublicKey) {
				t.Errorf("key does not match certificate")
			}
		})
	}
}

func TestIssue(t *testing.T) {
	ca := newCA(t, "test-ca")
	other := newCA(t, "other-ca")
	now := time.Now()
	tests := map[string]struct {
		opts       pki.IssueOptions
		wantErr    string
		wantUsages []x509.ExtKeyUsage // each must verify against ca
		denyUsages []x509.ExtKeyUsage // each must fail against ca
		wantLife   time.Duration
		// invalidAt, when set, is a time at which the certificate is not valid.
		invalidAt time.Time
	}{
		"server": {
			opts: pki.IssueOptions{
				CommonName:  "portico-api",
				DNSNames:    []string{"localhost", "api.example"},
				IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
				Server:      true,
				Validity:    time.Hour,
			},
			wantUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			denyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantLife:   time.Hour,
		},
		"client user with groups": {
			opts: pki.IssueOptions{
				CommonName:    "jane",
				Organizations: []string{"dev", "system:masters"},
				Client:        true,
				Validity:      time.Hour,
			},
			wantUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			denyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			wantLife:   time.Hour,
		},
		"server and client, default validity": {
			opts:       pki.IssueOptions{CommonName: "portico-gateway", Server: true, Client: true},
			wantUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			wantLife:   pki.DefaultLeafValidity,
		},
		"expired": {
			opts:      pki.IssueOptions{CommonName: "old", Client: true, NotBefore: now.Add(-2 * time.Hour), Validity: time.Hour},
			wantLife:  time.Hour,
			invalidAt: now,
		},
		"not yet valid": {
			opts:      pki.IssueOptions{CommonName: "future", Client: true, NotBefore: now.Add(time.Hour), Validity: time.Hour},
			wantLife:  time.Hour,
			invalidAt: now,
		},
		"no usage":          {opts: pki.IssueOptions{CommonName: "x"}, wantErr: "neither server nor client"},
		"no common name":    {opts: pki.IssueOptions{Client: true}, wantErr: "empty common name"},
		"negative validity": {opts: pki.IssueOptions{CommonName: "x", Client: true, Validity: -time.Second}, wantErr: "negative validity"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.Issue(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Issue error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			cert := parseCert(t, certPEM)
			key := parseKey(t, keyPEM)
			if !key.PublicKey.Equal(cert.PublicKey) {
				t.Errorf("key does not match certificate")
			}
			if cert.IsCA {
				t.Errorf("leaf certificate has IsCA")
			}
			if cert.Subject.CommonName != tc.opts.CommonName {
				t.Errorf("CN = %q, want %q", cert.Subject.CommonName, tc.opts.CommonName)
			}
			if !slices.Equal(cert.Subject.Organization, tc.opts.Organizations) {
				t.Errorf("O = %q, want %q", cert.Subject.Organization, tc.opts.Organizations)
			}
			if !slices.Equal(cert.DNSNames, tc.opts.DNSNames) {
				t.Errorf("DNSNames = %q, want %q", cert.DNSNames, tc.opts.DNSNames)
			}
			if !slices.EqualFunc(cert.IPAddresses, tc.opts.IPAddresses, net.IP.Equal) {
				t.Errorf("IPAddresses = %v, want %v", cert.IPAddresses, tc.opts.IPAddresses)
			}
			if got := cert.NotAfter.Sub(cert.NotBefore); got != tc.wantLife {
				t.Errorf("lifetime %v, want %v", got, tc.wantLife)
			}
			if !tc.opts.NotBefore.IsZero() && !cert.NotBefore.Equal(tc.opts.NotBefore.Truncate(time.Second)) {
				t.Errorf("NotBefore %v, want %v", cert.NotBefore, tc.opts.NotBefore)
			}
			if tc.opts.NotBefore.IsZero() && (!cert.NotBefore.Before(now) || cert.NotBefore.Before(now.Add(-2*time.Minute))) {
				t.Errorf("default NotBefore %v, want about a minute before %v", cert.NotBefore, now)
			}
			if bits := cert.SerialNumber.BitLen(); bits > 128 || cert.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v: %d bits, want positive and at most 128", cert.SerialNumber, bits)
			}
			for _, u := range tc.wantUsages {
				if err := verify(cert, ca.Cert, u, now); err != nil {
					t.Errorf("verify usage %v against issuing CA: %v", u, err)
				}
				if err := verify(cert, other.Cert, u, now); err == nil {
					t.Errorf("verify usage %v against a foreign CA succeeded", u)
				}
			}
			for _, u := range tc.denyUsages {
				if err := verify(cert, ca.Cert, u, now); err == nil {
					t.Errorf("verify usage %v succeeded, want refused", u)
				}
			}
			if !tc.invalidAt.IsZero() {
				// Only the validity makes it fail: the signature is the CA's.
				var invalid x509.CertificateInvalidError
				err := verify(cert, ca.Cert, x509.ExtKeyUsageClientAuth, tc.invalidAt)
				if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
					t.Errorf("verify error %v, want CertificateInvalidError Expired", err)
				}
				if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
					t.Errorf("signature: %v", err)
				}
			}
		})
	}
}

func TestIssueSerialsDiffer(t *testing.T) {
	ca := newCA(t, "test-ca")
	seen := map[string]bool{}
	for range 20 {
		certPEM, _, err := ca.Issue(pki.IssueOptions{CommonName: "x", Client: true})
		if err != nil {
			t.Fatal(err)
		}
		s := parseCert(t, certPEM).SerialNumber.String()
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
	}
}

func TestLoadCA(t *testing.T) {
	ca := newCA(t, "test-ca")
	other := newCA(t, "other-ca")
	pkcs8 := func(t *testing.T, c *pki.CA) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1 := func(t *testing.T, c *pki.CA) []byte {
		der, err := x509.MarshalECPrivateKey(c.Key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	leafPEM, leafKeyPEM, err := ca.Issue(pki.IssueOptions{CommonName: "leaf", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})

	tests := map[string]struct {
		cert, key []byte // nil: file absent
		wantErr   string
	}{
		"pkcs8 key":             {cert: ca.CertPEM(), key: pkcs8(t, ca)},
		"sec1 key":              {cert: ca.CertPEM(), key: sec1(t, ca)},
		"key of another CA":     {cert: ca.CertPEM(), key: pkcs8(t, other), wantErr: "does not match"},
		"rsa key, ec cert":      {cert: ca.CertPEM(), key: rsaPEM, wantErr: "does not match"},
		"leaf is not a CA":      {cert: leafPEM, key: leafKeyPEM, wantErr: "not a CA"},
		"missing cert file":     {key: pkcs8(t, ca), wantErr: "no such file"},
		"missing key file":      {cert: ca.CertPEM(), wantErr: "no such file"},
		"cert file without PEM": {cert: []byte("garbage"), key: pkcs8(t, ca), wantErr: "does not contain any valid RSA or ECDSA certificates"},
		"key file holds a cert": {cert: ca.CertPEM(), key: ca.CertPEM(), wantErr: "does not contain a valid RSA or ECDSA private key"},
		"encrypted key": {
			cert:    ca.CertPEM(),
			key:     pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
			wantErr: "not supported",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
			if tc.cert != nil {
				if err := os.WriteFile(certFile, tc.cert, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.key != nil {
				if err := os.WriteFile(keyFile, tc.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := pki.LoadCA(certFile, keyFile)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadCA error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCA: %v", err)
			}
			if !got.Cert.Equal(ca.Cert) {
				t.Errorf("loaded a different certificate")
			}
			// The loaded CA must be able to issue certificates that chain to it.
			leaf, _, err := got.Issue(pki.IssueOptions{CommonName: "x", Client: true})
			if err != nil {
				t.Fatalf("Issue with loaded CA: %v", err)
			}
			if err := verify(parseCert(t, leaf), ca.Cert, x509.ExtKeyUsageClientAuth, time.Now()); err != nil {
				t.Errorf("certificate from loaded CA does not verify: %v", err)
			}
		})
	}
}
