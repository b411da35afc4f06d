package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func TestBuildV2(t *testing.T) {
	res := []Resource{{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true,
		Verbs:  []string{"create", "get", "list", "patch", "update"},
		Object: &corev1.Pod{}, List: &corev1.ListPodsResponse{}}}
	_, docs, err := Build(res, KubernetesNames, nil, "Kubernetes", "v1.34.0")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := BuildV2(docs, "Kubernetes", "v1.34.0")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(v2.JSON), "#/components/") || strings.Contains(string(v2.JSON), `"oneOf"`) {
		t.Fatal("v2 document still has v3 constructs")
	}
	var doc openapiv2.Document
	if err := proto.Unmarshal(v2.Protobuf, &doc); err != nil {
		t.Fatalf("protobuf form: %v", err)
	}
	if doc.GetSwagger() != "2.0" {
		t.Errorf("swagger = %q", doc.GetSwagger())
	}
	var d struct {
		Paths       map[string]map[string]json.RawMessage `json:"paths"`
		Definitions map[string]map[string]any             `json:"definitions"`
	}
	if err := json.Unmarshal(v2.JSON, &d); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path, method string
		want         []string
	}{
		"create has a body and fieldValidation": {"/api/v1/namespaces/{namespace}/pods", "post",
			[]string{`"in":"body"`, `"name":"fieldValidation"`, `"$ref":"#/definitions/io.k8s.api.core.v1.Pod"`, `"x-kubernetes-action":"post"`}},
		"params lose their schema wrapper": {"/api/v1/namespaces/{namespace}/pods", "get", []string{`"name":"limit","type":"integer"`}},
		"patch lists its media types":      {"/api/v1/namespaces/{namespace}/pods/{name}", "patch", []string{`"name":"body"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			op := string(d.Paths[tc.path][tc.method])
			for _, w := range tc.want {
				if !strings.Contains(op, w) {
					t.Errorf("%s %s lacks %s: %s", tc.method, tc.path, w, op)
				}
			}
		})
	}
	if gvk, _ := d.Definitions["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"].([]any); len(gvk) != 1 {
		t.Error("Pod definition has no group-version-kind")
	}
	if q := d.Definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"]; q["type"] != "string" {
		t.Errorf("Quantity = %v", q)
	}
}
