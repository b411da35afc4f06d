package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"maps"
	"slices"
	"strings"
)

// The markers of k8s.io/api's comments that say how server-side apply
// merges a field (openapi-gen turns them into kube-apiserver's
// x-kubernetes-list-type, -list-map-keys, -map-type and patch extensions,
// which structured-merge-diff reads). go-to-protobuf keeps them in
// generated.proto, so they are read from the same comments as the docs.

// fieldMarkers are the markers of one field (or, for StructType, of a
// message).
type fieldMarkers struct {
	ListType      string
	ListMapKeys   []string
	MapType       string
	StructType    string
	PatchStrategy string
	PatchMergeKey string
	// Default is the JSON of a +default marker (ref(...) defaults, which
	// name Go constants, are left out): apply fills a list map key that
	// an element omits with it (a container port's protocol).
	Default string
}

func (f fieldMarkers) empty() bool {
	return f.ListType == "" && len(f.ListMapKeys) == 0 && f.MapType == "" && f.StructType == "" && f.PatchStrategy == "" && f.PatchMergeKey == "" && f.Default == ""
}

// readMarkers reads the apply markers of a comment. A plain marker
// (+listType=map) wins over its declarative-validation twin
// (+k8s:listType=map), which some fields carry alone.
func readMarkers(comment []string) fieldMarkers {
	plain, k8s := map[string][]string{}, map[string][]string{}
	for _, l := range comment {
		t := strings.TrimSpace(l)
		into := plain
		if rest, ok := strings.CutPrefix(t, "+k8s:"); ok {
			t, into = "+"+rest, k8s
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(t, "+"), "=")
		if !ok || !strings.HasPrefix(t, "+") {
			continue
		}
		switch key {
		case "default":
			if !json.Valid([]byte(value)) {
				continue
			}
			fallthrough
		case "listType", "listMapKey", "mapType", "structType", "patchStrategy", "patchMergeKey":
			if !slices.Contains(into[key], value) {
				into[key] = append(into[key], value)
			}
		}
	}
	get := func(key string) []string {
		if v, ok := plain[key]; ok {
			return v
		}
		return k8s[key]
	}
	first := func(key string) string {
		if v := get(key); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return fieldMarkers{
		ListType: first("listType"), ListMapKeys: get("listMapKey"), MapType: first("mapType"),
		StructType: first("structType"), PatchStrategy: first("patchStrategy"), PatchMergeKey: first("patchMergeKey"),
		Default: first("default"),
	}
}

// markersGo writes internal/resources/zz_generated_markers.go.
func markersGo(m *model) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("%s", strings.TrimSuffix(header, "\n"))
	p(`
package resources

import "google.golang.org/protobuf/reflect/protoreflect"

// Markers are the markers of k8s.io/api's comments that say how
// server-side apply merges a field: +listType (atomic, set, map) with
// +listMapKey, +mapType and +structType (atomic, granular), and the
// strategic merge patch's +patchStrategy and +patchMergeKey, which
// decide for lists without a listType, as in kube-apiserver's OpenAPI.
type Markers struct {
	ListType      string
	ListMapKeys   []string
	MapType       string
	StructType    string
	PatchStrategy string
	PatchMergeKey string
	// Default is the JSON of the field's +default: apply fills a list map
	// key that an element omits with it (a container port's protocol).
	Default string
}

// FieldMarkers returns, per message full name, the Markers of its fields
// by JSON name (fields without markers are left out).
func FieldMarkers() map[protoreflect.FullName]map[string]Markers {
	return map[protoreflect.FullName]map[string]Markers{`)
	lit := func(f fieldMarkers) string {
		var parts []string
		add := func(name, v string) {
			if v != "" {
				parts = append(parts, fmt.Sprintf("%s: %q", name, v))
			}
		}
		add("ListType", f.ListType)
		if len(f.ListMapKeys) > 0 {
			parts = append(parts, "ListMapKeys: "+goStrings(f.ListMapKeys))
		}
		add("MapType", f.MapType)
		add("StructType", f.StructType)
		add("PatchStrategy", f.PatchStrategy)
		add("PatchMergeKey", f.PatchMergeKey)
		add("Default", f.Default)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	structs := map[string]string{}
	for _, n := range m.sortedNames() {
		msg := m.messages[n]
		if msg.Opaque {
			continue
		}
		if st := readMarkers(msg.K8s.Comment).StructType; st != "" {
			structs[msg.FullName()] = st
		}
		var lines []string
		for _, f := range msg.Fields {
			if fm := readMarkers(f.K8s.Comment); !fm.empty() {
				lines = append(lines, fmt.Sprintf("\t\t\t%q: %s,", f.JSONName, lit(fm)))
			}
		}
		if len(lines) == 0 {
			continue
		}
		p("\t\t%q: {", msg.FullName())
		for _, l := range lines {
			p("%s", l)
		}
		p("\t\t},")
	}
	p("\t}\n}\n")
	p(`// StructTypes returns the messages with a +structType marker (atomic:
// applied and owned as one value, as a LocalObjectReference).
func StructTypes() map[protoreflect.FullName]string {
	return map[protoreflect.FullName]string{`)
	for _, n := range slices.Sorted(maps.Keys(structs)) {
		p("\t\t%q: %q,", n, structs[n])
	}
	p("\t}\n}")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting zz_generated_markers.go: %w\n%s", err, b.Bytes())
	}
	return src, nil
}
