package typeschema

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/yaml"

	"github.com/portico-dev/portico/internal/resources"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestServedFieldPaths checks the merge semantics of fields kubectl apply
// users meet, by the field paths of an object: lists by key (two keys for
// container ports), sets of strings, atomic lists and structs, granular
// maps.
func TestServedFieldPaths(t *testing.T) {
	s, err := Served()
	if err != nil {
		t.Fatal(err)
	}
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	tests := map[string]struct {
		gvk       schema.GroupVersionKind
		object    string
		want, not []string
	}{
		"containers by name, ports by containerPort and protocol": {pod, `
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {a: b}, finalizers: [x]}
spec:
  containers:
  - name: c
    image: i
    args: [a, b]
    ports: [{containerPort: 80}]
    env: [{name: E, valueFrom: {configMapKeyRef: {name: cm, key: k}}}]
  volumes: [{name: v, configMap: {name: cm}}]
`, []string{
			`.metadata.labels.a`,
			`.metadata.finalizers[="x"]`,
			`.spec.containers[name="c"].image`,
			`.spec.containers[name="c"].args`,
			`.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort`,
			`.spec.containers[name="c"].env[name="E"].valueFrom.configMapKeyRef`,
			`.spec.volumes[name="v"].configMap.name`,
		}, []string{
			`.spec.containers[name="c"].args[="a"]`,
			`.spec.containers[name="c"].env[name="E"].valueFrom.configMapKeyRef.name`,
		}},
		"a configmap's data is granular": {schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: null}\ndata: {k: v}\n",
			[]string{`.data.k`, `.metadata.creationTimestamp`}, nil},
		"rbac rules are atomic": {schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrules: [{verbs: [get], resources: [pods], apiGroups: ['']}]\n",
			[]string{`.rules`}, []string{`.rules[0]`}},
		"service ports by port and protocol, selector atomic": {schema.GroupVersionKind{Version: "v1", Kind: "Service"},
			"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}, ports: [{port: 80, protocol: TCP, targetPort: http}]}\n",
			[]string{`.spec.ports[port=80,protocol="TCP"].targetPort`, `.spec.selector`}, []string{`.spec.selector.app`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			typ := s.Type(tc.gvk)
			if typ == nil {
				t.Fatalf("no type for %v", tc.gvk)
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tc.object), &obj); err != nil {
				t.Fatal(err)
			}
			tv, err := typ.FromUnstructured(obj)
			if err != nil {
				t.Fatal(err)
			}
			set, err := tv.ToFieldSet()
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			set.Iterate(func(p fieldpath.Path) { paths = append(paths, p.String()) })
			has := map[string]bool{}
			for _, p := range paths {
				has[p] = true
			}
			for _, w := range tc.want {
				if !has[w] {
					t.Errorf("no path %s in\n%s", w, strings.Join(paths, "\n"))
				}
			}
			for _, n := range tc.not {
				if has[n] {
					t.Errorf("path %s should not be tracked", n)
				}
			}
		})
	}
}

// TestUnknownFieldRefused: a field the kind does not have is an error, as
// kube-apiserver's apply answers it.
func TestUnknownFieldRefused(t *testing.T) {
	s, err := Served()
	if err != nil {
		t.Fatal(err)
	}
	typ := s.Type(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	_, err = typ.FromUnstructured(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "spec": map[string]any{}})
	if err == nil || !strings.Contains(err.Error(), ".spec: field not declared in schema") {
		t.Fatalf("err = %v", err)
	}
	_, err = typ.FromUnstructured(map[string]any{"metadata": map[string]any{"finalizers": []any{"a", "a"}}})
	if err == nil {
		t.Fatal("a duplicate in a set was accepted")
	}
	if _, err := typ.FromUnstructured(map[string]any{"metadata": map[string]any{"finalizers": []any{"a", "a"}}}, typed.AllowDuplicates); err != nil {
		t.Fatalf("AllowDuplicates: %v", err)
	}
}

// TestBadMarkers: markers schemaconv refuses fail the build, naming the field.
func TestBadMarkers(t *testing.T) {
	cm := (&corev1.ConfigMap{}).ProtoReflect().Descriptor()
	meta := protoreflect.FullName("portico.core.v1.ObjectMeta")
	tests := map[string]struct {
		info Info
		want string
	}{
		"unknown list type": {Info{Markers: map[protoreflect.FullName]map[string]resources.Markers{meta: {"finalizers": {ListType: "bag"}}}},
			`portico.core.v1.ObjectMeta.finalizers: unknown listType "bag"`},
		"map list without keys": {Info{Markers: map[protoreflect.FullName]map[string]resources.Markers{meta: {"ownerReferences": {ListType: "map"}}}},
			`portico.core.v1.ObjectMeta.ownerReferences: a map list without listMapKey`},
		"unknown struct type": {Info{Structs: map[protoreflect.FullName]string{meta: "lumpy"}},
			`portico.core.v1.ObjectMeta: unknown structType "lumpy"`},
		"unknown map type": {Info{Markers: map[protoreflect.FullName]map[string]resources.Markers{cm.FullName(): {"data": {MapType: "sparse"}}}},
			`portico.core.v1.ConfigMap.data: unknown map or struct type "sparse"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New([]Kind{{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Message: cm}}, tc.info)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
