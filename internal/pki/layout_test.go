package pki_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

func TestLayoutPaths(t *testing.T) {
	l := pki.Layout{Dir: "/d/pki"}
	tests := map[string]struct{ got, want string }{
		"CACert":       {l.CACert(), "/d/pki/ca.crt"},
		"CAKey":        {l.CAKey(), "/d/pki/ca.key"},
		"ClientCACert": {l.ClientCACert(), "/d/pki/client-ca.crt"},
		"ClientCAKey":  {l.ClientCAKey(), "/d/pki/client-ca.key"},
		"ServiceCert":  {l.ServiceCert("gateway"), "/d/pki/gateway.crt"},
		"ServiceKey":   {l.ServiceKey("gateway"), "/d/pki/gateway.key"},
		"AdminCert":    {l.AdminCert(), "/d/pki/admin.crt"},
		"AdminKey":     {l.AdminKey(), "/d/pki/admin.key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != filepath.FromSlash(tc.want) {
				t.Errorf("%s = %q, want %q", name, tc.got, tc.want)
			}
		})
	}
}

func TestServiceNames(t *testing.T) {
	want := []string{"authn", "authz", "api", "gateway", "etcd"}
	got := pki.ServiceNames()
	if !slices.Equal(got, want) {
		t.Fatalf("ServiceNames() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if again := pki.ServiceNames(); !slices.Equal(again, want) {
		t.Errorf("ServiceNames() after a caller changed its slice = %q, want %q", again, want)
	}
}

func TestServiceName(t *testing.T) {
	tests := map[string]struct {
		cert     *x509.Certificate
		wantName string
		wantOK   bool
	}{
		"gateway":             {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "portico-gateway"}}, wantName: "gateway", wantOK: true},
		"api":                 {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "portico-api"}}, wantName: "api", wantOK: true},
		"user":                {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "admin"}}},
		"prefix only":         {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "portico-"}}},
		"prefix not at start": {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "x-portico-gateway"}}},
		"case differs":        {cert: &x509.Certificate{Subject: pkix.Name{CommonName: "Portico-gateway"}}},
		"empty":               {cert: &x509.Certificate{}},
		"nil":                 {cert: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := pki.ServiceName(tc.cert)
			if got != tc.wantName || ok != tc.wantOK {
				t.Errorf("ServiceName() = %q, %v; want %q, %v", got, ok, tc.wantName, tc.wantOK)
			}
		})
	}
}

// allDevFiles lists every file of a complete development PKI, in the
// order EnsureDev writes them.
func allDevFiles(l pki.Layout) []string {
	files := []string{l.CAKey(), l.CACert(), l.ClientCAKey(), l.ClientCACert()}
	for _, n := range pki.ServiceNames() {
		files = append(files, l.ServiceKey(n), l.ServiceCert(n))
	}
	return append(files, l.AdminKey(), l.AdminCert())
}

type fileState struct {
	data    string
	modTime time.Time
}

// snapshot records the content and modification time of every file in dir.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]fileState{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		s[p] = fileState{string(data), fi.ModTime()}
	}
	return s
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseCert(t, data)
}

