package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

func TestKubeconfigValidate(t *testing.T) {
	tests := map[string]struct {
		k    kubeconfigOptions
		want string
	}{
		"ok":          {k: kubeconfigOptions{user: "alice", validity: time.Hour}},
		"no user":     {k: kubeconfigOptions{validity: time.Hour}, want: "--user is required"},
		"empty group": {k: kubeconfigOptions{user: "a", groups: []string{""}, validity: time.Hour}, want: "--group"},
		"no validity": {k: kubeconfigOptions{user: "a"}, want: "--validity"},
		"http server": {k: kubeconfigOptions{user: "a", validity: time.Hour, server: "http://x:1"}, want: "https://"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.k.validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunKubeconfig(t *testing.T) {
	o := defaultOptions()
	o.dataDir = t.TempDir()
	if _, err := o.pki().EnsureDev(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pki.EnsureSelfSigned(filepath.Join(o.dataDir, "certs"), []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	admin := renderKubeconfig("https://10.0.0.1:7443", []byte("ca"), []byte("c"), []byte("k"), "admin")
	if err := os.WriteFile(filepath.Join(o.dataDir, "admin.kubeconfig"), admin, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	k := &kubeconfigOptions{user: "alice", groups: []string{"dev", "ops"}, out: "-", validity: time.Hour}
	if err := runKubeconfig(o, k, &out); err != nil {
		t.Fatal(err)
	}
	kc := out.String()
	if !strings.Contains(kc, `server: "https://10.0.0.1:7443"`) || !strings.Contains(kc, `user: "alice"`) {
		t.Fatalf("kubeconfig:\n%s", kc)
	}
	var certB64 string
	for _, line := range strings.Split(kc, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "client-certificate-data: "); ok {
			certB64 = v
		}
	}
	certPEM, _ := base64.StdEncoding.DecodeString(certB64)
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no certificate in the kubeconfig")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA(o.pki().ClientCACert(), o.pki().ClientCAKey())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the user certificate does not verify against the client CA: %v", err)
	}
	if cert.Subject.CommonName != "alice" || !slices.Equal(cert.Subject.Organization, []string{"dev", "ops"}) || cert.NotAfter.Sub(cert.NotBefore) != time.Hour {
		t.Fatalf("certificate %v %v %v", cert.Subject, cert.NotBefore, cert.NotAfter)
	}
	// To a file, private to its owner.
	k.out = filepath.Join(t.TempDir(), "alice.kubeconfig")
	if err := runKubeconfig(o, k, &out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(k.out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi, err)
	}
	// No client CA key: a clear error.
	o2 := defaultOptions()
	o2.dataDir = t.TempDir()
	if err := runKubeconfig(o2, k, &out); err == nil || !strings.Contains(err.Error(), "client CA") {
		t.Fatalf("without a PKI: %v", err)
	}
}

func TestEnsureServiceAccountKey(t *testing.T) {
	layout := pki.Layout{Dir: filepath.Join(t.TempDir(), "pki")}
	path, made, err := ensureServiceAccountKey(layout)
	if err != nil || !made {
		t.Fatalf("first: %v %v", made, err)
	}
	before, _ := os.ReadFile(path)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	if _, made, err := ensureServiceAccountKey(layout); err != nil || made {
		t.Fatalf("second: %v %v", made, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("an existing key was replaced")
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ensureServiceAccountKey(layout); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("bad key: %v", err)
	}
}
