package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestPortsHealth (point 6): /healthz, /livez, /readyz, /version and
// /metrics on both ports, and /readyz failing while a backend service is
// unreachable (services run as separate processes, one of them killed).
func TestPortsHealth(t *testing.T) {
	p := startPorticoQuickStop(t)
	admin := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	// ?verbose lists the checks as kube-apiserver does; these are the
	// ones each endpoint has at least.
	verbose := map[string][]string{
		"/healthz?verbose": {"api", "authn", "etcd"},
		"/livez?verbose":   nil,
		"/readyz?verbose":  {"api", "authn", "etcd", "shutdown"},
	}
	for _, base := range []struct {
		url string
		c   *http.Client
	}{{p.insecureURL(), http.DefaultClient}, {p.secureURL(), admin}} {
		for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz/etcd", "/healthz/ping"} {
			code, hdr, body := httpDo(t, base.c, "GET", base.url+path, "", "")
			if code != 200 || body != "ok" || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%s%s: %d %q %v", base.url, path, code, body, hdr)
			}
		}
		for path, checks := range verbose {
			code, _, body := httpDo(t, base.c, "GET", base.url+path, "", "")
			endpoint := strings.TrimPrefix(strings.TrimSuffix(path, "?verbose"), "/")
			lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			ok := code == 200 && strings.HasSuffix(body, "\n") && len(lines) >= 2 &&
				lines[0] == "[+]ping ok" && lines[len(lines)-1] == endpoint+" check passed"
			for _, l := range lines[1 : len(lines)-1] {
				// A check, or one replica of the check above it.
				ok = ok && regexp.MustCompile(`^(\[\+\][a-z0-9/-]+|  backend [a-z]+ 127\.0\.0\.1:\d+) ok$`).MatchString(l)
			}
			for _, c := range checks {
				ok = ok && slices.Contains(lines, "[+]"+c+" ok")
			}
			if endpoint == "livez" {
				ok = ok && len(lines) == 2 // only the process itself: no backend
			}
			if !ok {
				t.Errorf("%s%s: %d\n%s\nwant checks %v", base.url, path, code, body, checks)
			}
		}
		code, _, body := httpDo(t, base.c, "GET", base.url+"/version", "", "")
		var v struct{ Major, Minor, GitVersion, GoVersion, Platform string }
		if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || v.Major != "1" || !strings.HasPrefix(v.GitVersion, "v1.") || v.GoVersion == "" || v.Platform == "" {
			t.Errorf("%s/version: %d %s", base.url, code, body)
		}
	}

	p.mustKubectl(t, "get", "namespaces")
	p.mustKubectl(t, "get", "namespace", "default")
	for _, base := range []struct {
		url string
		c   *http.Client
	}{{p.insecureURL(), http.DefaultClient}, {p.secureURL(), admin}} {
		code, hdr, text := httpDo(t, base.c, "GET", base.url+"/metrics", "", "")
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Fatalf("%s/metrics: %d %v", base.url, code, hdr)
		}
		for _, m := range []struct {
			name   string
			labels map[string]string
			min    float64
		}{
			{"apiserver_request_total", map[string]string{"verb": "LIST", "resource": "namespaces", "code": "200"}, 1},
			{"apiserver_request_total", map[string]string{"verb": "GET", "resource": "namespaces", "code": "200"}, 1},
			{"apiserver_request_total", map[string]string{"verb": "GET", "resource": "", "code": "200"}, 1},
			{"apiserver_request_duration_seconds", map[string]string{"verb": "LIST", "resource": "namespaces"}, 1},
			{"apiserver_current_inflight_requests", map[string]string{"request_kind": "readOnly"}, 1}, // this scrape
			{"apiserver_current_inflight_requests", map[string]string{"request_kind": "mutating"}, 0},
		} {
			v, ok := promSample(t, text, m.name, m.labels)
			if !ok || v < m.min {
				t.Errorf("%s/metrics: %s%v = %v (present %v), want >= %v", base.url, m.name, m.labels, v, ok, m.min)
			}
		}
		if !strings.Contains(text, `apiserver_request_duration_seconds_bucket{resource="namespaces",verb="LIST",le="0.005"}`) {
			t.Errorf("%s/metrics: no latency buckets", base.url)
		}
	}
	p.stop()

	t.Run("readyz fails while a backend is unreachable", func(t *testing.T) {
		s := startPortsServices(t)
		get := func(path string) (int, string) {
			resp, err := http.Get(s.gatewayURL + path)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		s.procs["api"].kill(t)
		var body string
		took := testwait.Until(t, 15*time.Second, "readyz fails with the api down", func() bool {
			var code int
			code, body = get("/readyz")
			return code == 500
		})
		t.Logf("/readyz failed %s after the api was killed", took.Round(time.Millisecond))
		for _, want := range []string{"[+]ping ok\n", "[-]api failed: reason withheld\n", "[+]authn ok\n", "[-]etcd failed: reason withheld\n", "[+]shutdown ok\n"} {
			if !strings.Contains(body, want) {
				t.Errorf("/readyz with the api down lacks %q:\n%s", want, body)
			}
		}
		if !strings.HasSuffix(body, "\nreadyz check failed\n") {
			t.Errorf("/readyz with the api down:\n%s", body)
		}
		if code, body := get("/healthz"); code != 500 || !strings.Contains(body, "[-]api failed") {
			t.Errorf("/healthz with the api down: %d %s", code, body)
		}
		if code, body := get("/livez"); code != 200 || body != "ok" {
			t.Errorf("/livez with the api down: %d %s", code, body)
		}
		if code, body := get("/readyz/api"); code != 500 || !strings.HasPrefix(body, "internal server error: ") {
			t.Errorf("/readyz/api with the api down: %d %s", code, body)
		}
		if code, body := get("/api/v1/namespaces"); code != 503 || parseStatus(t, body).Reason != "ServiceUnavailable" {
			t.Errorf("a request with the api down: %d %s", code, body)
		}

		s.procs["api"].start(t)
		took = testwait.Until(t, 30*time.Second, "readyz passes with the api back", func() bool {
			code, body := get("/readyz")
			return code == 200 && body == "ok"
		})
		t.Logf("/readyz passed %s after the api was restarted", took.Round(time.Millisecond))

		s.procs["authn"].kill(t)
		testwait.Until(t, 15*time.Second, "readyz fails with authn down", func() bool {
			code, body := get("/readyz?verbose")
			return code == 500 && strings.Contains(body, "[-]authn failed: reason withheld\n") && strings.Contains(body, "[+]api ok\n")
		})
		gw := s.procs["gateway"]
		gw.stop(t)
		if logs := gw.logs.String(); !strings.Contains(logs, `msg="health check failed" service=gateway check=api`) {
			t.Errorf("the api's failure is not logged by the gateway:\n%s", logs)
		}
	})
}

