package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/pki"
)

func TestEnsureSelfSigned(t *testing.T) {
	tests := map[string]struct {
		hosts   []string
		wantDNS []string
		wantIPs []net.IP
		wantCN  string
		wantErr string
	}{
		"ip and names": {
			hosts:   []string{"10.0.0.7", "localhost", "127.0.0.1", "api.example", "::1"},
			wantDNS: []string{"localhost", "api.example"},
			wantIPs: []net.IP{net.ParseIP("10.0.0.7"), net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
			wantCN:  "10.0.0.7@",
		},
		"duplicates and empties dropped": {
			hosts:   []string{"", "localhost", "localhost", "127.0.0.1", "127.0.0.1"},
			wantDNS: []string{"localhost"},
			wantIPs: []net.IP{net.ParseIP("127.0.0.1")},
			wantCN:  "localhost@",
		},
		"no hosts":    {hosts: nil, wantErr: "no hosts"},
		"empty hosts": {hosts: []string{""}, wantErr: "no hosts"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			certFile, keyFile, err := pki.EnsureSelfSigned(dir, tc.hosts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EnsureSelfSigned error = %v, want containing %q", err, tc.wantErr)
				}
				if _, err := os.Stat(dir); err == nil {
					entries, _ := os.ReadDir(dir)
					if len(entries) != 0 {
						t.Errorf("files written on error: %v", entries)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureSelfSigned: %v", err)
			}
			if certFile != filepath.Join(dir, "apiserver.crt") || keyFile != filepath.Join(dir, "apiserver.key") {
				t.Errorf("files %s, %s; want apiserver.crt and apiserver.key in %s", certFile, keyFile, dir)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v (%v), want 0600", fi.Mode().Perm(), err)
			}
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatalf("load pair: %v", err)
			}
			cert := pair.Leaf
			if !strings.HasPrefix(cert.Subject.CommonName, tc.wantCN) {
				t.Errorf("CN %q, want prefix %q", cert.Subject.CommonName, tc.wantCN)
			}
			if !slices.Equal(cert.DNSNames, tc.wantDNS) {
				t.Errorf("DNSNames %q, want %q", cert.DNSNames, tc.wantDNS)
			}
			if !slices.EqualFunc(cert.IPAddresses, tc.wantIPs, net.IP.Equal) {
				t.Errorf("IPAddresses %v, want %v", cert.IPAddresses, tc.wantIPs)
			}
			if got := cert.NotAfter.Sub(cert.NotBefore); got != pki.SelfSignedValidity {
				t.Errorf("lifetime %v, want %v", got, pki.SelfSignedValidity)
			}
			// A client that trusts the certificate itself accepts it for
			// every host, for server auth only.
			roots := x509.NewCertPool()
			roots.AddCert(cert)
			for _, h := range append(slices.Clone(tc.wantDNS), ipStrings(tc.wantIPs)...) {
				opts := x509.VerifyOptions{Roots: roots, DNSName: h, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
				if _, err := cert.Verify(opts); err != nil {
					t.Errorf("verify for %s: %v", h, err)
				}
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example"}); err == nil {
				t.Errorf("verify for a host not named succeeded")
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
				t.Errorf("verify for client auth succeeded")
			}

			// A second call reuses the files, even for other hosts.
			before := snapshot(t, dir)
			c2, k2, err := pki.EnsureSelfSigned(dir, []string{"elsewhere.example"})
			if err != nil || c2 != certFile || k2 != keyFile {
				t.Fatalf("second EnsureSelfSigned = %s, %s, %v", c2, k2, err)
			}
			after := snapshot(t, dir)
			for p, s := range before {
				if after[p] != s {
					t.Errorf("%s changed on reuse", p)
				}
			}
		})
	}
}

func TestEnsureSelfSignedHalfPair(t *testing.T) {
	for _, missing := range []string{"apiserver.crt", "apiserver.key"} {
		t.Run("missing "+missing, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := pki.EnsureSelfSigned(dir, []string{"localhost"}); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, missing)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := pki.EnsureSelfSigned(dir, []string{"localhost"}); err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("error = %v, want one naming %s", err, missing)
			}
		})
	}
}

func ipStrings(ips []net.IP) []string {
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return s
}
