package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/resources"
)

func TestAggregatedVersion(t *testing.T) {
	tests := map[string]struct {
		accept []string
		want   string
	}{
		"kubectl":         {[]string{"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"}, "v2"},
		"v2beta1 first":   {[]string{"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"}, "v2beta1"},
		"legacy first":    {[]string{"application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}, ""},
		"plain":           {[]string{"application/json"}, ""},
		"unknown version": {[]string{"application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList"}, ""},
		"none":            {nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := aggregatedVersion(tc.accept); got != tc.want {
				t.Fatalf("aggregatedVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAggregatedFromTable(t *testing.T) {
	core, named := aggregatedFromTable(resources.All())
	rec := httptest.NewRecorder()
	writeAggregated(rec, "v2", append([]discoveryGroup{core}, named...))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var list struct {
		Kind, APIVersion string
		Items            []struct {
			Metadata struct{ Name string }
			Versions []struct {
				Version, Freshness string
				Resources          []struct {
					Resource, Scope string
					Subresources    []struct {
						Subresource  string
						ResponseKind struct{ Group, Kind string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "APIGroupDiscoveryList" || list.APIVersion != "apidiscovery.k8s.io/v2" || len(list.Items) < 2 {
		t.Fatalf("list = %+v", list)
	}
	found := map[string]string{}
	for _, g := range list.Items {
		for _, v := range g.Versions {
			if v.Freshness != "Current" {
				t.Errorf("%s/%s freshness %q", g.Metadata.Name, v.Version, v.Freshness)
			}
			for _, r := range v.Resources {
				found[g.Metadata.Name+"/"+r.Resource] = r.Scope
				for _, s := range r.Subresources {
					found[g.Metadata.Name+"/"+r.Resource+"/"+s.Subresource] = s.ResponseKind.Group + "/" + s.ResponseKind.Kind
				}
			}
		}
	}
	want := map[string]string{
		"/pods": "Namespaced", "/namespaces": "Cluster", "/pods/binding": "/Binding",
		"/serviceaccounts/token":                 "authentication.k8s.io/TokenRequest",
		"rbac.authorization.k8s.io/roles":        "Namespaced",
		"rbac.authorization.k8s.io/clusterroles": "Cluster",
	}
	for k, v := range want {
		if found[k] != v {
			t.Errorf("%s = %q, want %q", k, found[k], v)
		}
	}
	if !strings.HasSuffix(rec.Body.String(), "\n") {
		t.Error("no trailing newline")
	}
}
