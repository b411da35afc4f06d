package gateway

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/portico-dev/portico/internal/resources"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// registrar adds one service's REST routes to the mux.
type registrar func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error

// restRoutes are the generated grpc-gateway registrations, by gRPC service.
// Every service of the resource table must have one (TestEveryResourceRouted).
func restRoutes() map[string]registrar {
	return map[string]registrar{
		"portico.core.v1.NamespaceService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterNamespaceServiceHandlerClient(ctx, mux, corev1.NewNamespaceServiceClient(c))
		},
		"portico.core.v1.ConfigMapService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterConfigMapServiceHandlerClient(ctx, mux, corev1.NewConfigMapServiceClient(c))
		},
		"portico.core.v1.SecretService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterSecretServiceHandlerClient(ctx, mux, corev1.NewSecretServiceClient(c))
		},
		"portico.core.v1.PodService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterPodServiceHandlerClient(ctx, mux, corev1.NewPodServiceClient(c))
		},
		"portico.core.v1.ServiceService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterServiceServiceHandlerClient(ctx, mux, corev1.NewServiceServiceClient(c))
		},
		"portico.core.v1.EndpointsService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterEndpointsServiceHandlerClient(ctx, mux, corev1.NewEndpointsServiceClient(c))
		},
		"portico.core.v1.EventService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterEventServiceHandlerClient(ctx, mux, corev1.NewEventServiceClient(c))
		},
		"portico.core.v1.NodeService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterNodeServiceHandlerClient(ctx, mux, corev1.NewNodeServiceClient(c))
		},
		"portico.core.v1.ServiceAccountService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return corev1.RegisterServiceAccountServiceHandlerClient(ctx, mux, corev1.NewServiceAccountServiceClient(c))
		},
		"portico.rbac.v1.RoleService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return rbacv1.RegisterRoleServiceHandlerClient(ctx, mux, rbacv1.NewRoleServiceClient(c))
		},
		"portico.rbac.v1.ClusterRoleService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return rbacv1.RegisterClusterRoleServiceHandlerClient(ctx, mux, rbacv1.NewClusterRoleServiceClient(c))
		},
		"portico.rbac.v1.RoleBindingService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return rbacv1.RegisterRoleBindingServiceHandlerClient(ctx, mux, rbacv1.NewRoleBindingServiceClient(c))
		},
		"portico.rbac.v1.ClusterRoleBindingService": func(ctx context.Context, mux *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return rbacv1.RegisterClusterRoleBindingServiceHandlerClient(ctx, mux, rbacv1.NewClusterRoleBindingServiceClient(c))
		},
	}
}

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
