package etcd

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEmbeddedOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		o       EmbeddedOptions
		wantErr string
	}{
		"minimal":         {o: EmbeddedOptions{DataDir: dir}},
		"no data dir":     {o: EmbeddedOptions{}, wantErr: "data dir is required"},
		"full tls":        {o: EmbeddedOptions{DataDir: dir, ServerCertFile: file, ServerKeyFile: file, ClientCAFile: file}},
		"tls without ca":  {o: EmbeddedOptions{DataDir: dir, ServerCertFile: file, ServerKeyFile: file}, wantErr: "client CA file"},
		"missing cert":    {o: EmbeddedOptions{DataDir: dir, ServerCertFile: filepath.Join(dir, "nope"), ServerKeyFile: file, ClientCAFile: file}, wantErr: "no such file"},
		"negative retain": {o: EmbeddedOptions{DataDir: dir, CompactionRetention: -time.Second}, wantErr: "negative"},
		"allowed CNs":     {o: EmbeddedOptions{DataDir: dir, ServerCertFile: file, ServerKeyFile: file, ClientCAFile: file, AllowedClientCNs: []string{"portico-api"}}},
		"CNs without tls": {o: EmbeddedOptions{DataDir: dir, AllowedClientCNs: []string{"portico-api"}}, wantErr: "need TLS"},
		"empty CN":        {o: EmbeddedOptions{DataDir: dir, ServerCertFile: file, ServerKeyFile: file, ClientCAFile: file, AllowedClientCNs: []string{""}}, wantErr: "empty allowed client CN"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestClientOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		o       ClientOptions
		wantErr string
	}{
		"ok":            {o: ClientOptions{Endpoints: []string{"http://127.0.0.1:2379"}}},
		"no endpoints":  {o: ClientOptions{}, wantErr: "at least one endpoint"},
		"cert, no key":  {o: ClientOptions{Endpoints: []string{"x"}, CertFile: "c"}, wantErr: "go together"},
		"empty element": {o: ClientOptions{Endpoints: []string{" "}}, wantErr: "empty endpoint"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestEmbeddedRestartKeepsData writes through one member, stops it, starts
// a new member on the same data dir and reads the write back. A second
// member running at the same time must get its own ports.
func TestEmbeddedRestartKeepsData(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "etcd")

	e1, err := StartEmbedded(ctx, EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	other, err := StartEmbedded(ctx, EmbeddedOptions{DataDir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if a, b := e1.Endpoints()[0], other.Endpoints()[0]; a == b || !strings.HasPrefix(a, "http://127.0.0.1:") {
		t.Fatalf("endpoints %q and %q: want two distinct http://127.0.0.1 URLs", a, b)
	}

	c, err := NewClient(ctx, ClientOptions{Endpoints: e1.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "/k", "v1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}

	e2, err := StartEmbedded(ctx, EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	c, err = NewClient(ctx, ClientOptions{Endpoints: e2.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v1" {
		t.Fatalf("after restart got %v, want /k=v1", resp.Kvs)
	}
}

func TestEmbeddedTLS(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	pki := newTestPKI(t, dir)

	e, err := StartEmbedded(ctx, EmbeddedOptions{
		DataDir:        filepath.Join(dir, "etcd"),
		ServerCertFile: pki.serverCert,
		ServerKeyFile:  pki.serverKey,
		ClientCAFile:   pki.caCert,
		// Other services hold certificates of the same CA: only the
		// api's makes an etcd user.
		AllowedClientCNs: []string{"portico-api"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if ep := e.Endpoints()[0]; !strings.HasPrefix(ep, "https://127.0.0.1:") {
		t.Fatalf("endpoint %q, want https://127.0.0.1:<port>", ep)
	}

	tests := map[string]struct {
		o      ClientOptions
		wantOK bool
	}{
		"client cert": {
			o:      ClientOptions{CertFile: pki.clientCert, KeyFile: pki.clientKey, CAFile: pki.caCert},
			wantOK: true,
		},
		"another service's cert, same CA": {
			o: ClientOptions{CertFile: pki.otherCert, KeyFile: pki.otherKey, CAFile: pki.caCert},
		},
		"no client cert": {o: ClientOptions{CAFile: pki.caCert}},
		"plain http":     {o: ClientOptions{Endpoints: []string{strings.Replace(e.Endpoints()[0], "https", "http", 1)}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := tc.o
			if o.Endpoints == nil {
				o.Endpoints = e.Endpoints()
			}
			o.DialTimeout = time.Second
			c, err := NewClient(ctx, o)
			if err == nil {
				c.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("NewClient error = %v, want success %v", err, tc.wantOK)
			}
		})
	}
}

func TestNewClientUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more

	start := time.Now()
	_, err = NewClient(t.Context(), ClientOptions{Endpoints: []string{"http://" + addr}, DialTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("NewClient succeeded against a closed port")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("NewClient took %s to fail", d)
	}
}

type testPKI struct {
	caCert, serverCert, serverKey, clientCert, clientKey string
	// otherCert is a client certificate of the same CA for another CN.
	otherCert, otherKey string
}

// newTestPKI makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, valid for an hour, as PEM files in dir.
func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test-ca"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (cert, key string) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Minute),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(cn+".crt", "CERTIFICATE", der), write(cn+".key", "EC PRIVATE KEY", kder)
	}
	p := testPKI{caCert: write("ca.crt", "CERTIFICATE", caDER)}
	// etcd also uses the server certificate as the client certificate of
	// its own peer transport, so it carries both usages in real setups; the
	// single member never dials, so server auth alone is enough here.
	p.serverCert, p.serverKey = leaf(2, "etcd-server", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = leaf(3, "portico-api", x509.ExtKeyUsageClientAuth, nil)
	p.otherCert, p.otherKey = leaf(4, "portico-gateway", x509.ExtKeyUsageClientAuth, nil)
	return p
}

// TestEmbeddedSurvivesSIGKILL starts etcd in a child process, lets it
// acknowledge a write, kills it with SIGKILL and reads the write back from
// a new member on the same data dir.
func TestEmbeddedSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("PORTICO_ETCD_CHILD_DIR") != "" {
		t.Skip("child process")
	}
	dir := filepath.Join(t.TempDir(), "etcd")
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmbeddedChild$", "-test.v")
	cmd.Env = append(os.Environ(), "PORTICO_ETCD_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	acked := false
	for sc.Scan() {
		if sc.Text() == "ACKED" {
			acked = true
			break
		}
	}
	if !acked {
		t.Fatalf("child never acknowledged its write")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	e, err := StartEmbedded(t.Context(), EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := NewClient(t.Context(), ClientOptions{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(t.Context(), "/acked")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "yes" {
		t.Fatalf("after SIGKILL got %v, want /acked=yes", resp.Kvs)
	}
}

// TestEmbeddedChild is the child of TestEmbeddedSurvivesSIGKILL.
func TestEmbeddedChild(t *testing.T) {
	dir := os.Getenv("PORTICO_ETCD_CHILD_DIR")
	if dir == "" {
		t.Skip("only runs as a child of TestEmbeddedSurvivesSIGKILL")
	}
	e, err := StartEmbedded(t.Context(), EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(t.Context(), ClientOptions{Endpoints: e.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(t.Context(), "/acked", "yes"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ACKED")
	select {} // killed by the test
}
