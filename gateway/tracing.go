package gateway

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/requestinfo"
)

// traced is a port's handler in the gateway's tracing, outermost, so
// that the span covers every filter (authentication, priority and
// fairness, timeouts) and its context reaches every call to a service.
// The health probes are not traced: load balancers poll them. With
// tracing off it is h itself.
func (g *Gateway) traced(h http.Handler) http.Handler {
	return g.deps.Tracing.HTTPHandler(h, nil, isProbe)
}

// isProbe matches /livez, /readyz and /healthz and their checks.
func isProbe(r *http.Request) bool {
	for _, p := range []string{"/livez", "/readyz", "/healthz"} {
		if rest, ok := strings.CutPrefix(r.URL.Path, p); ok && (rest == "" || rest[0] == '/') {
			return true
		}
	}
	return false
}

// nameSpan names a routed resource request's server span by what it does
// ("create configmaps", "get deployments.apps", "update pods/status").
// Other requests keep the method as their name: their paths are any
// client's choice, and span names must not grow without bound.
func nameSpan(span trace.Span, ri *requestinfo.Info) {
	name := ri.Resource
	if ri.APIGroup != "" {
		name += "." + ri.APIGroup
	}
	if ri.Subresource != "" {
		name += "/" + ri.Subresource
	}
	span.SetName(ri.Verb + " " + name)
	span.SetAttributes(attribute.String("k8s.verb", ri.Verb), attribute.String("k8s.resource", name))
	if ri.Namespace != "" {
		span.SetAttributes(attribute.String("k8s.namespace.name", ri.Namespace))
	}
}
