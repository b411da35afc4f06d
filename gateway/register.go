package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/portico-dev/portico/internal/resources"
)

// registrar adds one service's REST routes to the mux.
type registrar func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error

// restRoutes (zz_routes.go, generated with the resource table) has one
// registrar for every service of the table (TestEveryResourceRouted).

// registerResources returns the REST routes of every resource of the
// table: one grpc-gateway ServeMux per resource, and one of them all.
func registerResources(ctx context.Context, opts []runtime.ServeMuxOption, conn grpc.ClientConnInterface) (*resourceMux, error) {
	routes := restRoutes()
	m := &resourceMux{byResource: map[groupVersionResource]*runtime.ServeMux{}, all: runtime.NewServeMux(opts...)}
	for _, r := range resources.All() {
		reg, ok := routes[r.Service]
		if !ok {
			return nil, fmt.Errorf("gateway: no REST routes for %s", r.Service)
		}
		one := runtime.NewServeMux(opts...)
		for _, mux := range []*runtime.ServeMux{one, m.all} {
			if err := reg(ctx, mux, conn); err != nil {
				return nil, fmt.Errorf("gateway: %s: %w", r.Service, err)
			}
		}
		m.byResource[groupVersionResource{r.Group, r.Version, r.Resource}] = one
	}
	return m, nil
}

type groupVersionResource struct{ group, version, resource string }

// resourceMux sends a resource request to the mux of its resource's
// service alone: a grpc-gateway ServeMux matches a path against its
// patterns one after the other, and one over every kind has hundreds (a
// twentieth of a GET's CPU in a profile). Anything else (a path that is
// not one kind's, a resource of no kind, such as the bindings
// collection) goes to the mux of every kind, so which handler answers,
// and every 404 and 405, stays grpc-gateway's own.
type resourceMux struct {
	byResource map[groupVersionResource]*runtime.ServeMux
	all        *runtime.ServeMux
}

func (m *resourceMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ri, err := requestInfoOf(r); err == nil && ri.ResourceRequest {
		if one, ok := m.byResource[groupVersionResource{ri.APIGroup, ri.APIVersion, ri.Resource}]; ok {
			one.ServeHTTP(w, r)
			return
		}
	}
	m.all.ServeHTTP(w, r)
}
