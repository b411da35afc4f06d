package x509user

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"
)

// certSpec describes one test certificate.
type certSpec struct {
	cn        string
	orgs      []string
	ca        bool
	eku       []x509.ExtKeyUsage
	notBefore time.Time
	notAfter  time.Time
}

type keyed struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func mint(t *testing.T, s certSpec, parent *keyed) *keyed {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
		ExtKeyUsage:           s.eku,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if s.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &keyed{cert: c, key: key}
}

func TestAuthenticateChain(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	year := func(from time.Time) (time.Time, time.Time) { return from, from.Add(365 * 24 * time.Hour) }
	nb, na := year(now.Add(-time.Hour))
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

	root := mint(t, certSpec{cn: "client-ca", ca: true, notBefore: nb, notAfter: na}, nil)
	foreign := mint(t, certSpec{cn: "client-ca", ca: true, notBefore: nb, notAfter: na}, nil)
	inter := mint(t, certSpec{cn: "intermediate", ca: true, notBefore: nb, notAfter: now.Add(48 * time.Hour)}, root)
	pool := x509.NewCertPool()
	pool.AddCert(root.cert)
	a := New(pool, func() time.Time { return now })

	leaf := func(s certSpec, parent *keyed) *x509.Certificate {
		if s.notBefore.IsZero() {
			s.notBefore, s.notAfter = nb, na
		}
		if s.eku == nil {
			s.eku = client
		}
		return mint(t, s, parent).cert
	}
	alice := leaf(certSpec{cn: "alice", orgs: []string{"dev", "ops"}}, root)
	tests := map[string]struct {
		chain      []*x509.Certificate
		wantUser   string
		wantGroups string
		wantErr    string
		wantExpiry time.Time
	}{
		"leaf from the client CA": {chain: []*x509.Certificate{alice}, wantUser: "alice", wantGroups: "dev,ops", wantExpiry: na},
		"intermediate sent by the client": {
			chain:    []*x509.Certificate{leaf(certSpec{cn: "bob"}, inter), inter.cert},
			wantUser: "bob", wantExpiry: now.Add(48 * time.Hour),
		},
		"intermediate not sent": {chain: []*x509.Certificate{leaf(certSpec{cn: "bob"}, inter)}, wantErr: "unknown authority"},
		"foreign CA":            {chain: []*x509.Certificate{leaf(certSpec{cn: "mallory", orgs: []string{"system:masters"}}, foreign)}, wantErr: "unknown authority"},
		"self-signed leaf":      {chain: []*x509.Certificate{leaf(certSpec{cn: "mallory"}, nil)}, wantErr: "unknown authority"},
		"expired": {
			chain:   []*x509.Certificate{leaf(certSpec{cn: "old", notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-time.Second)}, root)},
			wantErr: "expired or is not yet valid",
		},
		"not yet valid": {
			chain:   []*x509.Certificate{leaf(certSpec{cn: "future", notBefore: now.Add(time.Hour), notAfter: now.Add(48 * time.Hour)}, root)},
			wantErr: "expired or is not yet valid",
		},
		"server-auth only": {
			chain:   []*x509.Certificate{leaf(certSpec{cn: "srv", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, root)},
			wantErr: "incompatible key usage",
		},
		"no common name": {chain: []*x509.Certificate{leaf(certSpec{orgs: []string{"dev"}}, root)}, wantErr: "no common name"},
		"empty chain":    {wantErr: "no certificate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := a.AuthenticateChain(tc.chain)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := resp.User
			if u.GetUsername() != tc.wantUser || strings.Join(u.GetGroups(), ",") != tc.wantGroups {
				t.Fatalf("user = %v", u)
			}
			sum := sha256.Sum256(tc.chain[0].Raw)
			if got := u.GetExtra()[CredentialIDKey].GetItems(); len(got) != 1 || got[0] != "X509SHA256="+hex.EncodeToString(sum[:]) {
				t.Fatalf("credential id = %v", got)
			}
			if !resp.ExpiresAt.Equal(tc.wantExpiry) {
				t.Fatalf("expires %v, want %v", resp.ExpiresAt, tc.wantExpiry)
			}
		})
	}
}

func TestParseChain(t *testing.T) {
	if _, err := ParseChain(nil); err == nil {
		t.Fatal("empty chain parsed")
	}
	if _, err := ParseChain([][]byte{[]byte("not DER")}); err == nil {
		t.Fatal("garbage parsed")
	}
	if _, err := ParseChain(make([][]byte, MaxChainLength+1)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("long chain: %v", err)
	}
}