func TestEnsureDevFresh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "pki")
	l := pki.Layout{Dir: dir}
	written, err := l.EnsureDev()
	if err != nil {
		t.Fatalf("EnsureDev: %v", err)
	}
	if want := allDevFiles(l); !slices.Equal(written, want) {
		t.Fatalf("written = %q\nwant %q", written, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	for _, f := range written {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(f, ".key") {
			want = 0o600
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", f, fi.Mode().Perm(), want)
		}
	}

	internalCA, err := pki.LoadCA(l.CACert(), l.CAKey())
	if err != nil {
		t.Fatalf("LoadCA internal: %v", err)
	}
	clientCA, err := pki.LoadCA(l.ClientCACert(), l.ClientCAKey())
	if err != nil {
		t.Fatalf("LoadCA client: %v", err)
	}
	const tenYears = 10 * 365 * 24 * time.Hour
	const oneYear = 365 * 24 * time.Hour
	for ca, cn := range map[*pki.CA]string{internalCA: "portico-internal-ca", clientCA: "portico-client-ca"} {
		if ca.Cert.Subject.CommonName != cn {
			t.Errorf("CA CN %q, want %q", ca.Cert.Subject.CommonName, cn)
		}
		if got := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore); got != tenYears {
			t.Errorf("CA %s lifetime %v, want %v", cn, got, tenYears)
		}
	}
	now := time.Now()
	for _, name := range pki.ServiceNames() {
		cert := readCert(t, l.ServiceCert(name))
		if got, ok := pki.ServiceName(cert); !ok || got != name {
			t.Errorf("ServiceName(%s cert) = %q, %v", name, got, ok)
		}
		if want := []string{"localhost", "portico-" + name}; !slices.Equal(cert.DNSNames, want) {
			t.Errorf("%s DNSNames %q, want %q", name, cert.DNSNames, want)
		}
		if want := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}; !slices.EqualFunc(cert.IPAddresses, want, net.IP.Equal) {
			t.Errorf("%s IPAddresses %v, want %v", name, cert.IPAddresses, want)
		}
		// Valid for twelve hours from its making (NotBefore a minute
		// before that).
		if got, want := cert.NotAfter.Sub(cert.NotBefore), pki.DefaultServiceValidity+time.Minute; got != want {
			t.Errorf("%s lifetime %v, want %v", name, got, want)
		}
		for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if err := verify(cert, internalCA.Cert, u, now); err != nil {
				t.Errorf("%s usage %v against internal CA: %v", name, u, err)
			}
			if err := verify(cert, clientCA.Cert, u, now); err == nil {
				t.Errorf("%s verifies against the client CA; it must not", name)
			}
		}
	}
	admin := readCert(t, l.AdminCert())
	if admin.Subject.CommonName != "admin" || !slices.Equal(admin.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin subject %v, want CN=admin O=system:masters", admin.Subject)
	}
	if err := verify(admin, clientCA.Cert, x509.ExtKeyUsageClientAuth, now); err != nil {
		t.Errorf("admin against client CA: %v", err)
	}
	if err := verify(admin, clientCA.Cert, x509.ExtKeyUsageServerAuth, now); err == nil {
		t.Errorf("admin certificate verifies for server auth")
	}
	if err := verify(admin, internalCA.Cert, x509.ExtKeyUsageClientAuth, now); err == nil {
		t.Errorf("admin certificate verifies against the internal CA; it must not")
	}
	if _, ok := pki.ServiceName(admin); ok {
		t.Errorf("admin certificate looks like a service certificate")
	}

	// A second run writes nothing and leaves every file as it was.
	before := snapshot(t, dir)
	again, err := l.EnsureDev()
	if err != nil {
		t.Fatalf("second EnsureDev: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second EnsureDev wrote %q, want nothing", again)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Errorf("second EnsureDev changed the file set: %d files, was %d", len(after), len(before))
	}
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s changed on the second run", p)
		}
	}
}

