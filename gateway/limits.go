package gateway

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Default limits of the two ports, as kube-apiserver has them.
const (
	// DefaultMaxRequestsInFlight is --max-requests-inflight.
	DefaultMaxRequestsInFlight = 400
	// DefaultRequestTimeout is --request-timeout.
	DefaultRequestTimeout = 60 * time.Second
)

// limitInFlight refuses a request with 429 (Retry-After: 1, a
// TooManyRequests Status) when MaxRequestsInFlight others are being
// served, as kube-apiserver's max-in-flight filter: watches are not
// counted, and an authenticated system:masters user is never refused (on
// the secure port this filter runs after authentication; on the insecure
// port before the fixed user is set, so it applies there). One limit is
// shared by both ports.
func (g *Gateway) limitInFlight(next http.Handler) http.Handler {
	if g.inflight == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := requestInfoFrom(r.Context())
		if longRunning(ri) {
			gauge := g.metrics.longRunning.WithLabelValues(metricsVerb(ri, r.Method), ri.Resource)
			gauge.Inc()
			defer gauge.Dec()
			next.ServeHTTP(w, r)
			return
		}
		select {
		case g.inflight <- struct{}{}:
			gauge := g.metrics.inflightGauge(ri)
			gauge.Inc()
			defer func() {
				gauge.Dec()
				<-g.inflight
			}()
			next.ServeHTTP(w, r)
		default:
			if u, ok := identity.UserFrom(r.Context()); ok && slices.Contains(u.GetGroups(), identity.GroupMasters) {
				next.ServeHTTP(w, r)
				return
			}
			g.fail(w, apierrors.ReasonTooManyRequests, "Too many requests, please try again later.",
				&corev1.StatusDetails{RetryAfterSeconds: 1})
		}
	})
}

// withTimeout bounds every request but watches to RequestTimeout, as
// kube-apiserver's WithTimeoutForNonLongRunningRequests: the handler's
// context ends, and the client gets a 504 Timeout Status, or, when the
// handler had already started its answer, a cut connection (HTTP/1.1) or
// a reset stream (HTTP/2). A watch is bounded by its own timeoutSeconds.
func (g *Gateway) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if longRunning(requestInfoFrom(r.Context())) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		timer := time.NewTimer(g.opts.RequestTimeout)
		defer timer.Stop()
		tw := &timeoutWriter{w: w, h: make(http.Header)}
		done := make(chan struct{})
		panicked := make(chan any, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					panicked <- p
					return
				}
				close(done)
			}()
			next.ServeHTTP(tw, r.WithContext(ctx))
		}()
		select {
		case <-done:
		case p := <-panicked:
			panic(p) // recoverPanics inside has let it through: ErrAbortHandler
		case <-timer.C:
			select {
			case <-done:
				return // finished as the timer fired
			default:
			}
			sent := !tw.timeout() // before cancel: the handler's writes fail from now on
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
			if sent {
				panic(http.ErrAbortHandler)
			}
			g.fail(w, apierrors.ReasonTimeout, "Timeout: request did not complete within requested timeout - context deadline exceeded", &corev1.StatusDetails{})
		}
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

// timeout stops forwarding; it reports whether the answer is still
// unsent, so that the caller may send the 504.
func (tw *timeoutWriter) timeout() bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.timedOut = true
	return !tw.wroteHeader
}
