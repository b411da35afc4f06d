package gateway

import (
	"encoding/json"
	"net/http"
	"runtime"

	"github.com/portico-dev/portico/internal/resources"
)

// apiResource is one entry of /api/v1 (meta/v1 APIResource).
type apiResource struct {
	Name         string   `json:"name"`
	SingularName string   `json:"singularName"`
	Namespaced   bool     `json:"namespaced"`
	Kind         string   `json:"kind"`
	Verbs        []string `json:"verbs"`
	ShortNames   []string `json:"shortNames,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	// Group and Version are set on a subresource of another group
	// (serviceaccounts/token is authentication.k8s.io/v1 TokenRequest).
	Group   string `json:"group,omitempty"`
	Version string `json:"version,omitempty"`
}

// Version is what /version reports.
type Version struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Compiler     string `json:"compiler"`
	Platform     string `json:"platform"`
}

// ServerVersion is the Kubernetes API version Portico speaks.
func ServerVersion() Version {
	return Version{
		Major: "1", Minor: "34", GitVersion: "v1.34.0-portico", GitCommit: "portico", GitTreeState: "clean",
		BuildDate: "1970-01-01T00:00:00Z", GoVersion: runtime.Version(), Compiler: runtime.Compiler,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

func (g *Gateway) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, ServerVersion())
}

// apiVersions is /api (meta/v1 APIVersions). kubectl asks for aggregated
// discovery first and accepts this legacy form in answer.
func (g *Gateway) apiVersions(w http.ResponseWriter, r *http.Request) {
	if v := aggregatedVersion(r.Header.Values("Accept")); v != "" {
		core, _ := aggregatedFromTable(resources.All())
		writeAggregated(w, v, []discoveryGroup{core})
		return
	}
	writeJSON(w, map[string]any{
		"kind":     "APIVersions",
		"versions": []string{"v1"},
		"serverAddressByClientCIDRs": []map[string]string{
			{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host},
		},
	})
}

// apiResources is /api/v1 (meta/v1 APIResourceList).
func (g *Gateway) apiResources(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"kind":         "APIResourceList",
		"groupVersion": "v1",
		"resources":    g.core,
	})
}

// apiGroups is /apis (meta/v1 APIGroupList).
func (g *Gateway) apiGroups(w http.ResponseWriter, r *http.Request) {
	if v := aggregatedVersion(r.Header.Values("Accept")); v != "" {
		_, named := aggregatedFromTable(resources.All())
		named = append(named, reviewGroup(authnGroup, authnResources), reviewGroup(authzGroup, authzResources))
		writeAggregated(w, v, named)
		return
	}
	writeJSON(w, map[string]any{
		"kind":       "APIGroupList",
		"apiVersion": "v1",
		"groups":     g.groupEntries(),
	})
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONAs(w, v, "application/json") }

// writeJSONAs answers v in JSON with the given Content-Type.
func writeJSONAs(w http.ResponseWriter, v any, contentType string) {
	buf, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache, private")
	_, _ = w.Write(append(buf, '\n'))
}

// groupEntries are the items of /apis: the table's groups, then the
// review groups.
func (g *Gateway) groupEntries() []any {
	out := []any{}
	for _, tg := range g.groups {
		out = append(out, tg.entry())
	}
	return append(out, authenticationGroup(), authorizationGroup())
}