// portsServices are Portico's services as separate processes, as in a
// multi-host deployment: `portico certs`, then authn, authz, api and a
// gateway with only its insecure port.
type portsServices struct {
	procs      map[string]*portsProc
	gatewayURL string
}

// portsProc is one long-running portico process.
type portsProc struct {
	name string
	args []string
	cmd  *exec.Cmd
	logs *portsLogBuffer
	done chan struct{}
}

// portsLogBuffer is a bytes.Buffer a process writes while a test reads it.
type portsLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *portsLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *portsLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *portsProc) start(t *testing.T) {
	t.Helper()
	p.logs = &portsLogBuffer{}
	p.cmd = exec.Command(bins.portico, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
}

func (p *portsProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 30s of %v", p.name, sig)
	}
	p.cmd = nil
}

func (p *portsProc) kill(t *testing.T) { t.Helper(); p.signal(t, syscall.SIGKILL) }
func (p *portsProc) stop(t *testing.T) { t.Helper(); p.signal(t, syscall.SIGTERM) }

func startPortsServices(t *testing.T) *portsServices {
	t.Helper()
	dataDir := t.TempDir()
	if r := run(t, "", bins.portico, "certs", "--data-dir", dataDir); r.err != nil {
		t.Fatalf("portico certs: %s", r)
	}
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }
	common := []string{"--data-dir", dataDir, "--shutdown-grace-period", "2s", "--grpc-api-address", addr(), "--grpc-authn-address", addr(), "--grpc-authz-address", addr()}
	insecurePort := freePort(t)
	s := &portsServices{procs: map[string]*portsProc{}, gatewayURL: fmt.Sprintf("http://127.0.0.1:%d", insecurePort)}
	for _, name := range []string{"authn", "authz", "api", "gateway"} {
		args := append([]string{name}, common...)
		if name == "gateway" {
			args = append(args, "--insecure-port", fmt.Sprint(insecurePort), "--secure-port", "0")
		}
		p := &portsProc{name: name, args: args}
		p.start(t)
		s.procs[name] = p
		t.Cleanup(func() { p.stop(t) })
	}
	testwait.Until(t, 60*time.Second, "the services become ready", func() bool {
		resp, err := http.Get(s.gatewayURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}
