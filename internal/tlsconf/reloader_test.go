package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

// fakeClock is a clock tests move by hand; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pairWriter rewrites one certificate/key pair, bumping the files'
// modification times so that each write is a visible change even on a
// file system with coarse timestamps.
type pairWriter struct {
	t                 *testing.T
	ca                *pki.CA
	certFile, keyFile string
	mtime             time.Time
}

func (w *pairWriter) touch(path string) {
	w.t.Helper()
	w.mtime = w.mtime.Add(time.Second)
	if err := os.Chtimes(path, w.mtime, w.mtime); err != nil {
		w.t.Fatal(err)
	}
}

func (w *pairWriter) write(path string, data []byte, perm os.FileMode) {
	w.t.Helper()
	if err := pki.WriteFile(path, data, perm); err != nil {
		w.t.Fatal(err)
	}
	w.touch(path)
}

// issue writes a fresh pair with common name cn.
func (w *pairWriter) issue(cn string) {
	w.t.Helper()
	certPEM, keyPEM, err := w.ca.Issue(pki.IssueOptions{CommonName: cn, DNSNames: []string{"localhost"}, Server: true, Client: true, Validity: time.Hour})
	if err != nil {
		w.t.Fatal(err)
	}
	w.write(w.keyFile, keyPEM, 0o600)
	w.write(w.certFile, certPEM, 0o644)
}

