package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

// fixture is a small PKI made for one test: the internal CA, the client
// (user) CA and a foreign CA nobody trusts, written under dir.
type fixture struct {
	dir                                         string
	internal, client, foreign                   *pki.CA
	internalCAFile, clientCAFile, foreignCAFile string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.internal, f.internalCAFile = f.ca(t, "internal-ca")
	f.client, f.clientCAFile = f.ca(t, "client-ca")
	f.foreign, f.foreignCAFile = f.ca(t, "foreign-ca")
	return f
}

func (f *fixture) ca(t *testing.T, name string) (*pki.CA, string) {
	t.Helper()
	ca, err := pki.NewCA(name, time.Hour)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	file := filepath.Join(f.dir, name+".crt")
	if err := pki.WriteFile(file, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ca, file
}

// issue writes a pair signed by ca under name and returns its files.
func (f *fixture) issue(t *testing.T, ca *pki.CA, name string, o pki.IssueOptions) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(o)
	if err != nil {
		t.Fatalf("Issue %s: %v", name, err)
	}
	certFile, keyFile = filepath.Join(f.dir, name+".crt"), filepath.Join(f.dir, name+".key")
	if err := pki.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// service issues a service certificate like the dev PKI's, short-lived.
func (f *fixture) service(t *testing.T, ca *pki.CA, name string) (certFile, keyFile string) {
	t.Helper()
	return f.issue(t, ca, name, pki.IssueOptions{
		CommonName:  pki.ServiceCNPrefix + name,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		Server:      true,
		Client:      true,
		Validity:    time.Hour,
	})
}

// readCert parses the first certificate of a PEM file.
func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// handshakeResult is what each side of a TLS connection saw.
type handshakeResult struct {
	serverErr, clientErr error
	// peerCerts are the client certificates the server received.
	peerCerts []*x509.Certificate
	// serverLeaf is the certificate the client received.
	serverLeaf *x509.Certificate
}

func (h handshakeResult) ok() bool { return h.serverErr == nil && h.clientErr == nil }

// handshake connects a client to a server over loopback TCP. The server
// writes "ok" after its handshake; the client reads it, so a rejection
// the server makes after the client's handshake returned (TLS 1.3 client
// certificates) still reaches the client.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type serverResult struct {
		err   error
		peers []*x509.Certificate
	}
	done := make(chan serverResult, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- serverResult{err: err}
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(conn, serverCfg)
		if err := tc.Handshake(); err != nil {
			done <- serverResult{err: err}
			return
		}
		_, err = tc.Write([]byte("ok"))
		done <- serverResult{err: err, peers: tc.ConnectionState().PeerCertificates}
	}()

	var res handshakeResult
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(conn, clientCfg)
	res.clientErr = tc.Handshake()
	if res.clientErr == nil {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			res.serverLeaf = certs[0]
		}
		buf := make([]byte, 2)
		if _, err := io.ReadFull(tc, buf); err != nil {
			res.clientErr = err
		} else if string(buf) != "ok" {
			res.clientErr = io.ErrUnexpectedEOF
		}
	}
	conn.Close()
	sr := <-done
	res.serverErr, res.peerCerts = sr.err, sr.peers
	return res
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
