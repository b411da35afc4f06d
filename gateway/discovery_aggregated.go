package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/resources"
)

// Aggregated discovery (apidiscovery.k8s.io/v2): kubectl asks /api and
// /apis for every group's resources in one answer first, with
// "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...",
// and falls back to the legacy documents only when refused.

// aggregatedVersion is the apidiscovery version the Accept header asks for
// first ("v2" or "v2beta1"), or "" when it prefers the legacy form.
func aggregatedVersion(accept []string) string {
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || (mt != "application/json" && mt != "*/*") {
				continue
			}
			if params["g"] == "apidiscovery.k8s.io" && params["as"] == "APIGroupDiscoveryList" && (params["v"] == "v2" || params["v"] == "v2beta1") {
				return params["v"]
			}
			return ""
		}
	}
	return ""
}

type discoveryList struct {
	Kind       string           `json:"kind"`
	APIVersion string           `json:"apiVersion"`
	Metadata   struct{}         `json:"metadata"`
	Items      []discoveryGroup `json:"items"`
}

type discoveryGroup struct {
	Metadata struct {
		Name string `json:"name,omitempty"`
	} `json:"metadata"`
	Versions []discoveryVersion `json:"versions"`
}

type discoveryVersion struct {
	Version   string              `json:"version"`
	Resources []discoveryResource `json:"resources"`
	Freshness string              `json:"freshness"`
}

type discoveryKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type discoveryResource struct {
	Resource         string                 `json:"resource"`
	ResponseKind     discoveryKind          `json:"responseKind"`
	Scope            string                 `json:"scope"`
	SingularResource string                 `json:"singularResource"`
	Verbs            []string               `json:"verbs"`
	ShortNames       []string               `json:"shortNames,omitempty"`
	Categories       []string               `json:"categories,omitempty"`
	Subresources     []discoverySubresource `json:"subresources,omitempty"`
}

type discoverySubresource struct {
	Subresource  string        `json:"subresource"`
	ResponseKind discoveryKind `json:"responseKind"`
	Verbs        []string      `json:"verbs"`
}

func scope(namespaced bool) string {
	if namespaced {
		return "Namespaced"
	}
	return "Cluster"
}

// aggregatedFromTable is the aggregated discovery of the resource table:
// core/v1 (for /api) and the named groups (for /apis), in table order.
func aggregatedFromTable(all []resources.Resource) (core discoveryGroup, named []discoveryGroup) {
	index := map[string]int{}
	core.Versions = []discoveryVersion{{Version: "v1", Freshness: "Current", Resources: []discoveryResource{}}}
	for _, r := range all {
		dr := discoveryResource{
			Resource: r.Resource, ResponseKind: discoveryKind{Kind: r.Kind}, Scope: scope(r.Namespaced),
			SingularResource: r.SingularName, Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories,
		}
		for _, sub := range r.Subresources {
			dr.Subresources = append(dr.Subresources, discoverySubresource{Subresource: sub, ResponseKind: subresourceKind(r.Kind, sub), Verbs: subresourceVerbs(sub)})
		}
		if r.Group == "" {
			core.Versions[0].Resources = append(core.Versions[0].Resources, dr)
			continue
		}
		i, ok := index[r.Group]
		if !ok {
			i = len(named)
			index[r.Group] = i
			g := discoveryGroup{Versions: []discoveryVersion{{Version: r.Version, Freshness: "Current"}}}
			g.Metadata.Name = r.Group
			named = append(named, g)
		}
		named[i].Versions[0].Resources = append(named[i].Versions[0].Resources, dr)
	}
	return core, named
}

// reviewGroup is the aggregated entry of a group served by hand (the
// authentication and authorization reviews).
func reviewGroup(name string, rs []apiResource) discoveryGroup {
	g := discoveryGroup{Versions: []discoveryVersion{{Version: "v1", Freshness: "Current"}}}
	g.Metadata.Name = name
	for _, r := range rs {
		g.Versions[0].Resources = append(g.Versions[0].Resources, discoveryResource{
			Resource: r.Name, ResponseKind: discoveryKind{Kind: r.Kind}, Scope: scope(r.Namespaced),
			SingularResource: r.SingularName, Verbs: r.Verbs,
		})
	}
	return g
}

// writeAggregated answers an APIGroupDiscoveryList of groups.
func writeAggregated(w http.ResponseWriter, version string, groups []discoveryGroup) {
	list := discoveryList{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/" + version, Items: groups}
	if list.Items == nil {
		list.Items = []discoveryGroup{}
	}
	w.Header().Set("Vary", "Accept")
	writeJSONAs(w, list, "application/json;g=apidiscovery.k8s.io;v="+version+";as=APIGroupDiscoveryList")
}
