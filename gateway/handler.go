package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/impersonation"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	"github.com/portico-dev/portico/internal/requestinfo"
	"github.com/portico-dev/portico/internal/respmeta"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// Media types the gateway accepts in request bodies.
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// routes is the REST surface shared by both ports: local endpoints, then
// the grpc-gateway mux for resources.
func (g *Gateway) routes(mux http.Handler) http.Handler {
	local := http.NewServeMux()
	local.HandleFunc("GET /healthz", g.serveHealth("healthz", g.healthzChecks))
	local.HandleFunc("GET /livez", g.serveHealth("livez", g.livezChecks))
	local.HandleFunc("GET /readyz", g.serveHealth("readyz", g.readyzChecks))
	local.HandleFunc("GET /healthz/{check}", g.serveHealthCheck(g.healthzChecks))
	local.HandleFunc("GET /livez/{check}", g.serveHealthCheck(g.livezChecks))
	local.HandleFunc("GET /readyz/{check}", g.serveHealthCheck(g.readyzChecks))
	local.HandleFunc("GET /metrics", g.serveMetrics)
	local.HandleFunc("GET /version", g.version)
	local.HandleFunc("GET /api", g.apiVersions)
	local.HandleFunc("GET /api/v1", g.apiResources)
	local.HandleFunc("GET /apis", g.apiGroups)
	g.tableRoutes(local)
	g.openAPIRoutes(local)
	g.authnRoutes(local)
	g.authzRoutes(local)
	resources := g.limitBody(watchToPath(g.stopping, g.withNegotiation(mux)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeHTTP, not the handler Handler returns, so that path
		// values ({check}, {path...}) are set on the request.
		if _, pattern := local.Handler(r); pattern != "" {
			local.ServeHTTP(w, r)
			return
		}
		resources.ServeHTTP(w, r)
	})
}

// insecureHandler serves the insecure port: every request is
// system:unsecured in system:masters, with no authentication. Filters,
// outer first, as kube-apiserver's insecure chain: audit and metrics,
// timeout, panics, priority and fairness with the port's own budget
// (before the user is set, so it applies here), the body's read
// deadline, the fixed user, then impersonation, which this port honours as
// the secure port does (kubectl --as works on both) but without asking
// authz: the port has no authorization and its user may impersonate
// anyone but Portico's own services. With --profiling, /debug/pprof/
// is served here (withProfiling), after the limits.
func (g *Gateway) insecureHandler() http.Handler {
	impersonating := g.impersonate(impersonation.AllowAll, g.handler)
	return g.observe(g.withTimeout(g.recoverPanics(g.limitInFlight(g.insecureFlow, g.limitBodyTime(withProfiling(g.opts.Profiling, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		impersonating.ServeHTTP(w, r.WithContext(withUser(r.Context(), identity.Unsecured())))
	})))))))
}

// secureHandler serves the secure port: every request is authenticated by
// authn from its client certificate or bearer token; failure is 401.
// Filters, outer first, as kube-apiserver's chain: audit and metrics,
// timeout, panics, authentication, impersonation (authorized by authz for
// the authenticated user), priority and fairness (system:masters exempt),
// the body's read deadline, authorization of non-resource paths and
// watches, all of them after impersonation seeing the impersonated user.
func (g *Gateway) secureHandler() http.Handler {
	limited := g.impersonate(g.deps.Authz, g.limitInFlight(g.secureFlow, g.limitBodyTime(g.authorizeRequest(g.handler))))
	return g.observe(g.withTimeout(g.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var token string
		if h := r.Header.Get("Authorization"); h != "" {
			t, ok := authnclient.BearerToken(h)
			if !ok {
				g.fail(w, apierrors.ReasonUnauthorized, "Unauthorized", nil)
				return
			}
			token = t
		}
		var chain = r.TLS.PeerCertificates
		u, err := g.deps.Authn.Authenticate(r.Context(), token, chain)
		if err != nil {
			g.writeError(w, err)
			return
		}
		limited.ServeHTTP(w, r.WithContext(withUser(r.Context(), u)))
	}))))
}

// impersonate is kube-apiserver's impersonation filter: a request with
// Impersonate-* headers runs, from here on, as the user they name, once
// authz lets the authenticated user impersonate every part of it
// (package impersonation); the headers are then removed, so nothing
// later applies them again. The api is sent the impersonated user, in
// the identity metadata only this gateway may send.
func (g *Gateway) impersonate(authz impersonation.Authorizer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := impersonation.FromHeader(r.Header)
		if err == nil && req.Empty() {
			next.ServeHTTP(w, r)
			return
		}
		requester, ok := identity.UserFrom(r.Context())
		if !ok {
			g.fail(w, apierrors.ReasonUnauthorized, "Unauthorized", nil)
			return
		}
		var as *authnv1.UserInfo
		if err == nil {
			as, err = impersonation.Apply(r.Context(), requester, req, authz)
		}
		if err != nil {
			g.writeError(w, err)
			return
		}
		impersonation.StripHeader(r.Header)
		next.ServeHTTP(w, r.WithContext(withImpersonatedUser(r.Context(), as)))
	})
}

