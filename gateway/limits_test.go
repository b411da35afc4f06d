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

// TestLimitInFlight: with the insecure port's one seat taken, its next
// request waits a quarter of the request timeout, then is 429 with
// Retry-After: 1, except a watch and a health probe; the secure port
// has seats of its own, and system:masters is exempt there; when the
// first request ends its seat serves the next.
func TestLimitInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if r.URL.Path == "/api/v1/namespaces/a/configmaps/block" {
			<-release // holds the seat past the request timeout
		}
		w.WriteHeader(http.StatusOK)
	})
	// A queue wait of 50ms.
	g := newTestGateway(t, Options{MaxRequestsInFlight: 1, RequestTimeout: 200 * time.Millisecond}, Deps{}, routes)
	insecure := g.insecureHandler()
	secure := g.observe(g.limitInFlight(g.secureFlow, routes))
	// The blocked request goes through a real server: its 504 reaches
	// the client at the timeout while its handler is still held.
	srv := httptest.NewServer(insecure)
	defer srv.Close()
	done := make(chan int)
	go func() {
		resp, err := srv.Client().Get(srv.URL + "/api/v1/namespaces/a/configmaps/block")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered

	tests := map[string]struct {
		handler  http.Handler
		target   string
		user     *authnv1.UserInfo
		wantCode int
	}{
		"another request":        {handler: insecure, target: "/api/v1/namespaces", wantCode: http.StatusTooManyRequests},
		"a non-resource request": {handler: insecure, target: "/version", wantCode: http.StatusTooManyRequests},
		"a probe is exempt":      {handler: insecure, target: "/readyz", wantCode: http.StatusOK},
		"a watch is not limited": {handler: insecure, target: "/api/v1/namespaces?watch=true", wantCode: http.StatusOK},
		"a watch by path":        {handler: insecure, target: "/api/v1/watch/namespaces", wantCode: http.StatusOK},
		"system:masters authenticated": {
			handler: secure, target: "/api/v1/namespaces",
			user: &authnv1.UserInfo{Username: "admin", Groups: []string{identity.GroupMasters}}, wantCode: http.StatusOK,
		},
		"another user on the secure port": {
			handler: secure, target: "/api/v1/namespaces",
			user: &authnv1.UserInfo{Username: "bob", Groups: []string{"dev", identity.GroupAuthenticated}}, wantCode: http.StatusOK,
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
			if w.Header().Get("X-Kubernetes-PF-FlowSchema-UID") == "" || w.Header().Get("X-Kubernetes-PF-PriorityLevel-UID") == "" {
				t.Errorf("no X-Kubernetes-PF-* headers: %v", w.Header())
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
	if code := <-done; code != http.StatusGatewayTimeout {
		t.Fatalf("the blocked request: %d, want 504", code)
	}
	close(release)
	// Its seat is free once its handler has returned.
	deadline := time.Now().Add(5 * time.Second)
	for get(insecure, "GET", "/api/v1/namespaces", nil).Code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the seat is never freed")
		}
		<-entered
	}
}

// TestWatchesPerUser: past MaxWatchesPerUser a user's next watch is 429;
// another user, and system:masters, still watch.
func TestWatchesPerUser(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	started := make(chan struct{}, 10)
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-stop
	})
	g := newTestGateway(t, Options{MaxWatchesPerUser: 2}, Deps{}, routes)
	secure := g.observe(g.limitInFlight(g.secureFlow, routes))
	watch := func(u *authnv1.UserInfo) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/namespaces?watch=true", nil)
		r = r.WithContext(identity.WithUser(r.Context(), u))
		w := httptest.NewRecorder()
		secure.ServeHTTP(w, r)
		return w
	}
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{identity.GroupAuthenticated}}
	for range 2 {
		go watch(bob)
		<-started
	}
	w := watch(bob)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("bob's third watch: %d %s", w.Code, w.Body)
	}
	if st := decodeStatus(t, w.Body.String()); st.Reason != "TooManyRequests" || !strings.Contains(st.Message, "watches") {
		t.Errorf("Status %+v", st)
	}
	for _, u := range []*authnv1.UserInfo{
		{Username: "carol", Groups: []string{identity.GroupAuthenticated}},
		{Username: "admin", Groups: []string{identity.GroupMasters}},
		{Username: "admin", Groups: []string{identity.GroupMasters}},
		{Username: "admin", Groups: []string{identity.GroupMasters}},
	} {
		go watch(u)
		<-started
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
	// The body's own deadline is kept out of the way: this test is of the request timeout.
	g := newTestGateway(t, Options{RequestTimeout: 100 * time.Millisecond, RequestBodyTimeout: time.Minute}, Deps{}, routes)
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

// TestBodyReadDeadline: a body not sent within RequestBodyTimeout is
// 400 at that deadline, long before the request timeout, and its seat
// serves the next request; a body sent in time is not cut afterwards,
// however long the request then takes. Over HTTP/1.1 and HTTP/2.
func TestBodyReadDeadline(t *testing.T) {
	const bodyTimeout = 100 * time.Millisecond
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			g := newTestGateway(t, Options{MaxRequestsInFlight: 1, RequestTimeout: 20 * time.Second, RequestBodyTimeout: bodyTimeout}, Deps{}, nil)
			g.handler = g.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("mode") == "slow-work" {
					// Past the body's deadline: the request goes on.
					select {
					case <-r.Context().Done():
						http.Error(w, "cancelled", http.StatusInternalServerError)
						return
					case <-time.After(3 * bodyTimeout):
					}
				}
				w.WriteHeader(http.StatusOK)
			}))
			srv := httptest.NewUnstartedServer(g.insecureHandler())
			srv.EnableHTTP2 = proto == "HTTP/2.0"
			srv.StartTLS()
			defer srv.Close()
			client := srv.Client()

			body, feed := io.Pipe()
			defer feed.Close()
			go func() { _, _ = feed.Write([]byte(`{"kind":`)) }()
			start := time.Now()
			resp, err := client.Post(srv.URL+"/api/v1/namespaces", "application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Proto != proto {
				t.Errorf("served over %s", resp.Proto)
			}
			if d := time.Since(start); resp.StatusCode != http.StatusBadRequest || d > 10*time.Second {
				t.Fatalf("a stalled body: %d after %s: %s", resp.StatusCode, d, b)
			}
			if st := decodeStatus(t, string(b)); !strings.Contains(st.Message, "not received within 100ms") {
				t.Errorf("Status %+v", st)
			}
			// The one seat is free again, and a body sent in time is not
			// cut by the deadline once it is read.
			resp, err = client.Post(srv.URL+"/api/v1/namespaces?mode=slow-work", "application/json", strings.NewReader(`{"kind":"Namespace"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("a body sent in time: %d %s", resp.StatusCode, b)
			}
		})
	}
}

// TestRefusedSlowBody: a request refused before its body is read (here
// 429, no seat free) is answered at once over HTTP/1.1 and its
// connection closed, instead of net/http first reading the rest of a
// body sent slowly, or never.
func TestRefusedSlowBody(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	// A queue wait of 25ms; the body deadline out of the way.
	g := newTestGateway(t, Options{MaxRequestsInFlight: 1, RequestTimeout: 100 * time.Millisecond, RequestBodyTimeout: time.Minute}, Deps{}, routes)
	srv := httptest.NewServer(g.insecureHandler())
	defer srv.Close() // after the handler holding the seat has returned
	defer close(release)
	go func() {
		if resp, err := http.Get(srv.URL + "/api/v1/namespaces"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered

	body, feed := io.Pipe()
	defer feed.Close()
	go func() { _, _ = feed.Write([]byte(`{"kind":`)) }()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(srv.URL+"/api/v1/namespaces", "application/json", body)
	if err != nil {
		t.Fatalf("no answer before the body ended: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !resp.Close {
		t.Fatalf("%d, connection closed %v", resp.StatusCode, resp.Close)
	}
}
