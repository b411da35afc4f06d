package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestHealthEndpoints(t *testing.T) {
	tests := map[string]struct {
		apiDown      bool
		shuttingDown bool
		replicas     bool
		target       string
		wantCode     int
		wantBody     string
	}{
		"readyz ok":  {target: "/readyz", wantCode: 200, wantBody: "ok"},
		"livez ok":   {target: "/livez", wantCode: 200, wantBody: "ok"},
		"healthz ok": {target: "/healthz", wantCode: 200, wantBody: "ok"},
		"readyz verbose": {
			target: "/readyz?verbose", wantCode: 200,
			wantBody: "[+]ping ok\n[+]api ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n",
		},
		"livez verbose": {target: "/livez?verbose", wantCode: 200, wantBody: "[+]ping ok\nlivez check passed\n"},
		"healthz verbose": {
			target: "/healthz?verbose=1", wantCode: 200,
			wantBody: "[+]ping ok\n[+]api ok\n[+]etcd ok\nhealthz check passed\n",
		},
		"readyz, api down: always verbose": {
			apiDown: true, target: "/readyz", wantCode: 500,
			wantBody: "[+]ping ok\n[-]api failed: reason withheld\n[+]etcd ok\n[+]shutdown ok\nreadyz check failed\n",
		},
		"healthz, api down": {
			apiDown: true, target: "/healthz", wantCode: 500,
			wantBody: "[+]ping ok\n[-]api failed: reason withheld\n[+]etcd ok\nhealthz check failed\n",
		},
		"livez, api down: a backend is no reason to restart": {apiDown: true, target: "/livez", wantCode: 200, wantBody: "ok"},
		"readyz, api down, excluded": {
			apiDown: true, target: "/readyz?exclude=api&verbose", wantCode: 200,
			wantBody: "[+]ping ok\n[+]api excluded: ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n",
		},
		"exclude an unknown check": {
			target: "/livez?verbose&exclude=nope", wantCode: 200,
			wantBody: "[+]ping ok\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nlivez check passed\n",
		},
		"shutting down": {
			shuttingDown: true, target: "/readyz", wantCode: 500,
			wantBody: "[+]ping ok\n[+]api ok\n[+]etcd ok\n[-]shutdown failed: reason withheld\nreadyz check failed\n",
		},
		"shutting down: healthz still ok": {shuttingDown: true, target: "/healthz", wantCode: 200, wantBody: "ok"},
		"one check":                       {target: "/readyz/api", wantCode: 200, wantBody: "ok"},
		"one failing check, with reason": {
			apiDown: true, target: "/readyz/api", wantCode: 500,
			wantBody: "internal server error: connection refused\n",
		},
		"livez has no api check": {target: "/livez/api", wantCode: 404},
		"replicas listed under their check, one down": {
			replicas: true, target: "/readyz?verbose", wantCode: 200,
			wantBody: "[+]ping ok\n[+]api ok\n  backend api 10.0.0.1:6444 ok\n  backend api 10.0.0.2:6444 failed: reason withheld\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n",
		},
		"replicas, not verbose": {replicas: true, target: "/readyz", wantCode: 200, wantBody: "ok"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			api := func(context.Context) error {
				if tc.apiDown {
					return errors.New("connection refused")
				}
				return nil
			}
			logs := &syncBuffer{}
			apiCheck := HealthCheck{Name: "api", Check: api}
			if tc.replicas {
				apiCheck.Backends = func() []Backend {
					return []Backend{{Address: "10.0.0.1:6444"}, {Address: "10.0.0.2:6444", Err: errors.New("refused")}}
				}
			}
			g := newTestGateway(t, Options{}, Deps{
				Logger: slog.New(slog.NewTextHandler(logs, nil)),
				ReadyChecks: []HealthCheck{
					apiCheck,
					{Name: "etcd", Check: func(context.Context) error { return nil }},
				},
			}, nil)
			g.shuttingDown.Store(tc.shuttingDown)
			w := get(g.insecureHandler(), "GET", tc.target, nil)
			if w.Code != tc.wantCode {
				t.Fatalf("code %d, want %d; body %q", w.Code, tc.wantCode, w.Body.String())
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body\n%q\nwant\n%q", w.Body.String(), tc.wantBody)
			}
			if tc.wantCode != 404 {
				if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if w.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("no nosniff")
				}
			}
			if tc.replicas {
				m := get(g.insecureHandler(), "GET", "/metrics", nil).Body.String()
				for _, want := range []string{`portico_backend_healthy{address="10.0.0.1:6444",service="api"} 1`, `portico_backend_healthy{address="10.0.0.2:6444",service="api"} 0`} {
					if !strings.Contains(m, want) {
						t.Errorf("/metrics lacks %s", want)
					}
				}
			}
			if tc.apiDown && tc.wantCode == 500 && !strings.Contains(logs.String(), "connection refused") {
				t.Errorf("the failure's reason is not logged:\n%s", logs)
			}
		})
	}
}

// TestHealthFailureLoggedOnce: a check failing on every probe is logged
// when it starts failing and when it passes again, not on every request.
func TestHealthFailureLoggedOnce(t *testing.T) {
	down := true
	logs := &syncBuffer{}
	g := newTestGateway(t, Options{}, Deps{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		ReadyChecks: []HealthCheck{{Name: "api", Check: func(context.Context) error {
			if down {
				return errors.New("unreachable")
			}
			return nil
		}}},
	}, nil)
	h := g.insecureHandler()
	for range 3 {
		if w := get(h, "GET", "/readyz", nil); w.Code != http.StatusInternalServerError {
			t.Fatalf("readyz %d", w.Code)
		}
	}
	down = false
	for range 2 {
		if w := get(h, "GET", "/readyz", nil); w.Code != http.StatusOK {
			t.Fatalf("readyz %d", w.Code)
		}
	}
	if n := strings.Count(logs.String(), "health check failed"); n != 1 {
		t.Errorf("failure logged %d times:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "health check passes again"); n != 1 {
		t.Errorf("recovery logged %d times:\n%s", n, logs)
	}
}
