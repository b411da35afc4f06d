// Package e2e starts real Portico processes on free loopback ports and
// drives them with the real kubectl, curl, grpcurl and client-go.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins holds the binaries TestMain builds.
var bins struct {
	portico, grpcurl string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portico-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		root, err := filepath.Abs("../..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bins.portico = filepath.Join(dir, "portico")
		bins.grpcurl = filepath.Join(dir, "grpcurl")
		for _, b := range [][]string{
			{"build", "-o", bins.portico, "./cmd/portico"},
			{"build", "-modfile=tools/go.mod", "-o", bins.grpcurl, "github.com/fullstorydev/grpcurl/cmd/grpcurl"},
		} {
			cmd := exec.Command("go", b...)
			cmd.Dir = root
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building test binaries:", err)
				return 1
			}
		}
		for _, tool := range []string{"kubectl", "curl"} {
			if _, err := exec.LookPath(tool); err != nil {
				fmt.Fprintf(os.Stderr, "e2e tests need %s on PATH: %v\n", tool, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
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

// handedOut are the ports freePort already gave in this test binary: the
// kernel may offer a just-closed port again, and two services of one
// instance must never be given the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePort returns a loopback port nobody listens on now and that no
// earlier call returned.
func freePort(t *testing.T) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("no fresh loopback port after 100 tries")
	return 0
}

// portico is one running `portico up`.
type portico struct {
	t       *testing.T
	dataDir string
	args    []string
	cmd     *exec.Cmd
	logs    *syncBuffer
	stdout  *syncBuffer
	// exited is closed when the process has exited.
	exited chan struct{}

	insecurePort, securePort, apiPort, authnPort, authzPort int
}

// startPortico runs `portico up` on free ports in a fresh data dir. A
// port another process took between freePort and the bind (an etcd
// listener, say) is not a failure of Portico: the start is tried again on
// fresh ports.
func startPortico(t *testing.T, extra ...string) *portico {
	t.Helper()
	p := &portico{t: t, dataDir: t.TempDir()}
	t.Cleanup(p.stop)
	for attempt := 1; ; attempt++ {
		p.insecurePort, p.securePort = freePort(t), freePort(t)
		p.apiPort, p.authnPort, p.authzPort = freePort(t), freePort(t), freePort(t)
		p.args = append([]string{"up",
			"--data-dir", p.dataDir,
			"--insecure-port", fmt.Sprint(p.insecurePort),
			"--secure-port", fmt.Sprint(p.securePort),
			"--bind-address", "127.0.0.1",
			"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", p.apiPort),
			"--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", p.authnPort),
			"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", p.authzPort),
		}, extra...)
		// PORTICO_E2E_UP_ARGS runs every test with more flags, e.g.
		// --watch-cache=false to run the suite without the watch cache.
		p.args = append(p.args, strings.Fields(os.Getenv("PORTICO_E2E_UP_ARGS"))...)
		if p.launch() {
			return p
		}
		if attempt == 3 || !strings.Contains(p.logs.String(), "address already in use") {
			t.Fatalf("portico did not become ready; logs:\n%s", p.logs.String())
		}
		t.Logf("a port was taken before portico bound it; trying fresh ports")
	}
}

// start starts the instance again with the same ports and data dir.
func (p *portico) start() {
	p.t.Helper()
	if !p.launch() {
		p.t.Fatalf("portico did not become ready; logs:\n%s", p.logs.String())
	}
}

// launch runs the process and reports whether it became ready; when it
// did not, the process has exited or been killed.
func (p *portico) launch() bool {
	p.t.Helper()
	p.logs, p.stdout = &syncBuffer{}, &syncBuffer{}
	p.cmd = exec.Command(bins.portico, p.args...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.cmd, p.exited)
	if p.waitReady() {
		return true
	}
	p.kill()
	return false
}

// waitReady waits until the insecure port serves the default namespace,
// or the process exits.
func (p *portico) waitReady() bool {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.insecureURL() + "/api/v1/namespaces/default")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-p.exited:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// stop ends the process with SIGTERM and waits for it.
func (p *portico) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("portico did not stop within 30s of SIGTERM")
	}
	p.cmd = nil
}

// kill ends the process with SIGKILL: nothing is flushed or closed.
func (p *portico) kill() {
	p.t.Helper()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

func (p *portico) insecureURL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.insecurePort) }
func (p *portico) secureURL() string   { return fmt.Sprintf("https://127.0.0.1:%d", p.securePort) }
func (p *portico) apiAddr() string     { return fmt.Sprintf("127.0.0.1:%d", p.apiPort) }
func (p *portico) pki(name string) string {
	return filepath.Join(p.dataDir, "pki", name)
}
func (p *portico) kubeconfig() string { return filepath.Join(p.dataDir, "admin.kubeconfig") }

// result is a finished command.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("err=%v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
}

// run runs a command with a timeout and returns what it printed.
func run(t *testing.T, stdin string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=/dev/null")
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), err: err}
}

// kubectl runs kubectl against the insecure port.
func (p *portico) kubectl(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, "", "kubectl", append([]string{"--server", p.insecureURL(), "--cache-dir", t.TempDir()}, args...)...)
}

// kubectlSecure runs kubectl with the admin kubeconfig (client certificate).
func (p *portico) kubectlSecure(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, "", "kubectl", append([]string{"--kubeconfig", p.kubeconfig(), "--cache-dir", t.TempDir()}, args...)...)
}

// mustKubectl is kubectl that must succeed.
func (p *portico) mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	r := p.kubectl(t, args...)
	if r.err != nil {
		t.Fatalf("kubectl %s: %s\nportico logs:\n%s", strings.Join(args, " "), r, p.logs.String())
	}
	return r.stdout
}

// grpcurl runs grpcurl against the api service with the given client
// certificate (empty for none).
func (p *portico) grpcurl(t *testing.T, cert, key string, args ...string) result {
	t.Helper()
	base := []string{"-cacert", p.pki("ca.crt")}
	if cert != "" {
		base = append(base, "-cert", cert, "-key", key)
	}
	return run(t, "", bins.grpcurl, append(base, args...)...)
}

// httpDo sends one request with Go's client and returns status, headers and body.
func httpDo(t *testing.T, c *http.Client, method, url, contentType, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// secureClient is an HTTPS client trusting the serving certificate, with
// an optional client certificate.
func (p *portico) secureClient(t *testing.T, cert, key string) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(p.dataDir, "certs", "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}, Timeout: 30 * time.Second}
}
