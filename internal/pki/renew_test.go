package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

// TestRenewServices: a service certificate is renewed when a third of
// its validity or less is left, when expired, when issued for longer
// than the validity, or when it no longer matches its key; the new one
// keeps the old one's names, chains to the CA, is valid for the
// validity from now, and has a new serial and key.
func TestRenewServices(t *testing.T) {
	const validity = time.Hour
	tests := map[string]struct {
		at      time.Duration // after EnsureDev
		before  func(t *testing.T, l pki.Layout)
		want    []string
		wantErr bool
	}{
		"fresh":                          {at: 0},
		"half its life":                  {at: validity / 2},
		"a third left":                   {at: validity*2/3 + time.Second, want: pki.ServiceNames()},
		"expired":                        {at: 2 * validity, want: pki.ServiceNames()},
		"issued for a year (older PKIs)": {before: func(t *testing.T, l pki.Layout) { reissue(t, l, "api", 365*24*time.Hour) }, want: []string{"api"}},
		"a key that does not match": {before: func(t *testing.T, l pki.Layout) {
			copyFile(t, l.ServiceKey("authz"), l.ServiceKey("authn"))
		}, want: []string{"authn"}},
		"a service without files is skipped": {before: func(t *testing.T, l pki.Layout) {
			os.Remove(l.ServiceCert("etcd"))
			os.Remove(l.ServiceKey("etcd"))
		}, at: validity, want: []string{"authn", "authz", "api", "gateway"}},
		"no CA": {before: func(t *testing.T, l pki.Layout) { os.Remove(l.CAKey()) }, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := pki.Layout{Dir: filepath.Join(t.TempDir(), "pki"), Hosts: []string{"api.example", "10.1.2.3"}, ServiceValidity: validity}
			if _, err := l.EnsureDev(); err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(t, l)
			}
			old := map[string]*x509.Certificate{}
			for _, s := range tc.want {
				old[s] = readCert(t, l.ServiceCert(s))
			}
			now := time.Now().Add(tc.at)
			got, err := l.RenewServices(now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("RenewServices: %v, want error %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("renewed %q, want %q", got, tc.want)
			}
			ca := readCert(t, l.CACert())
			for _, s := range tc.want {
				cert := readCert(t, l.ServiceCert(s))
				if cert.SerialNumber.Cmp(old[s].SerialNumber) == 0 {
					t.Errorf("%s: the same serial", s)
				}
				if !slices.Equal(cert.DNSNames, old[s].DNSNames) || !slices.EqualFunc(cert.IPAddresses, old[s].IPAddresses, net.IP.Equal) {
					t.Errorf("%s: names %q %v, want the old ones %q %v", s, cert.DNSNames, cert.IPAddresses, old[s].DNSNames, old[s].IPAddresses)
				}
				if d := cert.NotAfter.Sub(now); d < validity-time.Second || d > validity+time.Second {
					t.Errorf("%s: valid for %v from now, want %v", s, d, validity)
				}
				roots := x509.NewCertPool()
				roots.AddCert(ca)
				for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
					if _, err := pki.VerifyChain([]*x509.Certificate{cert}, roots, u, now); err != nil {
						t.Errorf("%s: %v", s, err)
					}
				}
				if _, err := tls.LoadX509KeyPair(l.ServiceCert(s), l.ServiceKey(s)); err != nil {
					t.Errorf("%s: the new pair does not match: %v", s, err)
				}
			}
			// Renewed once: not due again at the same time.
			if again, err := l.RenewServices(now); err == nil && len(again) > 0 {
				t.Errorf("renewed again at once: %q", again)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// reissue replaces service's pair with one valid for validity.
func reissue(t *testing.T, l pki.Layout, service string, validity time.Duration) {
	t.Helper()
	ca, err := pki.LoadCA(l.CACert(), l.CAKey())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: "portico-" + service, DNSNames: []string{"localhost"}, Server: true, Client: true, Validity: validity})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(l.ServiceKey(service), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(l.ServiceCert(service), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}
