package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/portico-dev/portico/gateway/flowcontrol"
	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Default limits of the two ports, as kube-apiserver has them.
const (
	// DefaultMaxRequestsInFlight is --max-requests-inflight.
	DefaultMaxRequestsInFlight = 400
	// DefaultMaxMutatingRequestsInFlight is --max-mutating-requests-inflight.
	DefaultMaxMutatingRequestsInFlight = 200
	// DefaultRequestTimeout is --request-timeout.
	DefaultRequestTimeout = 60 * time.Second
	// DefaultMaxWatchesPerUser is --max-watches-per-user (kube-apiserver
	// has no such bound): about twice the informers of the busiest
	// single client (kube-controller-manager runs some fifty under one
	// user), far below the hundreds one user opened in security finding
	// 9, each starting with a full list.
	DefaultMaxWatchesPerUser = 100
)

// newFlowControl is one port's priority and fairness: the seats of
// both in-flight options, a queue wait of a quarter of the request
// timeout (as kube-apiserver's), and the per-user watch bound.
func newFlowControl(o Options, m *metrics, config func() ([]flowcontrol.LevelConfig, []flowcontrol.Schema)) (*flowcontrol.Controller, error) {
	levels, schemas := config()
	return flowcontrol.New(flowcontrol.Options{
		Seats:             o.MaxRequestsInFlight + o.MaxMutatingRequestsInFlight,
		QueueWait:         o.RequestTimeout / 4,
		MaxWatchesPerUser: o.MaxWatchesPerUser,
		Levels:            levels,
		Schemas:           schemas,
		Metrics:           m.flowcontrol,
	})
}

// limitInFlight is priority and fairness, as kube-apiserver's APF
// filter: the request is classified into a flow schema and priority
// level (sent back in the X-Kubernetes-PF-* headers), then waits for a
// seat of its level, queued fairly among the level's flows; a request
// that waits too long, or finds its queue full, is 429 with Retry-After:
// 1 and a TooManyRequests Status. Exempt levels (system:masters, health
// probes) never wait. A watch takes no seat: it counts against its
// user's watch bound, and past it is 429 too.
//
// On the secure port this filter runs after authentication; on the
// insecure port before the fixed user is set, with the port's own
// controller, so that callers of one port never take the other's seats.
func (g *Gateway) limitInFlight(fc *flowcontrol.Controller, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri, _ := requestInfoOf(r)
		u, _ := identity.UserFrom(r.Context())
		cl := fc.Classify(&flowcontrol.Request{
			User: u.GetUsername(), Groups: u.GetGroups(),
			ResourceRequest: ri.ResourceRequest, Verb: ri.Verb, Path: ri.Path,
			APIGroup: ri.APIGroup, Resource: ri.Resource, Namespace: ri.Namespace,
		})
		w.Header().Set("X-Kubernetes-PF-FlowSchema-UID", cl.FlowSchemaUID())
		w.Header().Set("X-Kubernetes-PF-PriorityLevel-UID", cl.PriorityLevelUID())
		if longRunning(ri) {
			done, err := fc.StartWatch(cl, u.GetUsername())
			if err != nil {
				g.fail(w, apierrors.ReasonTooManyRequests, "Too many watches open by this user, please try again later.",
					&corev1.StatusDetails{RetryAfterSeconds: 1})
				return
			}
			defer done()
			gauge := g.metrics.longRunning.WithLabelValues(metricsVerb(ri, r.Method), ri.Resource)
			gauge.Inc()
			defer gauge.Dec()
			next.ServeHTTP(w, r)
			return
		}
		release, err := fc.Wait(r.Context(), cl)
		if err != nil {
			g.fail(w, apierrors.ReasonTooManyRequests, "Too many requests, please try again later.",
				&corev1.StatusDetails{RetryAfterSeconds: 1})
			return
		}
		defer release()
		gauge := g.metrics.inflightGauge(ri)
		gauge.Inc()
		defer gauge.Dec()
		next.ServeHTTP(w, r)
	})
}

