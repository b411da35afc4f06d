package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/programtb"
	"github.com/portico-dev/portico/internal/testpeers"
)

// server is one API server under test, as the measurements see it.
type server struct {
	name string
	// url is the secure port, https://127.0.0.1:PORT.
	url string
	// insecureURL is Portico's insecure port; empty for kube-apiserver,
	// which has none.
	insecureURL string
	token       string
	// caFile is the CA of the serving certificate.
	caFile string
	// client speaks HTTP/2 over TLS to url (one connection, many
	// streams), as kubectl and client-go do.
	client *http.Client
	// plain is an HTTP/1.1 client for insecureURL.
	plain *http.Client
	pid   int
	// startup is the time from exec to /readyz ok.
	startup time.Duration
	// dataDir is Portico's --data-dir (its PKI).
	dataDir string
	// apiAddr is Portico's gRPC api listener.
	apiAddr string
}

func httpsClient(tb *programtb.TB, caFile string, conns int) *http.Client {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: conns,
	}}
}

// startKube starts a real etcd and kube-apiserver (internal/testpeers:
// static token in system:masters, --endpoint-reconciler-type=none).
func startKube(tb *programtb.TB, conns int) *server {
	etcd := testpeers.StartEtcd(tb, testpeers.EtcdOptions{})
	t0 := time.Now()
	k := testpeers.StartKubeAPIServer(tb, etcd)
	s := &server{
		name:    "kube-apiserver",
		url:     k.URL,
		token:   k.Token,
		caFile:  k.CAFile,
		client:  httpsClient(tb, k.CAFile, conns),
		pid:     k.PID(),
		startup: time.Since(t0),
	}
	return s
}

// startPortico starts a real etcd (the same binary as kube-apiserver's)
// and `portico up` against it, with a token file giving the same kind of
// user (system:masters), on free loopback ports; it waits for /readyz.
func startPortico(tb *programtb.TB, bin string, conns int, profiling bool) *server {
	etcd := testpeers.StartEtcd(tb, testpeers.EtcdOptions{})
	dir := tb.TempDir()
	token := strconv.FormatInt(time.Now().UnixNano(), 36) + "bench"
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",bench-admin,bench-admin,\"system:masters\"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	insecure, secure := testpeers.FreePort(tb), testpeers.FreePort(tb)
	api, authn, authz := testpeers.FreePort(tb), testpeers.FreePort(tb), testpeers.FreePort(tb)
	args := []string{"up",
		"--data-dir", dataDir,
		"--insecure-port", fmt.Sprint(insecure),
		"--secure-port", fmt.Sprint(secure),
		"--bind-address", "127.0.0.1",
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", api),
		"--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", authn),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", authz),
		"--etcd-servers", strings.Join(etcd.Endpoints(), ","),
		"--token-auth-file", tokenFile,
		"--log-level", "warn",
	}
	if profiling {
		args = append(args, "--profiling")
	}
	logf, err := os.Create(filepath.Join(dir, "portico.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	})
	s := &server{
		name:        "Portico",
		url:         fmt.Sprintf("https://127.0.0.1:%d", secure),
		insecureURL: fmt.Sprintf("http://127.0.0.1:%d", insecure),
		token:       token,
		caFile:      filepath.Join(dataDir, "certs", "apiserver.crt"),
		pid:         cmd.Process.Pid,
		dataDir:     dataDir,
		apiAddr:     fmt.Sprintf("127.0.0.1:%d", api),
		plain:       &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}},
	}
	// The serving certificate is made by `up`: poll the insecure
	// port's /readyz until it is, then the secure one.
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			tb.Fatalf("portico exited before /readyz:\n%s", tail(string(log)))
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			tb.Fatalf("portico not ready within 90s:\n%s", tail(string(log)))
		}
		if s.client == nil {
			if _, err := os.Stat(filepath.Join(dataDir, "certs", "apiserver.crt")); err == nil {
				s.client = httpsClient(tb, filepath.Join(dataDir, "certs", "apiserver.crt"), conns)
			}
		}
		if s.client != nil && readyz(s) {
			s.startup = time.Since(t0)
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readyz(s *server) bool {
	req, _ := http.NewRequest(http.MethodGet, s.url+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func tail(s string) string {
	if len(s) > 8<<10 {
		return "...\n" + s[len(s)-8<<10:]
	}
	return s
}

// rss is the resident set of a process in bytes (VmRSS), 0 when unknown.
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
