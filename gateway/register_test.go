package gateway

import (
	"testing"

	"github.com/portico-dev/portico/internal/resources"
)

func TestEveryResourceRouted(t *testing.T) {
	routes := restRoutes()
	for _, r := range resources.All() {
		if _, ok := routes[r.Service]; !ok {
			t.Errorf("%s (%s) has no REST routes", r.Resource, r.Service)
		}
	}
	if len(routes) != len(resources.All()) {
		t.Errorf("%d routes for %d resources", len(routes), len(resources.All()))
	}
}
