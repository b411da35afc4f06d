package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end tests of priority and fairness (security findings 6
// and 9): a user holding slow request bodies, or many watches, does not
// stop another user, nor the insecure port. They check who is answered,
// never how fast.

const fcTokens = `tok-attacker,attacker,uid-attacker
tok-victim,victim,uid-victim
`

// fcPolicy: both read everything in default (and so may watch it);
// neither may write.
const fcPolicy = abacV1 + `{"group":"system:authenticated","nonResourcePath":"*","readonly":true}}
` + abacV1 + `{"user":"attacker","namespace":"default","resource":"*","apiGroup":"*","readonly":true}}
` + abacV1 + `{"user":"victim","namespace":"default","resource":"*","apiGroup":"*","readonly":true}}
`

// TestFlowControl: the attacker opens more slow-body POSTs than its
// priority level (global-default) has seats, each announcing 100000
// bytes and sending one; the victim, at the same level, is still
// answered, as are system:masters and the insecure port, and each slow
// body is cut at --request-body-timeout. Past --max-watches-per-user
// the attacker's watches are 429, while the victim still watches.
func TestFlowControl(t *testing.T) {
	dir := t.TempDir()
	// 40 seats: global-default gets ceil(40*20/205) = 4 of them.
	const seats, slowBodies, maxWatches = 4, 8, 5
	p := startPorticoQuickStop(t,
		"--token-auth-file", writeFile(t, filepath.Join(dir, "tokens.csv"), fcTokens),
		"--authorization-mode", "ABAC", "--authorization-policy-file", writeFile(t, filepath.Join(dir, "policy.jsonl"), fcPolicy),
		"--max-requests-inflight", "40", "--max-mutating-requests-inflight", "0",
		"--request-timeout", "20s", "--request-body-timeout", "2s",
		"--max-watches-per-user", fmt.Sprint(maxWatches))
	admin := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	client := p.secureClient(t, "", "")
	metrics := func() string {
		_, _, text := httpDo(t, http.DefaultClient, "GET", p.insecureURL()+"/metrics", "", "")
		return text
	}
	level := map[string]string{"priority_level": "global-default"}

	t.Run("slow bodies", func(t *testing.T) {
		tlsConfig := client.Transport.(*http.Transport).TLSClientConfig.Clone()
		tlsConfig.NextProtos = []string{"http/1.1"}
		answers := make(chan int, slowBodies)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range slowBodies {
			c := slowPost(t, p, tlsConfig, "tok-attacker", answers)
			conns = append(conns, c)
		}
		// Every seat of the level is the attacker's, and more are queued.
		testwait.Until(t, 10*time.Second, "the attacker's bodies holding the level's seats", func() bool {
			text := metrics()
			executing, _ := promSample(t, text, "apiserver_flowcontrol_current_executing_requests", level)
			queued, _ := promSample(t, text, "apiserver_flowcontrol_current_inqueue_requests", level)
			return executing == seats && queued > 0
		})

		// The victim, at the same level, is answered.
		resp, body := sendAs(t, client, "GET", p.secureURL()+"/api/v1/namespaces/default/configmaps", "tok-victim", "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the victim: %d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("X-Kubernetes-PF-FlowSchema-UID") == "" || resp.Header.Get("X-Kubernetes-PF-PriorityLevel-UID") == "" {
			t.Errorf("no X-Kubernetes-PF-* headers: %v", resp.Header)
		}
		// system:masters is exempt, and the insecure port has its own seats.
		if code, _, body := httpDo(t, admin, "GET", p.secureURL()+"/api/v1/namespaces/default", "", ""); code != http.StatusOK {
			t.Errorf("system:masters: %d %s", code, body)
		}
		if code, _, body := httpDo(t, http.DefaultClient, "GET", p.insecureURL()+"/api/v1/namespaces/default", "", ""); code != http.StatusOK {
			t.Errorf("the insecure port: %d %s", code, body)
		}

		// Each slow body is cut at its deadline (400), or waited too long
		// for a seat (429); none reached the api.
		for range slowBodies {
			if code := <-answers; code != http.StatusBadRequest && code != http.StatusTooManyRequests {
				t.Errorf("a slow body was answered %d", code)
			}
		}
	})

	t.Run("watches per user", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		defer wg.Wait()
		watch := func(token string) (*http.Response, error) {
			req, err := http.NewRequestWithContext(ctx, "GET", p.secureURL()+"/api/v1/namespaces/default/configmaps?watch=true", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			return client.Do(req)
		}
		for i := range maxWatches {
			resp, err := watch("tok-attacker")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the attacker's watch %d: %d %s", i+1, resp.StatusCode, readAll(t, resp))
			}
			defer resp.Body.Close()
		}
		resp, err := watch("tok-attacker")
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("the attacker's watch past the bound: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if st := parseStatus(t, body); st.Reason != "TooManyRequests" || st.Code != 429 {
			t.Errorf("Status %+v", st)
		}

		// The victim watches, and sees an event.
		resp, err = watch("tok-victim")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the victim's watch: %d %s", resp.StatusCode, readAll(t, resp))
		}
		events := make(chan string, 10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(resp.Body)
			defer close(events)
			for sc.Scan() {
				select {
				case events <- sc.Text():
				case <-ctx.Done():
					return
				}
			}
		}()
		p.mustKubectl(t, "create", "configmap", "seen", "-n", "default", "--from-literal=k=v")
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the victim's watch ended")
				}
				if strings.Contains(ev, `"type":"ADDED"`) && strings.Contains(ev, `"name":"seen"`) {
					break wait
				}
			case <-deadline:
				t.Fatal("no ADDED event on the victim's watch")
			}
		}
		cancel()
	})

	t.Run("metrics", func(t *testing.T) {
		text := metrics()
		for _, name := range []string{
			"apiserver_flowcontrol_current_inqueue_requests",
			"apiserver_flowcontrol_current_executing_requests",
			"apiserver_flowcontrol_dispatched_requests_total",
			"apiserver_flowcontrol_request_wait_duration_seconds",
			"apiserver_flowcontrol_nominal_limit_seats",
		} {
			if _, ok := promSample(t, text, name, level); !ok {
				t.Errorf("no %s series for global-default", name)
			}
		}
		if v, _ := promSample(t, text, "apiserver_flowcontrol_rejected_requests_total",
			map[string]string{"priority_level": "global-default", "flow_schema": "global-default", "reason": "watch-limit"}); v < 1 {
			t.Errorf("the refused watch is not counted: %v", v)
		}
		if v, _ := promSample(t, text, "apiserver_flowcontrol_nominal_limit_seats", level); v != seats {
			t.Errorf("global-default has %v seats, want %d", v, seats)
		}
	})
}

// slowPost sends, over its own HTTP/1.1 connection, a POST announcing a
// body of 100000 bytes and sends one; the status code it is answered
// with goes to answers (0 for none).
func slowPost(t *testing.T, p *portico, cfg *tls.Config, token string, answers chan<- int) net.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.securePort), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
		"Authorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", token); err != nil {
		t.Fatal(err)
	}
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answers <- 0
			return
		}
		resp.Body.Close()
		answers <- resp.StatusCode
	}()
	return conn
}
