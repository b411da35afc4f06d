package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPortFilters measures what the port filters (observe: request
// info, Audit-Id, metrics; timeout; panics; in-flight limit) add to a
// request, against the bare route.
func BenchmarkPortFilters(b *testing.B) {
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	g := newTestGateway(b, Options{MaxRequestsInFlight: 400}, Deps{}, route)
	for name, h := range map[string]http.Handler{
		"bare":                  route,
		"insecure port filters": g.insecureHandler(),
	} {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/v1/namespaces/default/configmaps/app", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