func TestEnsureDevExisting(t *testing.T) {
	remove := func(paths ...string) func(*testing.T, pki.Layout) {
		return func(t *testing.T, _ pki.Layout) {
			for _, p := range paths {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tests := map[string]struct {
		// setup breaks a complete PKI in layout l.
		setup func(t *testing.T, l pki.Layout)
		// wantWritten are the files (relative to the dir) EnsureDev writes.
		wantWritten []string
		wantErr     string
	}{
		"service pair removed": {
			setup:       func(t *testing.T, l pki.Layout) { remove(l.ServiceCert("api"), l.ServiceKey("api"))(t, l) },
			wantWritten: []string{"api.key", "api.crt"},
		},
		"admin pair removed": {
			setup:       func(t *testing.T, l pki.Layout) { remove(l.AdminCert(), l.AdminKey())(t, l) },
			wantWritten: []string{"admin.key", "admin.crt"},
		},
		"service key alone missing": {
			setup:   func(t *testing.T, l pki.Layout) { remove(l.ServiceKey("api"))(t, l) },
			wantErr: "api.crt exists but its key",
		},
		"CA certificate alone missing": {
			setup:   func(t *testing.T, l pki.Layout) { remove(l.CACert())(t, l) },
			wantErr: "ca.key exists but its certificate",
		},
		"internal CA replaced, service certs left from the old one": {
			setup:       func(t *testing.T, l pki.Layout) { remove(l.CACert(), l.CAKey())(t, l) },
			wantWritten: []string{"ca.key", "ca.crt"},
			wantErr:     "authn.crt does not verify",
		},
		"key of another service": {
			setup: func(t *testing.T, l pki.Layout) {
				key, err := os.ReadFile(l.ServiceKey("authz"))
				if err != nil {
					t.Fatal(err)
				}
				if err := pki.WriteFile(l.ServiceKey("authn"), key, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "private key does not match public key",
		},
		"expired service certificate": {
			setup: func(t *testing.T, l pki.Layout) {
				ca, err := pki.LoadCA(l.CACert(), l.CAKey())
				if err != nil {
					t.Fatal(err)
				}
				certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{
					CommonName: "portico-gateway", Server: true, Client: true,
					NotBefore: time.Now().Add(-2 * time.Hour), Validity: time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := pki.WriteFile(l.ServiceKey("gateway"), keyPEM, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := pki.WriteFile(l.ServiceCert("gateway"), certPEM, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "gateway.crt does not verify",
		},
		"admin signed by the internal CA": {
			setup: func(t *testing.T, l pki.Layout) {
				ca, err := pki.LoadCA(l.CACert(), l.CAKey())
				if err != nil {
					t.Fatal(err)
				}
				certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: "admin", Organizations: []string{"system:masters"}, Client: true})
				if err != nil {
					t.Fatal(err)
				}
				if err := pki.WriteFile(l.AdminKey(), keyPEM, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := pki.WriteFile(l.AdminCert(), certPEM, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "admin.crt does not verify",
		},
		"client CA is not a CA": {
			setup: func(t *testing.T, l pki.Layout) {
				for src, dst := range map[string]string{l.AdminCert(): l.ClientCACert(), l.AdminKey(): l.ClientCAKey()} {
					data, err := os.ReadFile(src)
					if err != nil {
						t.Fatal(err)
					}
					if err := pki.WriteFile(dst, data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			},
			wantErr: "not a CA",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := pki.Layout{Dir: t.TempDir()}
			if _, err := l.EnsureDev(); err != nil {
				t.Fatalf("first EnsureDev: %v", err)
			}
			tc.setup(t, l)
			before := snapshot(t, l.Dir)

			written, err := l.EnsureDev()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EnsureDev error = %v, want containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("EnsureDev: %v", err)
			}
			var want []string
			for _, f := range tc.wantWritten {
				want = append(want, filepath.Join(l.Dir, f))
			}
			if !slices.Equal(written, want) {
				t.Errorf("written = %q, want %q", written, want)
			}
			// Nothing that existed was touched, except what EnsureDev reports.
			after := snapshot(t, l.Dir)
			for p, s := range before {
				if after[p] != s && !slices.Contains(written, p) {
					t.Errorf("%s changed but was not reported written", p)
				}
			}
			if tc.wantErr == "" {
				// The repaired PKI is complete and consistent.
				if again, err := l.EnsureDev(); err != nil || len(again) != 0 {
					t.Errorf("EnsureDev after repair = %q, %v; want nothing written, no error", again, err)
				}
			}
		})
	}
}

func TestEnsureDevEmptyDir(t *testing.T) {
	if _, err := (pki.Layout{}).EnsureDev(); err == nil {
		t.Fatal("EnsureDev with an empty Dir succeeded")
	}
}

// TestEnsureDevHosts: Hosts go into every service certificate, names as
// DNS names and addresses as IPs, after the loopback ones.
func TestEnsureDevHosts(t *testing.T) {
	l := pki.Layout{Dir: filepath.Join(t.TempDir(), "pki"), Hosts: []string{"api.example", "10.1.2.3"}}
	if _, err := l.EnsureDev(); err != nil {
		t.Fatal(err)
	}
	for _, name := range pki.ServiceNames() {
		cert := readCert(t, l.ServiceCert(name))
		if want := []string{"localhost", "portico-" + name, "api.example"}; !slices.Equal(cert.DNSNames, want) {
			t.Errorf("%s DNSNames %q, want %q", name, cert.DNSNames, want)
		}
		if want := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.1.2.3")}; !slices.EqualFunc(cert.IPAddresses, want, net.IP.Equal) {
			t.Errorf("%s IPAddresses %v, want %v", name, cert.IPAddresses, want)
		}
	}
}
