package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/requestinfo"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// record is what the inner filters learn about a request (its user) for
// observe to read when the request ends. The user is set from the
// handler's goroutine, which a timeout may have left running, hence the
// atomic.
type record struct {
	user atomic.Pointer[authnv1.UserInfo]
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
		info, _ := requestinfo.Parse(r.Method, r.URL)
		ri := &info
		id := newAuditID()
		w.Header().Set("Audit-Id", id)
		rec := &record{}
		ctx := withRequestInfo(context.WithValue(r.Context(), recordKey{}, rec), ri)
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
			g.audit.write(r, ri, id, rec.user.Load(), code, start, end)
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

// newAuditID is a random (version 4) UUID.
func newAuditID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// The request's info is read once, by observe, and kept in the context
// for the filters inside it.
type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, ri *requestinfo.Info) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// requestInfoFrom returns the request's info; outside the chain (a unit
// test of one handler) it is a non-resource GET.
func requestInfoFrom(ctx context.Context) *requestinfo.Info {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestinfo.Info); ok {
		return ri
	}
	return &requestinfo.Info{Verb: "get"}
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