// limitBodyTime bounds the read of a request body to RequestBodyTimeout
// from now (the request holds its seat): a client sending its body
// slowly, or never, is cut then (the handler's read fails; limitBody
// answers 400) instead of holding the seat for the whole request
// timeout. The deadline is lifted once the body is read to its end, so
// that it does not cut the rest of the request. Over HTTP/1.1 it is the
// connection's read deadline, over HTTP/2 the stream's.
func (g *Gateway) limitBodyTime(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(g.opts.RequestBodyTimeout)); err != nil {
			next.ServeHTTP(w, r) // a writer with no connection (unit tests)
			return
		}
		r = r.WithContext(r.Context())
		r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline at the body's end.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// bodyTimedOut reports a body read cut by limitBodyTime (or by the
// request timeout).
func bodyTimedOut(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// withTimeout bounds every request but watches to RequestTimeout, as
// kube-apiserver's WithTimeoutForNonLongRunningRequests: the handler's
// context ends, and the client gets a 504 Timeout Status, or, when the
// handler had already started its answer, a cut connection (HTTP/1.1) or
// a reset stream (HTTP/2). A watch is bounded by its own timeoutSeconds.
//
// The handler runs on the request's own goroutine: a timer (no
// goroutine until it fires) answers the 504 and ends the handler's
// context, which every piece of its work (gRPC calls, the priority
// queue, the body's read) honours, so that it returns promptly after.
func (g *Gateway) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri, _ := requestInfoOf(r); longRunning(ri) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		tw := &timeoutWriter{w: w, h: make(http.Header)}
		fired := make(chan struct{})
		var sent bool // the answer had started at the timeout; read after fired
		timer := time.AfterFunc(g.opts.RequestTimeout, func() {
			defer close(fired)
			sent = !tw.timeout() // before cancel: the handler's writes fail from now on
			cancel()
			// A handler still reading the body (sent slowly, or never) is
			// woken: reads fail from now on. Else it would hold its
			// in-flight slot, and net/http would wait for the body before
			// sending the 504. Over HTTP/1.1 the deadline is the
			// connection's (and ends its context), so the connection
			// closes after this answer; over HTTP/2 it is the stream's.
			if r.ProtoMajor == 1 {
				w.Header().Set("Connection", "close")
			}
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
			if !sent {
				g.fail(w, apierrors.ReasonTimeout, "Timeout: request did not complete within requested timeout - context deadline exceeded", &corev1.StatusDetails{})
				_ = http.NewResponseController(w).Flush()
			}
		})
		defer func() {
			// The timer's answer, if it fired, is written before this
			// returns: w is not used after ServeHTTP.
			if !timer.Stop() {
				<-fired
				if sent {
					panic(http.ErrAbortHandler)
				}
			}
		}()
		next.ServeHTTP(tw, r.WithContext(ctx))
	})
}

// timeoutWriter is the handler's ResponseWriter under withTimeout: it
// keeps its own header map and forwards writes until the timeout, and
// drops them (http.ErrHandlerTimeout) after.
type timeoutWriter struct {
	w http.ResponseWriter
	h http.Header

	mu          sync.Mutex
	wroteHeader bool
	timedOut    bool
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.writeHeaderLocked(code)
}

func (tw *timeoutWriter) writeHeaderLocked(code int) {
	if tw.timedOut || tw.wroteHeader {
		return
	}
	tw.wroteHeader = true
	dst := tw.w.Header()
	for k, v := range tw.h {
		dst[k] = v
	}
	tw.w.WriteHeader(code)
}

func (tw *timeoutWriter) Write(b []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	tw.writeHeaderLocked(http.StatusOK)
	return tw.w.Write(b)
}

func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return
	}
	tw.writeHeaderLocked(http.StatusOK)
	_ = http.NewResponseController(tw.w).Flush()
}

// SetReadDeadline is http.ResponseController's: limitBodyTime, inside,
// sets the body's deadline through it. After the timeout it is refused:
// the timeout's own deadline (now) must stand.
func (tw *timeoutWriter) SetReadDeadline(t time.Time) error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return http.ErrHandlerTimeout
	}
	return http.NewResponseController(tw.w).SetReadDeadline(t)
}

// timeout stops forwarding; it reports whether the answer is still
// unsent, so that the caller may send the 504.
func (tw *timeoutWriter) timeout() bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.timedOut = true
	return !tw.wroteHeader
}
