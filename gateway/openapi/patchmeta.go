package openapi

import (
	"reflect"
	"strings"

	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// kubectl apply computes its strategic merge patch from the OpenAPI
// schema: without x-kubernetes-patch-strategy and
// x-kubernetes-patch-merge-key on a list it treats the list as atomic and
// sends it whole, so an item removed from the manifest is never deleted
// (the server merges the list by its key). These extensions come from the
// same place kube-apiserver's come from: the patchStrategy and
// patchMergeKey tags of the k8s.io/api Go types the protos mirror.

// patchExtensions maps a definition name (io.k8s.api.core.v1.PodSpec) to
// its fields' patch extensions, by JSON name.
var patchExtensions = func() map[string]map[string]map[string]any {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{k8scorev1.AddToScheme, k8srbacv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	out := map[string]map[string]map[string]any{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		def := strings.ReplaceAll(strings.Replace(t.PkgPath(), "k8s.io/", "io.k8s.", 1), "/", ".") + "." + t.Name()
		for i := range t.NumField() {
			f := t.Field(i)
			walk(f.Type)
			strategy, key := f.Tag.Get("patchStrategy"), f.Tag.Get("patchMergeKey")
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || strategy == "" && key == "" {
				continue
			}
			ext := map[string]any{}
			if strategy != "" {
				ext["x-kubernetes-patch-strategy"] = strategy
			}
			if key != "" {
				ext["x-kubernetes-patch-merge-key"] = key
			}
			if out[def] == nil {
				out[def] = map[string]map[string]any{}
			}
			out[def][name] = ext
		}
	}
	for _, t := range s.AllKnownTypes() {
		walk(t)
	}
	return out
}()
