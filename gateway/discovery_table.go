package gateway

import (
	"net/http"

	"github.com/portico-dev/portico/internal/resources"
)

// Discovery of the stored resources comes from the generated resource
// table, the same one the api serves them from.

// tableGroup is one named API group of the table.
type tableGroup struct {
	name, version string
	resources     []apiResource
}

// discoveryFromTable splits the table into core/v1 and the named groups,
// each in table order.
func discoveryFromTable(all []resources.Resource) (core []apiResource, groups []tableGroup) {
	index := map[string]int{}
	for _, r := range all {
		ar := apiResource{
			Name: r.Resource, SingularName: r.SingularName, Namespaced: r.Namespaced, Kind: r.Kind,
			Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories,
		}
		if r.Group == "" {
			core = append(core, ar)
		} else {
			i, ok := index[r.Group]
			if !ok {
				i = len(groups)
				index[r.Group] = i
				groups = append(groups, tableGroup{name: r.Group, version: r.Version})
			}
			groups[i].resources = append(groups[i].resources, ar)
		}
		for _, sub := range r.Subresources {
			k := subresourceKind(r.Kind, sub)
			sr := apiResource{Name: r.Resource + "/" + sub, Namespaced: r.Namespaced, Kind: k.Kind, Group: k.Group, Version: k.Version, Verbs: subresourceVerbs(sub)}
			if r.Group == "" {
				core = append(core, sr)
			} else {
				groups[index[r.Group]].resources = append(groups[index[r.Group]].resources, sr)
			}
		}
	}
	return core, groups
}

// subresourceKind is the kind a subresource takes and answers: the
// object's own (group and version empty), or another.
func subresourceKind(kind, sub string) discoveryKind {
	switch sub {
	case "binding":
		return discoveryKind{Kind: "Binding"}
	case "token":
		return discoveryKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}
	case "scale":
		return discoveryKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
	}
	return discoveryKind{Kind: kind}
}

func subresourceVerbs(sub string) []string {
	switch sub {
	case "binding", "token":
		return []string{"create"}
	case "finalize":
		return []string{"update"}
	default:
		return []string{"get", "patch", "update"}
	}
}

func (tg tableGroup) groupVersion() string { return tg.name + "/" + tg.version }

// entry is the group's item of /apis (meta/v1 APIGroup without kind).
func (tg tableGroup) entry() map[string]any {
	v := map[string]string{"groupVersion": tg.groupVersion(), "version": tg.version}
	return map[string]any{"name": tg.name, "versions": []any{v}, "preferredVersion": v}
}

// tableRoutes serves /apis/<group> and /apis/<group>/<version> for the
// table's named groups.
func (g *Gateway) tableRoutes(local *http.ServeMux) {
	for _, tg := range g.groups {
		local.HandleFunc("GET /apis/"+tg.name, func(w http.ResponseWriter, _ *http.Request) {
			e := tg.entry()
			e["kind"], e["apiVersion"] = "APIGroup", "v1"
			writeJSON(w, e)
		})
		local.HandleFunc("GET /apis/"+tg.groupVersion(), func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, map[string]any{
				"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": tg.groupVersion(), "resources": tg.resources,
			})
		})
	}
}