func TestNewReloaderErrors(t *testing.T) {
	f := newFixture(t)
	cert, key := f.service(t, f.internal, "a")
	_, otherKey := f.service(t, f.internal, "b")
	garbage := filepath.Join(f.dir, "garbage")
	writeFile(t, garbage, []byte("garbage"))
	tests := map[string]struct {
		cert, key string
		wantErr   string
	}{
		"ok":                {cert: cert, key: key},
		"missing cert":      {cert: filepath.Join(f.dir, "nope.crt"), key: key, wantErr: "nope.crt"},
		"missing key":       {cert: cert, key: filepath.Join(f.dir, "nope.key"), wantErr: "nope.key"},
		"key of other pair": {cert: cert, key: otherKey, wantErr: "does not match"},
		"garbage cert":      {cert: garbage, key: key, wantErr: "garbage"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := NewReloader(tc.cert, tc.key, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewReloader: %v", err)
				}
				got, err := r.GetCertificate(nil)
				if err != nil || got == nil || got.Leaf.Subject.CommonName != "portico-a" {
					t.Fatalf("GetCertificate = %v, %v; want portico-a", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewReloader error = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestReloader walks one Reloader through a series of file changes; each
// step sees the state the previous ones left.
func TestReloader(t *testing.T) {
	f := newFixture(t)
	w := &pairWriter{
		t: t, ca: f.internal,
		certFile: filepath.Join(f.dir, "serving.crt"), keyFile: filepath.Join(f.dir, "serving.key"),
		mtime: time.Now().Add(-time.Hour),
	}
	w.issue("first")
	logs := &syncBuffer{}
	r, err := NewReloader(w.certFile, w.keyFile, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	r.now = clock.Now
	r.lastCheck.Store(clock.Now().UnixNano())

	steps := []struct {
		name    string
		change  func()
		advance time.Duration
		wantCN  string
		wantLog string // a new log line containing this; "" means no new line
	}{
		{name: "initial pair", wantCN: "first"},
		{name: "rewritten, not yet checked", change: func() { w.issue("second") }, advance: 500 * time.Millisecond, wantCN: "first"},
		{name: "checked after a second", advance: 500 * time.Millisecond, wantCN: "second", wantLog: "reloaded certificate"},
		{name: "unchanged", advance: 5 * time.Second, wantCN: "second"},
		{
			name:    "corrupt certificate keeps the previous pair",
			change:  func() { w.write(w.certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o644) },
			advance: time.Second, wantCN: "second", wantLog: "keeping the previous certificate",
		},
		{name: "same failure is logged once", advance: time.Second, wantCN: "second"},
		{
			name: "certificate of another key keeps the previous pair",
			change: func() {
				certPEM, _, err := f.internal.Issue(pki.IssueOptions{CommonName: "mismatch", Server: true})
				if err != nil {
					t.Fatal(err)
				}
				w.write(w.certFile, certPEM, 0o644)
			},
			advance: time.Second, wantCN: "second", wantLog: "does not match",
		},
		{name: "fixed pair", change: func() { w.issue("third") }, advance: time.Second, wantCN: "third", wantLog: "reloaded certificate"},
		{
			name:    "files removed keeps the previous pair",
			change:  func() { _ = os.Remove(w.certFile); _ = os.Remove(w.keyFile) },
			advance: time.Second, wantCN: "third", wantLog: "no such file",
		},
		{name: "files still removed, logged once", advance: time.Second, wantCN: "third"},
		{name: "files back", change: func() { w.issue("fourth") }, advance: time.Second, wantCN: "fourth", wantLog: "reloaded certificate"},
		{
			name:    "key touched, same content",
			change:  func() { w.touch(w.keyFile) },
			advance: time.Second, wantCN: "fourth", wantLog: "reloaded certificate",
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := logs.String()
			if s.change != nil {
				s.change()
			}
			clock.Advance(s.advance)
			got, err := r.GetCertificate(&tls.ClientHelloInfo{})
			if err != nil || got == nil {
				t.Fatalf("GetCertificate = %v, %v", got, err)
			}
			if got.Leaf.Subject.CommonName != s.wantCN {
				t.Errorf("GetCertificate served %q, want %q", got.Leaf.Subject.CommonName, s.wantCN)
			}
			cli, err := r.GetClientCertificate(&tls.CertificateRequestInfo{})
			if err != nil || cli != got {
				t.Errorf("GetClientCertificate = %v, %v; want the pair GetCertificate serves", cli, err)
			}
			added := strings.TrimPrefix(logs.String(), before)
			switch {
			case s.wantLog == "" && added != "":
				t.Errorf("unexpected log: %s", added)
			case s.wantLog != "" && !strings.Contains(added, s.wantLog):
				t.Errorf("log %q lacks %q", added, s.wantLog)
			}
			if strings.Contains(added, "PRIVATE KEY") {
				t.Errorf("log shows key material: %s", added)
			}
		})
	}
}

// TestReloaderServes rewrites the pair behind a live TLS server: the next
// handshake after the check interval presents the new certificate.
func TestReloaderServes(t *testing.T) {
	f := newFixture(t)
	w := &pairWriter{
		t: t, ca: f.internal,
		certFile: filepath.Join(f.dir, "serving.crt"), keyFile: filepath.Join(f.dir, "serving.key"),
		mtime: time.Now().Add(-time.Hour),
	}
	w.issue("old")
	r, err := NewReloader(w.certFile, w.keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	r.now = clock.Now
	roots, err := LoadPool(f.internalCAFile)
	if err != nil {
		t.Fatal(err)
	}
	serverCfg := ServingConfig(r, nil)
	clientCfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}

	served := func() string {
		t.Helper()
		res := handshake(t, serverCfg, clientCfg)
		if !res.ok() {
			t.Fatalf("handshake: server: %v; client: %v", res.serverErr, res.clientErr)
		}
		return res.serverLeaf.Subject.CommonName
	}
	if got := served(); got != "old" {
		t.Fatalf("served %q, want old", got)
	}
	w.issue("new")
	clock.Advance(2 * time.Second)
	if got := served(); got != "new" {
		t.Fatalf("after rewrite served %q, want new", got)
	}
}

// TestReloaderConcurrent runs handshakes' certificate lookups in parallel
// with rewrites; run with -race.
func TestReloaderConcurrent(t *testing.T) {
	f := newFixture(t)
	w := &pairWriter{
		t: t, ca: f.internal,
		certFile: filepath.Join(f.dir, "serving.crt"), keyFile: filepath.Join(f.dir, "serving.key"),
		mtime: time.Now().Add(-time.Hour),
	}
	w.issue("v0")
	r, err := NewReloader(w.certFile, w.keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	r.now = clock.Now
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := r.GetCertificate(nil)
				if err != nil || c == nil || c.Leaf == nil {
					t.Errorf("GetCertificate = %v, %v", c, err)
					return
				}
				if _, err := x509.ParseCertificate(c.Certificate[0]); err != nil {
					t.Errorf("served an unparsable certificate: %v", err)
					return
				}
			}
		})
	}
	for i := range 5 {
		w.issue("v" + string(rune('1'+i)))
		clock.Advance(time.Second)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	clock.Advance(time.Second)
	if c, _ := r.GetCertificate(nil); c.Leaf.Subject.CommonName != "v5" {
		t.Errorf("after the last rewrite served %q, want v5", c.Leaf.Subject.CommonName)
	}
}
