package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/backoff"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// HealthCheck is one named check of /healthz and /readyz, such as a
// backend service being reachable.
type HealthCheck struct {
	Name  string
	Check func(context.Context) error
	// Backends, when not nil, lists the replicas behind the check and
	// their health (GRPCReplicasCheck); they are shown, not checked.
	Backends func() []Backend
}

// HealthCheckTimeout bounds one check; the checks of a request run at once.
const HealthCheckTimeout = 2 * time.Second

// GRPCHealthCheck is the check that a backend answers grpc.health.v1
// SERVING for service ("" for the server as a whole) on conn. It follows
// the backend's health with one Watch stream, started at once and resumed
// after any break, so a check reads memory: /readyz costs no backend call
// (a load balancer or an anonymous caller polling it cannot load the
// backends), and a backend going away fails it the moment its stream
// breaks. It ends when conn is closed.
func GRPCHealthCheck(name string, conn grpc.ClientConnInterface, service string) HealthCheck {
	w := &healthWatch{client: healthpb.NewHealthClient(conn), service: service}
	w.last.Store(&healthState{err: errors.New("no answer yet")})
	go w.run()
	return HealthCheck{Name: name, Check: func(context.Context) error { return w.last.Load().err }}
}

type healthState struct{ err error }

type healthWatch struct {
	client  healthpb.HealthClient
	service string
	last    atomic.Pointer[healthState]
}

func (w *healthWatch) run() {
	// The loop ends when the connection closes (the gateway is stopping).
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// A shorter bound than other streams: /readyz should see a backend
	// that came back within a second.
	healthRetry := backoff.Policy{Min: 50 * time.Millisecond, Max: time.Second, Healthy: time.Minute}
	healthRetry.Loop(ctx, func(ctx context.Context) error {
		err := w.follow(ctx)
		w.last.Store(&healthState{err: err})
		if status.Code(err) == codes.Canceled {
			stop()
		}
		return err
	}, nil)
}

// follow records the backend's health until its stream breaks.
func (w *healthWatch) follow(ctx context.Context) error {
	stream, err := w.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: w.service})
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			w.last.Store(&healthState{err: fmt.Errorf("status %s", s)})
		} else {
			w.last.Store(&healthState{})
		}
	}
}

// The checks of each endpoint, as kube-apiserver splits them: /livez says
// whether the process should be restarted (only itself: a backend being
// down is not cured by restarting the gateway); /readyz whether it should
// get traffic (every backend, and not shutting down); /healthz, the older
// endpoint, is /readyz without the shutdown check.
func (g *Gateway) livezChecks() []HealthCheck { return []HealthCheck{pingCheck} }

func (g *Gateway) healthzChecks() []HealthCheck {
	return append([]HealthCheck{pingCheck}, g.deps.ReadyChecks...)
}

func (g *Gateway) readyzChecks() []HealthCheck {
	return append(g.healthzChecks(), HealthCheck{Name: "shutdown", Check: func(context.Context) error {
		if g.shuttingDown.Load() {
			return errors.New("the server is shutting down")
		}
		return nil
	}})
}

var pingCheck = HealthCheck{Name: "ping", Check: func(context.Context) error { return nil }}

// serveHealth answers one of /healthz, /livez, /readyz as kube-apiserver
// does: "ok" when every check passes; with ?verbose one "[+]<check> ok"
// line per check and "<endpoint> check passed"; on failure 500, always
// verbose, "[-]<check> failed: reason withheld" (the reason is logged, not
// shown: these endpoints answer anonymous callers) and "<endpoint> check
// failed". ?exclude=<check> skips a check.
func (g *Gateway) serveHealth(endpoint string, checks func() []HealthCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		all := checks()
		excluded := r.URL.Query()["exclude"]
		var run []HealthCheck
		for _, c := range all {
			if !slices.Contains(excluded, c.Name) {
				run = append(run, c)
			}
		}
		errs := g.runChecks(r.Context(), run)
		var out strings.Builder
		failed := false
		for _, c := range all {
			switch {
			case slices.Contains(excluded, c.Name):
				fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.Name)
				excluded = slices.DeleteFunc(excluded, func(s string) bool { return s == c.Name })
			case errs[c.Name] != nil:
				failed = true
				fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.Name)
			default:
				fmt.Fprintf(&out, "[+]%s ok\n", c.Name)
			}
			writeBackends(&out, c)
		}
		if len(excluded) > 0 {
			fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", quoteAll(excluded))
		}
		setHealthHeaders(w)
		if failed {
			http.Error(w, out.String()+endpoint+" check failed", http.StatusInternalServerError)
			return
		}
		if _, verbose := r.URL.Query()["verbose"]; !verbose {
			_, _ = w.Write([]byte("ok"))
			return
		}
		fmt.Fprintf(&out, "%s check passed\n", endpoint)
		_, _ = w.Write([]byte(out.String()))
	}
}

// serveHealthCheck answers /<endpoint>/<check>: "ok", or 500
// "internal server error: <reason>" as kube-apiserver does (an
// individual check is for an operator debugging; the reason is the
// gRPC status, not a secret).
func (g *Gateway) serveHealthCheck(checks func() []HealthCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		i := slices.IndexFunc(checks(), func(c HealthCheck) bool { return c.Name == name })
		if i < 0 {
			g.notFound(w)
			return
		}
		c := checks()[i]
		setHealthHeaders(w)
		if err := g.runChecks(r.Context(), []HealthCheck{c})[c.Name]; err != nil {
			http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}
}

func setHealthHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// runChecks runs checks at once, each bounded by HealthCheckTimeout, and
// returns the failures by name. A check that starts or stops failing is
// logged once, with its reason.
func (g *Gateway) runChecks(ctx context.Context, checks []HealthCheck) map[string]error {
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, HealthCheckTimeout)
			defer cancel()
			errs[i] = c.Check(cctx)
		})
	}
	wg.Wait()
	out := map[string]error{}
	g.healthMu.Lock()
	defer g.healthMu.Unlock()
	for i, c := range checks {
		was := g.healthFailing[c.Name]
		switch {
		case errs[i] != nil && ctx.Err() != nil:
			// The caller went away: say nothing about the backend.
		case errs[i] != nil && !was:
			g.log.Warn("health check failed", "check", c.Name, "error", errs[i])
		case errs[i] == nil && was:
			g.log.Info("health check passes again", "check", c.Name)
		}
		if ctx.Err() == nil {
			g.healthFailing[c.Name] = errs[i] != nil
		}
		if errs[i] != nil {
			out[c.Name] = errs[i]
		}
	}
	return out
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ",")
}
