package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

type statusBody struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Details *struct {
		RetryAfterSeconds int `json:"retryAfterSeconds"`
	} `json:"details"`
}

func decodeStatus(t *testing.T, body string) statusBody {
	t.Helper()
	var st statusBody
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status (%v): %s", err, body)
	}
	return st
}

// TestLimitInFlight: with one request in flight and a limit of one, the
// next is 429 with Retry-After: 1, except a watch and a system:masters
// user; when the first ends the next one passes.
func TestLimitInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if r.URL.Path == "/api/v1/namespaces/a/configmaps/block" {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	g := newTestGateway(t, Options{MaxRequestsInFlight: 1}, Deps{}, routes)
	insecure := g.insecureHandler()
	done := make(chan int)
	go func() { done <- get(insecure, "GET", "/api/v1/namespaces/a/configmaps/block", nil).Code }()
	<-entered

	tests := map[string]struct {
		handler  http.Handler
		target   string
		user     *authnv1.UserInfo
		wantCode int
	}{
		"another request":        {handler: insecure, target: "/api/v1/namespaces", wantCode: http.StatusTooManyRequests},
		"a non-resource request": {handler: insecure, target: "/version", wantCode: http.StatusTooManyRequests},
		"a watch is not limited": {handler: insecure, target: "/api/v1/namespaces?watch=true", wantCode: http.StatusOK},
		"a watch by path":        {handler: insecure, target: "/api/v1/watch/namespaces", wantCode: http.StatusOK},
		"system:masters authenticated": {
			// The secure port's order: the user is known before the limit.
			handler: g.observe(g.limitInFlight(routes)), target: "/api/v1/namespaces",
			user: &authnv1.UserInfo{Username: "admin", Groups: []string{identity.GroupMasters}}, wantCode: http.StatusOK,
		},
		"another user authenticated": {
			handler: g.observe(g.limitInFlight(routes)), target: "/api/v1/namespaces",
			user: &authnv1.UserInfo{Username: "bob", Groups: []string{"dev"}}, wantCode: http.StatusTooManyRequests,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			if tc.user != nil {
				r = r.WithContext(identity.WithUser(r.Context(), tc.user))
			}
			w := httptest.NewRecorder()
			tc.handler.ServeHTTP(w, r)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			if tc.wantCode != http.StatusTooManyRequests {
				<-entered
				return
			}
			if w.Header().Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
			st := decodeStatus(t, w.Body.String())
			if st.Reason != "TooManyRequests" || st.Code != 429 || st.Details == nil || st.Details.RetryAfterSeconds != 1 {
				t.Errorf("Status %+v", st)
			}
		})
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("the blocked request: %d", code)
	}
	if w := get(insecure, "GET", "/api/v1/namespaces", nil); w.Code != http.StatusOK {
		t.Fatalf("after the slot is free: %d", w.Code)
	}
}

// TestRequestTimeout: a request other than a watch is cut at the
// timeout: 504 Status when nothing was sent yet, a broken response when
// the handler had started answering; a watch is not cut.
func TestRequestTimeout(t *testing.T) {
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("mode") {
		case "fast":
			_, _ = w.Write([]byte("fast"))
		case "slow":
			<-r.Context().Done() // the timeout ends the handler's context
			w.Header().Set("X-Late", "1")
			if _, err := w.Write([]byte("late")); err != http.ErrHandlerTimeout {
				panic("a write after the timeout did not fail")
			}
		case "started":
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		case "panic":
			panic("boom")
		case "body":
			if _, err := io.ReadAll(r.Body); err == nil {
				panic("reading a body never sent did not fail")
			}
		default: // a watch: longer than the timeout
			w.WriteHeader(http.StatusOK)
			time.Sleep(300 * time.Millisecond)
			_, _ = w.Write([]byte("event"))
		}
	})
	g := newTestGateway(t, Options{RequestTimeout: 100 * time.Millisecond}, Deps{}, routes)
	srv := httptest.NewServer(g.insecureHandler())
	defer srv.Close()

	tests := map[string]struct {
		target   string
		wantCode int
		wantBody string
		wantErr  bool // the response is cut
	}{
		"fast":          {target: "/api/v1/namespaces?mode=fast", wantCode: 200, wantBody: "fast"},
		"slow":          {target: "/api/v1/namespaces?mode=slow", wantCode: 504},
		"already sent":  {target: "/api/v1/namespaces?mode=started", wantCode: 200, wantErr: true},
		"panic":         {target: "/api/v1/namespaces?mode=panic", wantCode: 500},
		"watch not cut": {target: "/api/v1/namespaces?watch=1", wantCode: 200, wantBody: "event"},
	}
	t.Run("body never sent", func(t *testing.T) {
		// The handler is blocked reading the body: the 504 is still sent
		// at the timeout, and the handler's read fails.
		body, feed := io.Pipe()
		defer feed.Close()
		go func() { _, _ = feed.Write([]byte(`{"kind":`)) }()
		start := time.Now()
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Post(srv.URL+"/api/v1/namespaces?mode=body", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); resp.StatusCode != 504 || d > 2*time.Second {
			t.Fatalf("%d after %s", resp.StatusCode, d)
		}
	})
	// Every request on one keep-alive client, in every order: a timed-out
	// request must not spoil the connection for the next one.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			resp, err := client.Get(srv.URL + tc.target)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("code %d, want %d: %s", resp.StatusCode, tc.wantCode, body)
			}
			if tc.wantErr != (err != nil) {
				t.Fatalf("read error %v, want one: %v", err, tc.wantErr)
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			if tc.wantCode == 504 {
				st := decodeStatus(t, string(body))
				if st.Reason != "Timeout" || st.Code != 504 || !strings.HasPrefix(st.Message, "Timeout: request did not complete within requested timeout") {
					t.Errorf("Status %+v", st)
				}
				if resp.Header.Get("X-Late") != "" {
					t.Errorf("a header set after the timeout was sent")
				}
				if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
					t.Errorf("answered after %s", d)
				}
			}
		})
	}
}
