package gateway

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/portico-dev/portico/internal/resources"
)

// registrar adds one service's REST routes to the mux.
type registrar func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error

// restRoutes (zz_routes.go, generated with the resource table) has one
// registrar for every service of the table (TestEveryResourceRouted).

// registerResources adds the REST routes of every resource of the table.
func registerResources(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	routes := restRoutes()
	for _, r := range resources.All() {
		reg, ok := routes[r.Service]
		if !ok {
			return fmt.Errorf("gateway: no REST routes for %s", r.Service)
		}
		if err := reg(ctx, mux, conn); err != nil {
			return fmt.Errorf("gateway: %s: %w", r.Service, err)
		}
	}
	return nil
}
