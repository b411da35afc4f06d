package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestPortsLimits (point 7): the seats of --max-requests-inflight (one
// here, on the insecure port's own budget: a request waiting for it is
// 429 with Retry-After and a Status after a quarter of the request
// timeout; watches and system:masters on the secure port not counted),
// --request-timeout (504 Timeout Status; a watch is not cut, its own
// timeoutSeconds bounds it), the 3 MiB body cap (413) and the header
// size cap (431). The body's own deadline is set past the request
// timeout, which this test is about (TestFlowControl checks it).
func TestPortsLimits(t *testing.T) {
	const timeout = 3 * time.Second
	p := startPorticoQuickStop(t, "--max-requests-inflight", "1", "--max-mutating-requests-inflight", "0",
		"--request-timeout", timeout.String(), "--request-body-timeout", "1m")
	admin := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))

	// Request A holds the one slot: a create whose body never ends.
	body, feed := io.Pipe()
	req, err := http.NewRequest("POST", p.insecureURL()+"/api/v1/namespaces/default/configmaps", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		code int
		body string
		err  error
		at   time.Time
	}
	answered := make(chan answer, 1)
	started := time.Now()
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err, at: time.Now()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{code: resp.StatusCode, body: string(b), at: time.Now()}
	}()
	go func() { _, _ = feed.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap",`)) }()
	defer feed.Close()
	inflight := func(kind string) float64 {
		_, _, text := httpDo(t, admin, "GET", p.secureURL()+"/metrics", "", "")
		v, _ := promSample(t, text, "apiserver_current_inflight_requests", map[string]string{"request_kind": kind})
		return v
	}
	testwait.Until(t, 5*time.Second, "request A in flight", func() bool { return inflight("mutating") == 1 })

	t.Run("429 past the limit", func(t *testing.T) {
		for _, path := range []string{"/api/v1/namespaces", "/version"} {
			code, hdr, body := httpDo(t, http.DefaultClient, "GET", p.insecureURL()+path, "", "")
			if code != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" {
				t.Fatalf("%s: %d Retry-After %q %s", path, code, hdr.Get("Retry-After"), body)
			}
			st := parseStatus(t, body)
			if st.Reason != "TooManyRequests" || st.Code != 429 || st.Details == nil || st.Details.RetryAfterSeconds != 1 {
				t.Errorf("%s: Status %+v", path, st)
			}
		}
		// system:masters on the secure port is never refused (the metrics
		// scrapes above are such requests too).
		if code, _, body := httpDo(t, admin, "GET", p.secureURL()+"/api/v1/namespaces", "", ""); code != 200 {
			t.Errorf("admin on the secure port: %d %s", code, body)
		}
	})

	// A watch is neither counted nor cut at the request timeout.
	watchResp, err := http.Get(p.insecureURL() + "/api/v1/namespaces?watch=true")
	if err != nil {
		t.Fatal(err)
	}
	defer watchResp.Body.Close()
	if watchResp.StatusCode != 200 {
		t.Fatalf("watch while the slot is taken: %d", watchResp.StatusCode)
	}
	watchStarted := time.Now()
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(watchResp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			events <- sc.Text()
		}
		close(events)
	}()

	t.Run("504 at the request timeout", func(t *testing.T) {
		a := <-answered
		if a.err != nil {
			t.Fatalf("request A: %v", a.err)
		}
		took := a.at.Sub(started)
		if a.code != http.StatusGatewayTimeout || took < timeout || took > timeout+5*time.Second {
			t.Fatalf("request A: %d after %s: %s", a.code, took, a.body)
		}
		st := parseStatus(t, a.body)
		if st.Reason != "Timeout" || st.Code != 504 || !strings.HasPrefix(st.Message, "Timeout: request did not complete within requested timeout") {
			t.Errorf("Status %+v", st)
		}
		t.Logf("request A answered 504 after %s (--request-timeout %s)", took.Round(time.Millisecond), timeout)
		feed.Close() // its handler, still reading the body, ends and frees the slot
		testwait.Until(t, 5*time.Second, "the slot is free again", func() bool {
			code, _, _ := httpDo(t, http.DefaultClient, "GET", p.insecureURL()+"/api/v1/namespaces", "", "")
			return code == 200
		})
	})

	t.Run("watch outlives the request timeout", func(t *testing.T) {
		if d := time.Since(watchStarted); d < timeout {
			time.Sleep(timeout - d + 200*time.Millisecond)
		}
		p.mustKubectl(t, "create", "namespace", "after-timeout")
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the watch ended after %s", time.Since(watchStarted))
				}
				if strings.Contains(ev, `"type":"ADDED"`) && strings.Contains(ev, `"name":"after-timeout"`) {
					t.Logf("watch still streaming %s after it started", time.Since(watchStarted).Round(time.Millisecond))
					return
				}
			case <-deadline:
				t.Fatalf("no ADDED event for after-timeout")
			}
		}
	})

	t.Run("a watch's timeoutSeconds bounds it", func(t *testing.T) {
		start := time.Now()
		resp, err := http.Get(p.insecureURL() + "/api/v1/namespaces?watch=true&timeoutSeconds=1")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if d := time.Since(start); resp.StatusCode != 200 || d < time.Second || d > 5*time.Second {
			t.Errorf("watch with timeoutSeconds=1: %d, ended after %s", resp.StatusCode, d)
		}
	})

	t.Run("413 past 3 MiB of body", func(t *testing.T) {
		big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("a", 3<<20) + `"}}`
		code, _, body := httpDo(t, http.DefaultClient, "POST", p.insecureURL()+"/api/v1/namespaces/default/configmaps", "application/json", big)
		if st := parseStatus(t, body); code != http.StatusRequestEntityTooLarge || st.Reason != "RequestEntityTooLarge" {
			t.Errorf("%d %+v", code, st)
		}
	})

	t.Run("431 past 1 MiB of headers", func(t *testing.T) {
		send := func(headerBytes int) string {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.insecurePort), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			go func() {
				_, _ = fmt.Fprintf(conn, "GET /version HTTP/1.1\r\nHost: localhost\r\nX-Big: %s\r\nConnection: close\r\n\r\n", strings.Repeat("a", headerBytes))
			}()
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the status line: %v", err)
			}
			return strings.TrimSpace(line)
		}
		if got := send(64 << 10); got != "HTTP/1.1 200 OK" {
			t.Errorf("64 KiB of headers: %q", got)
		}
		if got := send(1<<20 + 64<<10); got != "HTTP/1.1 431 Request Header Fields Too Large" {
			t.Errorf("1 MiB + 64 KiB of headers: %q", got)
		}
	})
}
