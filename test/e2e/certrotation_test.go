package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestServiceCertRotation: with 15-second service certificates, `portico
// up` renews every service's before it expires and the services use the
// new ones without a restart: under steady requests on both ports none
// fails; once the first certificates have expired, a new connection to
// each gRPC service is served a renewed, valid certificate and accepted
// with the gateway's renewed one, and refused with the gateway's first,
// now expired, one (the services do check).
func TestServiceCertRotation(t *testing.T) {
	const validity = 15 * time.Second
	p := startPortico(t, "--service-cert-validity", validity.String())
	services := []string{"api", "authn", "authz", "gateway", "etcd"}
	first := map[string]*x509.Certificate{}
	for _, s := range services {
		first[s] = leafOf(t, p.pki(s+".crt"))
	}
	oldGateway := loadPairCopy(t, p.pki("gateway.crt"), p.pki("gateway.key"))

	secure := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	insecure := &http.Client{Timeout: 30 * time.Second}
	ctx, stop := context.WithCancel(t.Context())
	var sent, failed atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	for _, c := range []struct {
		client *http.Client
		base   string
	}{
		{secure, fmt.Sprintf("https://127.0.0.1:%d", p.securePort)},
		{insecure, fmt.Sprintf("http://127.0.0.1:%d", p.insecurePort)},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				// A write (api → etcd) and a read, each its own request.
				code, body := rotationRequest(c.client, "POST", c.base+"/api/v1/namespaces/default/configmaps",
					fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"rot-"},"data":{"i":"%d"}}`, i))
				sent.Add(1)
				if code != http.StatusCreated {
					failed.Add(1)
					failures.Store(fmt.Sprintf("POST %d", i), fmt.Sprintf("%d %s", code, body))
				}
				code, body = rotationRequest(c.client, "GET", c.base+"/api/v1/namespaces/default/configmaps?limit=1", "")
				sent.Add(1)
				if code != http.StatusOK {
					failed.Add(1)
					failures.Store(fmt.Sprintf("GET %d", i), fmt.Sprintf("%d %s", code, body))
				}
			}
		}()
	}
	testwait.Until(t, 2*validity, "every service certificate renewed", func() bool {
		for _, s := range services {
			if leafOf(t, p.pki(s+".crt")).SerialNumber.Cmp(first[s].SerialNumber) == 0 {
				return false
			}
		}
		return true
	})
	var latest time.Time
	for _, c := range first {
		if c.NotAfter.After(latest) {
			latest = c.NotAfter
		}
	}
	testwait.Until(t, 2*validity, "the first certificates expired", func() bool { return time.Now().After(latest.Add(time.Second)) })
	stop()
	wg.Wait()
	if n := failed.Load(); n > 0 {
		failures.Range(func(k, v any) bool { t.Logf("%s: %s", k, v); return true })
		t.Fatalf("%d of %d requests failed across the rotation", n, sent.Load())
	}
	t.Logf("%d requests, none failed, across the rotation of every service certificate", sent.Load())

	newGateway := loadPairCopy(t, p.pki("gateway.crt"), p.pki("gateway.key"))
	for _, tc := range []struct {
		service string
		port    int
	}{{"api", p.apiPort}, {"authn", p.authnPort}, {"authz", p.authzPort}} {
		t.Run(tc.service, func(t *testing.T) {
			served, err := handshake(t, p, tc.port, newGateway)
			if err != nil {
				t.Fatalf("a new connection with the gateway's renewed certificate: %v", err)
			}
			if served.SerialNumber.Cmp(first[tc.service].SerialNumber) == 0 || time.Now().After(served.NotAfter) {
				t.Fatalf("served serial %v valid until %v: not a renewed, valid certificate", served.SerialNumber, served.NotAfter)
			}
			if _, err := handshake(t, p, tc.port, oldGateway); err == nil {
				t.Fatal("the gateway's first, expired, certificate was accepted")
			}
		})
	}
}

// rotationRequest is one request; a transport error is code 0.
func rotationRequest(c *http.Client, method, url, body string) (int, string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// handshake opens a new mutual-TLS connection to a service's gRPC port
// (HTTP/2, as gRPC) with pair and returns the certificate served.
func handshake(t *testing.T, p *portico, port int, pair tls.Certificate) (*x509.Certificate, error) {
	t.Helper()
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(p.pki("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(caPEM)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2"},
		Certificates: []tls.Certificate{pair},
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// TLS 1.3: the server's verdict on our certificate comes with its
	// first message after the handshake; read to get it.
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func leafOf(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loadPairCopy loads a key pair now (the files change later).
func loadPairCopy(t *testing.T, cert, key string) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}
