package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func TestBuild(t *testing.T) {
	res := []Resource{
		{Version: "v1", Plural: "configmaps", Kind: "ConfigMap", Namespaced: true,
			Verbs:  []string{"create", "delete", "get", "list", "update", "watch"},
			Object: &corev1.ConfigMap{}, List: &corev1.ListConfigMapsResponse{}},
		{Version: "v1", Plural: "namespaces", Kind: "Namespace",
			Verbs: []string{"get", "list"}, Object: &corev1.Namespace{}, List: &corev1.ListNamespacesResponse{}},
		{Version: "v1", Plural: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true,
			Verbs: []string{"get"}, Object: &corev1.ReplicationController{}, List: &corev1.ListReplicationControllersResponse{},
			Subresources: []Subresource{
				{Name: "scale", Verbs: []string{"get", "update", "patch"}, Object: &corev1.Scale{}, Group: "autoscaling", Version: "v1", Kind: "Scale"},
				{Name: "status", Verbs: []string{"get"}, Object: &corev1.ReplicationController{}, Version: "v1", Kind: "ReplicationController"},
			}},
	}
	root, docs, err := Build(res, KubernetesNames, nil, "Kubernetes", "v1.34.0")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Paths map[string]struct{ ServerRelativeURL string } `json:"paths"`
	}
	if err := json.Unmarshal(root, &r); err != nil {
		t.Fatal(err)
	}
	doc, ok := docs["api/v1"]
	if !ok || len(docs) != 1 || r.Paths["api/v1"].ServerRelativeURL != "/openapi/v3/api/v1?hash="+doc.Hash {
		t.Fatalf("root = %s, docs = %v", root, len(docs))
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc.JSON, &d); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path, method string
		want         []string // substrings of the operation
		absent       bool
	}{
		"create validates fields": {path: "/api/v1/namespaces/{namespace}/configmaps", method: "post",
			want: []string{`"fieldValidation"`, `"x-kubernetes-action":"post"`, `"kind":"ConfigMap"`, `io.k8s.api.core.v1.ConfigMap"`}},
		"list answers the list kind": {path: "/api/v1/namespaces/{namespace}/configmaps", method: "get",
			want: []string{`io.k8s.api.core.v1.ConfigMapList`}},
		"cluster-scoped path":   {path: "/api/v1/namespaces/{name}", method: "get", want: []string{`"kind":"Namespace"`}},
		"no verb, no operation": {path: "/api/v1/namespaces", method: "post", absent: true},
		"a subresource of another group's kind": {path: "/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale", method: "put",
			want: []string{`"operationId":"replaceReplicationControllerScale"`, `"kind":"Scale"`, `io.k8s.api.autoscaling.v1.Scale"`}},
		"a subresource's verbs only": {path: "/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/status", method: "put", absent: true},
		"the status subresource":     {path: "/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/status", method: "get", want: []string{`io.k8s.api.core.v1.ReplicationController"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			op, ok := d.Paths[tc.path][tc.method]
			if tc.absent {
				if ok {
					t.Fatalf("%s %s present", tc.method, tc.path)
				}
				return
			}
			if !ok {
				t.Fatalf("%s %s missing; paths: %v", tc.method, tc.path, d.Paths)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(op), w) {
					t.Errorf("%s %s lacks %s: %s", tc.method, tc.path, w, op)
				}
			}
		})
	}
	cm := d.Components.Schemas["io.k8s.api.core.v1.ConfigMap"]
	props, _ := cm["properties"].(map[string]any)
	for _, f := range []string{"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"} {
		if _, ok := props[f]; !ok {
			t.Errorf("ConfigMap schema lacks %s: %v", f, props)
		}
	}
	if _, ok := d.Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]; !ok {
		t.Error("ObjectMeta schema missing")
	}
	if ts := d.Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]; ts["format"] != "date-time" {
		t.Errorf("Time schema = %v", ts)
	}
	if gvk, _ := d.Components.Schemas["io.k8s.api.core.v1.ConfigMapList"]["x-kubernetes-group-version-kind"].([]any); len(gvk) != 1 {
		t.Errorf("ConfigMapList has no group-version-kind")
	}
}

// TestPatchExtensions: lists carry kube-apiserver's patch strategy and
// merge key, which kubectl apply needs to delete a removed list item.
func TestPatchExtensions(t *testing.T) {
	res := []Resource{{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true,
		Verbs: []string{"get", "patch"}, Object: &corev1.Pod{}, List: &corev1.ListPodsResponse{}}}
	_, docs, err := Build(res, KubernetesNames, nil, "Kubernetes", "v1.34.0")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(docs["api/v1"].JSON, &d); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ def, field, strategy, key string }{
		{"io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"},
		{"io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", "name"},
		{"io.k8s.api.core.v1.Container", "ports", "merge", "containerPort"},
		{"io.k8s.api.core.v1.Container", "env", "merge", "name"},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "merge", "uid"},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "merge", ""},
		{"io.k8s.api.core.v1.Container", "args", "", ""},
	}
	for _, tc := range tests {
		p := d.Components.Schemas[tc.def].Properties[tc.field]
		if p == nil {
			t.Errorf("%s has no %s", tc.def, tc.field)
			continue
		}
		s, _ := p["x-kubernetes-patch-strategy"].(string)
		k, _ := p["x-kubernetes-patch-merge-key"].(string)
		if s != tc.strategy || k != tc.key {
			t.Errorf("%s.%s: strategy %q key %q, want %q %q", tc.def, tc.field, s, k, tc.strategy, tc.key)
		}
	}
}

// TestDescriptions: schemas and their properties carry the descriptions
// kubectl explain prints.
func TestDescriptions(t *testing.T) {
	res := []Resource{{Version: "v1", Plural: "configmaps", Kind: "ConfigMap", Namespaced: true,
		Verbs: []string{"get", "list"}, Object: &corev1.ConfigMap{}, List: &corev1.ListConfigMapsResponse{}}}
	describe := Descriptions(map[protoreflect.FullName]string{
		"portico.core.v1.ConfigMap":              "ConfigMap holds configuration data for pods to consume.",
		"portico.core.v1.ConfigMap.data":         "Data contains the configuration data.",
		"portico.core.v1.ConfigMap.metadata":     "Standard object's metadata.",
		"portico.core.v1.ListConfigMapsResponse": "ConfigMapList is a resource containing a list of ConfigMap objects.",
		"google.protobuf.Timestamp":              "Time is a wrapper around time.Time.",
	})
	_, docs, err := Build(res, KubernetesNames, describe, "Kubernetes", "v1.34.0")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Components struct {
			Schemas map[string]struct {
				Description string `json:"description"`
				Properties  map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(docs["api/v1"].JSON, &d); err != nil {
		t.Fatal(err)
	}
	s := d.Components.Schemas
	tests := map[string]struct{ got, want string }{
		"type":              {s["io.k8s.api.core.v1.ConfigMap"].Description, "ConfigMap holds configuration data for pods to consume."},
		"field":             {s["io.k8s.api.core.v1.ConfigMap"].Properties["data"].Description, "Data contains the configuration data."},
		"message field":     {s["io.k8s.api.core.v1.ConfigMap"].Properties["metadata"].Description, "Standard object's metadata."},
		"kind":              {s["io.k8s.api.core.v1.ConfigMap"].Properties["kind"].Description, descKind},
		"list":              {s["io.k8s.api.core.v1.ConfigMapList"].Description, "ConfigMapList is a resource containing a list of ConfigMap objects."},
		"own JSON form":     {s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"].Description, "Time is a wrapper around time.Time."},
		"none is not there": {s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].Description, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("description %q, want %q", tc.got, tc.want)
			}
		})
	}
	if special["google.protobuf.Timestamp"]["description"] != nil {
		t.Error("a description was written into the shared table of special schemas")
	}
}
