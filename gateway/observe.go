package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/requestinfo"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// record is what the inner filters learn about a request (its user, and
// the user it impersonates) for observe to read when the request ends.
// The users are set from the handler's goroutine, which a timeout may
// have left running, hence the atomics.
type record struct {
	user         atomic.Pointer[authnv1.UserInfo]
	impersonated atomic.Pointer[authnv1.UserInfo]
	// unrouted is set when no REST route matched: the path's "resource"
	// is then no resource, and stays out of the metrics' labels.
	unrouted atomic.Bool
}

type recordKey struct{}

// withUser returns ctx carrying u for the handlers (identity.WithUser)
// and records u for the audit log.
func withUser(ctx context.Context, u *authnv1.UserInfo) context.Context {
	if rec, ok := ctx.Value(recordKey{}).(*record); ok {
		rec.user.Store(u)
	}
	return identity.WithUser(ctx, u)
}

// withImpersonatedUser returns ctx carrying u, the user the request runs
// as from here on, and records u as the impersonated user for the audit
// log (the requesting user stays recorded as the user).
func withImpersonatedUser(ctx context.Context, u *authnv1.UserInfo) context.Context {
	if rec, ok := ctx.Value(recordKey{}).(*record); ok {
		rec.impersonated.Store(u)
	}
	return identity.WithUser(ctx, u)
}

// markUnrouted records that no route matched the request.
func markUnrouted(ctx context.Context) {
	if rec, ok := ctx.Value(recordKey{}).(*record); ok {
		rec.unrouted.Store(true)
	}
}

// observe is the outermost filter of both ports: it reads the request's
// info once, gives the request an Audit-Id (also sent back as a response
// header, as kube-apiserver does), and when the request ends, however it
// ends (401, 429, 504, a panic), counts it in the metrics and writes its
// audit line.
func (g *Gateway) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// A path requestinfo refuses is still observed, as the
		// non-resource request it then reads as.
		info, parseErr := requestinfo.Parse(r.Method, r.URL)
		ri := &info
		id := uuid.NewString()
		w.Header().Set("Audit-Id", id)
		span := trace.SpanFromContext(r.Context())
		if span.IsRecording() {
			span.SetAttributes(attribute.String("k8s.audit_id", id))
		}
		rec := &record{}
		ctx := withRequestInfo(context.WithValue(r.Context(), recordKey{}, rec), ri, parseErr)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx) // a copy: the server's own request keeps its body
		if r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody {
			b := &eofBody{ReadCloser: r.Body}
			r.Body, sw.body = b, b
		}
		done := false
		defer func() {
			code := sw.status
			switch {
			case code == 0 && done:
				code = http.StatusOK // the handler wrote nothing: net/http sends 200
			case code == 0:
				code = http.StatusInternalServerError // a panic before any answer
			}
			end := time.Now()
			// The resource label names only resources that exist and callers
			// who authenticated: paths made up by anyone must not grow the
			// metrics without bound.
			resource := ri.Resource
			if rec.unrouted.Load() || code == http.StatusUnauthorized {
				resource = ""
			}
			g.metrics.observe(ri, r.Method, resource, code, end.Sub(start))
			if resource != "" && span.IsRecording() {
				nameSpan(span, ri)
			}
			g.audit.write(r, ri, id, rec.user.Load(), rec.impersonated.Load(), code, start, end)
		}()
		next.ServeHTTP(sw, r)
		done = true
	})
}

// statusWriter remembers the status code sent. It keeps Flush (watch
// streams need it) and Unwrap (for http.ResponseController).
//
// An HTTP/1.x answer sent before the request's body was read to its end
// (a 401, a 429, a 413...) closes the connection: else net/http reads
// the rest of the body before sending the answer, for as long as a
// client sending slowly makes it wait.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   *eofBody // nil: no body, or HTTP/2
}

func (w *statusWriter) start(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.body != nil && !w.body.eof.Load() {
		w.Header().Set("Connection", "close")
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.start(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.start(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	w.start(http.StatusOK)
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// eofBody records that a request body was read to its end.
type eofBody struct {
	io.ReadCloser
	eof atomic.Bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The request's info is read once, by observe, and kept in the context
// for the filters inside it, with the error of reading it (a path
// requestinfo refuses).
type requestInfoKey struct{}

type parsedInfo struct {
	info *requestinfo.Info
	err  error
}

func withRequestInfo(ctx context.Context, ri *requestinfo.Info, err error) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, parsedInfo{ri, err})
}

// requestInfoOf returns the info observe read for r and the error of
// reading it; a handler run outside the chain (a unit test) reads it now.
func requestInfoOf(r *http.Request) (*requestinfo.Info, error) {
	if p, ok := r.Context().Value(requestInfoKey{}).(parsedInfo); ok {
		return p.info, p.err
	}
	info, err := requestinfo.Parse(r.Method, r.URL)
	return &info, err
}

// longRunning reports requests excluded from the in-flight limit and the
// request timeout: watches, as in kube-apiserver (which also excludes
// proxy, exec, logs... that Portico does not serve).
func longRunning(ri *requestinfo.Info) bool { return ri.Verb == "watch" }

// readOnly reports requests that change nothing.
func readOnly(ri *requestinfo.Info) bool {
	switch ri.Verb {
	case "get", "list", "watch", "head", "options":
		return true
	}
	return false
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// metricsVerb is the verb label of apiserver_request_total as
// kube-apiserver's metrics.CleanVerb writes it: LIST, WATCH, GET, POST,
// PUT, PATCH, DELETE, DELETECOLLECTION; the method for non-resource paths.
func metricsVerb(ri *requestinfo.Info, method string) string {
	if !ri.ResourceRequest {
		if !knownMethods[method] {
			return "other" // any token is a method: keep the label bounded
		}
		return method
	}
	switch ri.Verb {
	case "create":
		return "POST"
	case "update":
		return "PUT"
	}
	return strings.ToUpper(ri.Verb)
}