// recoverPanics turns a panic into a 500 Status; http.ErrAbortHandler is
// let through so the server drops the connection as it should.
func (g *Gateway) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				g.log.Error("panic serving request", "panic", fmt.Sprint(p), "path", r.URL.Path, "stack", string(debug.Stack()))
				g.fail(w, apierrors.ReasonInternalError, "an internal error occurred", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody reads a request body once, refusing it past the limit (413)
// and refusing media types the gateway cannot decode (415), as
// kube-apiserver does, before any gRPC call is made.
func (g *Gateway) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, g.opts.MaxBodyBytes+1))
		if bodyTimedOut(err) {
			g.fail(w, apierrors.ReasonBadRequest, fmt.Sprintf("the request body was not received within %s", g.opts.RequestBodyTimeout), nil)
			return
		}
		if err != nil {
			g.fail(w, apierrors.ReasonBadRequest, "reading the request body failed", nil)
			return
		}
		if int64(len(body)) > g.opts.MaxBodyBytes {
			g.fail(w, apierrors.ReasonRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", g.opts.MaxBodyBytes), nil)
			return
		}
		if len(body) > 0 {
			ct := r.Header.Get("Content-Type")
			mt, _, err := mime.ParseMediaType(ct)
			if ct == "" {
				mt, err = mediaJSON, nil
			}
			if r.Method == http.MethodPatch {
				if err != nil || !isPatchType(mt) {
					g.writeError(w, apierrors.UnsupportedMediaType(patchMediaTypes...))
					return
				}
				setPatchType(r, mt)
			} else if err != nil || (mt != mediaJSON && mt != mediaProtobuf) {
				g.writeError(w, apierrors.UnsupportedMediaType(mediaJSON, mediaProtobuf))
				return
			}
			// grpc-gateway picks the decoder by exact Content-Type.
			r.Header.Set("Content-Type", mt)
		}
		opts, ctx, err := decodeOptions(r, g.opts.MaxBodyBytes)
		if err != nil {
			g.fail(w, apierrors.ReasonBadRequest, err.Error(), nil)
			return
		}
		r = r.WithContext(ctx)
		r.Body = kjson.BodyWithOptions(io.NopCloser(bytes.NewReader(body)), opts)
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// watchToPath routes "GET <list path>?watch=true" to the watch RPC's
// path, /api/v1/watch/..., which is also served as kube-apiserver's
// deprecated watch path.
//
// A watch ends when the gateway shuts down (stopping), so a drain waits
// for ordinary requests, not for clients that never hang up; clients
// re-list and re-watch, as they do after any dropped watch.
func watchToPath(stopping context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			// ?watch is read as authorization reads it (requestinfo), so
			// the call made is the one authorized.
			q := r.URL.Query()
			if info, err := requestInfoOf(r); err == nil && info.ResourceRequest && (info.Verb == "watch" || requestinfo.WatchRequested(q)) {
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				defer context.AfterFunc(stopping, cancel)()
				r = r.WithContext(ctx)
				base := "/" + info.APIPrefix + "/" + info.APIVersion + "/"
				if info.APIGroup != "" {
					base = "/" + info.APIPrefix + "/" + info.APIGroup + "/" + info.APIVersion + "/"
				}
				if rest, ok := strings.CutPrefix(r.URL.Path, base); ok && !strings.HasPrefix(rest, "watch/") {
					r2 := r.Clone(r.Context())
					q.Del("watch")
					r2.URL.Path = base + "watch/" + rest
					r2.URL.RawPath = ""
					r2.URL.RawQuery = q.Encode()
					r = r2
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// forwardUser is grpc-gateway's WithMetadata: the user this gateway
// authenticated (or system:unsecured) goes to the api in metadata.
func forwardUser(_ context.Context, r *http.Request) metadata.MD {
	u, ok := identity.UserFrom(r.Context())
	if !ok {
		// Unreachable: both ports set a user. Send none, and the api
		// refuses the call.
		return nil
	}
	return identity.ToMetadata(u)
}

// forwardResponse sets the HTTP status the api asked for (201 on create)
// and, at the start of a watch (msg nil), sends the headers at once so the
// client sees 200 before the first event.
func (g *Gateway) forwardResponse(ctx context.Context, w http.ResponseWriter, msg proto.Message) error {
	if msg == nil {
		ct := mediaJSON
		if outputOf(ctx).protobuf {
			ct = kubeproto.WatchContentType
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-cache, private")
		w.WriteHeader(http.StatusOK)
		if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	writeWarnings(ctx, w)
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for _, msg := range md.HeaderMD.Get(respmeta.Warning) {
			w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
		}
		if v := md.HeaderMD.Get(respmeta.HTTPCode); len(v) == 1 && v[0] == "201" {
			w.WriteHeader(http.StatusCreated)
		}
	}
	return nil
}
