package gateway

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// profilingPrefix is where --profiling serves Go's runtime profiles.
const profilingPrefix = "/debug/pprof/"

// withProfiling serves Go's runtime profiles of this process (the whole
// of `portico up`, or the gateway's process alone in a cluster) under
// /debug/pprof/ when on, and passes every other path to next. It is
// mounted on the insecure port only: that port's protection is host
// access, and a profile asks for nothing a user with host access could
// not read from the process anyway. A profile is a request like any
// other, bounded by --request-timeout (so a CPU profile of up to its
// seconds) and holding a seat of priority and fairness meanwhile.
func withProfiling(on bool, next http.Handler) http.Handler {
	if !on {
		return next
	}
	mux := http.NewServeMux()
	mux.HandleFunc(profilingPrefix, pprof.Index)
	mux.HandleFunc(profilingPrefix+"cmdline", pprof.Cmdline)
	mux.HandleFunc(profilingPrefix+"profile", pprof.Profile)
	mux.HandleFunc(profilingPrefix+"symbol", pprof.Symbol)
	mux.HandleFunc(profilingPrefix+"trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == strings.TrimSuffix(profilingPrefix, "/") || strings.HasPrefix(r.URL.Path, profilingPrefix) {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
