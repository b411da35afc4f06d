// Package openapi builds the OpenAPI v3 documents kube-apiserver serves at
// /openapi/v3, from the proto descriptors of the served kinds: one document
// per group-version with a path per resource operation (kubectl reads them
// to learn that the server validates fields itself, ?fieldValidation) and
// a schema per message (kubectl explain reads those).
package openapi

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Resource is one served resource.
type Resource struct {
	Group, Version, Plural, Kind string
	Namespaced                   bool
	// Verbs are the discovery verbs (get, list, watch, create, update,
	// patch, delete, deletecollection).
	Verbs []string
	// Object is an empty message of the kind; List an empty list message.
	Object, List proto.Message
	// Subresources are served under the item's path.
	Subresources []Subresource
}

// Subresource is a subresource of a Resource (status, scale, binding).
type Subresource struct {
	Name string
	// Verbs are get, update, patch or create.
	Verbs []string
	// Object is an empty message of what it takes and answers; Group,
	// Version and Kind name it (the resource's own when it is the
	// resource's object).
	Object               proto.Message
	Group, Version, Kind string
}

// Namer gives a message's definition name, e.g. "io.k8s.api.core.v1.Pod".
type Namer func(md protoreflect.MessageDescriptor) string

// Describer gives the description of a message or field by full name
// ("portico.core.v1.PodSpec.containers"); "" for none. kubectl explain
// prints them.
type Describer func(name protoreflect.FullName) string

// Descriptions is a Describer reading a table.
func Descriptions(table map[protoreflect.FullName]string) Describer {
	return func(name protoreflect.FullName) string { return table[name] }
}

// Document is one group-version's OpenAPI v3 document, already encoded.
type Document struct {
	// Path is the document's key under /openapi/v3: "api/v1",
	// "apis/rbac.authorization.k8s.io/v1".
	Path string
	JSON []byte
	// Hash is what the root lists and clients cache by.
	Hash string
}

// Build returns the documents of every group-version of resources, and
// the root document that lists them.
// describe may be nil (no descriptions).
func Build(resources []Resource, name Namer, describe Describer, title, version string) (root []byte, docs map[string]Document, err error) {
	if describe == nil {
		describe = func(protoreflect.FullName) string { return "" }
	}
	byGV := map[string][]Resource{}
	for _, r := range resources {
		byGV[gvPath(r.Group, r.Version)] = append(byGV[gvPath(r.Group, r.Version)], r)
	}
	docs = map[string]Document{}
	rootPaths := map[string]any{}
	for path, rs := range byGV {
		b := &builder{name: name, describe: describe, schemas: map[string]any{}}
		paths := map[string]any{}
		for _, r := range rs {
			b.resource(paths, r)
		}
		doc := map[string]any{
			"openapi":    "3.0.0",
			"info":       map[string]string{"title": title, "version": version},
			"paths":      paths,
			"components": map[string]any{"schemas": b.schemas},
		}
		buf, err := json.Marshal(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("openapi %s: %w", path, err)
		}
		sum := sha512.Sum512(buf)
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		docs[path] = Document{Path: path, JSON: buf, Hash: h}
		rootPaths[path] = map[string]string{"serverRelativeURL": "/openapi/v3/" + path + "?hash=" + h}
	}
	root, err = json.Marshal(map[string]any{"paths": rootPaths})
	return root, docs, err
}

func gvPath(group, version string) string {
	if group == "" {
		return "api/" + version
	}
	return "apis/" + group + "/" + version
}

type builder struct {
	name     Namer
	describe Describer
	schemas  map[string]any
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func param(name, in, typ string) map[string]any {
	p := map[string]any{"name": name, "in": in, "schema": map[string]any{"type": typ, "uniqueItems": true}}
	if in == "path" {
		p["required"] = true
	}
	return p
}

// resource adds a resource's paths and schemas.
func (b *builder) resource(paths map[string]any, r Resource) {
	objName := b.schema(r.Object.ProtoReflect().Descriptor())
	listName := b.schemaNamed(r.List.ProtoReflect().Descriptor(), listDefName(objName, r.Kind))
	b.gvk(objName, r.Group, r.Version, r.Kind)
	b.gvk(listName, r.Group, r.Version, r.Kind+"List")
	statusName := b.schemaByName("io.k8s.apimachinery.pkg.apis.meta.v1.Status")
	gvk := map[string]string{"group": r.Group, "version": r.Version, "kind": r.Kind}
	prefix := "/" + gvPath(r.Group, r.Version)
	collection := prefix + "/" + r.Plural
	if r.Namespaced {
		collection = prefix + "/namespaces/{namespace}/" + r.Plural
	}
	item := collection + "/{name}"
	has := map[string]bool{}
	for _, v := range r.Verbs {
		has[v] = true
	}
	content := func(name string) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": ref(name)}}
	}
	op := func(action, id string, params []any, body string, resp string) map[string]any {
		o := map[string]any{
			"operationId":                     id,
			"parameters":                      params,
			"responses":                       map[string]any{"200": map[string]any{"content": content(resp)}},
			"x-kubernetes-action":             action,
			"x-kubernetes-group-version-kind": gvk,
		}
		if body != "" {
			o["requestBody"] = map[string]any{"content": map[string]any{"*/*": map[string]any{"schema": ref(body)}}, "required": true}
		}
		return o
	}
	write := []any{param("dryRun", "query", "string"), param("fieldManager", "query", "string"), param("fieldValidation", "query", "string")}
	// patch is a PATCH operation taking the patch media types (the three
	// every kind takes, plus more).
	patch := func(id, name string, more ...string) map[string]any {
		p := op("patch", id, append(write, param("force", "query", "boolean")), "", name)
		content := map[string]any{}
		for _, t := range append([]string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}, more...) {
			content[t] = map[string]any{"schema": map[string]any{"type": "object"}}
		}
		p["requestBody"] = map[string]any{"content": content, "required": true}
		return p
	}
	list := []any{param("labelSelector", "query", "string"), param("fieldSelector", "query", "string"), param("limit", "query", "integer"),
		param("continue", "query", "string"), param("resourceVersion", "query", "string"), param("watch", "query", "boolean"),
		param("timeoutSeconds", "query", "integer"), param("allowWatchBookmarks", "query", "boolean")}
	coll := map[string]any{}
	it := map[string]any{}
	if has["list"] {
		coll["get"] = op("list", "list"+r.Kind, list, "", listName)
	}
	if has["create"] {
		coll["post"] = op("post", "create"+r.Kind, write, objName, objName)
	}
	if has["deletecollection"] {
		coll["delete"] = op("deletecollection", "deleteCollection"+r.Kind, nil, "", statusName)
	}
	if has["get"] {
		it["get"] = op("get", "read"+r.Kind, nil, "", objName)
	}
	if has["update"] {
		it["put"] = op("put", "replace"+r.Kind, write, objName, objName)
	}
	if has["patch"] {
		it["patch"] = patch("patch"+r.Kind, objName, "application/apply-patch+yaml")
	}
	if has["delete"] {
		it["delete"] = op("delete", "delete"+r.Kind, []any{param("dryRun", "query", "string"), param("gracePeriodSeconds", "query", "integer"), param("propagationPolicy", "query", "string")}, "", objName)
	}
	pathParams := []any{}
	if r.Namespaced {
		pathParams = append(pathParams, param("namespace", "path", "string"))
	}
	for _, sub := range r.Subresources {
		subName := b.schema(sub.Object.ProtoReflect().Descriptor())
		b.gvk(subName, sub.Group, sub.Version, sub.Kind)
		id := r.Kind + strings.ToUpper(sub.Name[:1]) + sub.Name[1:]
		ops := map[string]any{}
		for _, v := range sub.Verbs {
			switch v {
			case "get":
				ops["get"] = op("get", "read"+id, nil, "", subName)
			case "update":
				ops["put"] = op("put", "replace"+id, write, subName, subName)
			case "patch":
				// An apply patch to a subresource is not served.
				ops["patch"] = patch("patch"+id, subName)
			case "create":
				ops["post"] = op("post", "create"+id, write, subName, subName)
			}
		}
		for _, o := range ops {
			o.(map[string]any)["x-kubernetes-group-version-kind"] = map[string]string{"group": sub.Group, "version": sub.Version, "kind": sub.Kind}
		}
		if len(ops) > 0 {
			ops["parameters"] = append(append([]any{}, param("name", "path", "string")), pathParams...)
			paths[item+"/"+sub.Name] = ops
		}
	}
	if len(coll) > 0 {
		coll["parameters"] = pathParams
		paths[collection] = coll
	}
	if len(it) > 0 {
		it["parameters"] = append(append([]any{}, param("name", "path", "string")), pathParams...)
		paths[item] = it
	}
}

// gvk marks a definition as the schema of a kind.
func (b *builder) gvk(name, group, version, kind string) {
	if s, ok := b.schemas[name].(map[string]any); ok {
		s["x-kubernetes-group-version-kind"] = []map[string]string{{"group": group, "version": version, "kind": kind}}
	}
}

func (b *builder) schemaByName(name string) string {
	if _, ok := b.schemas[name]; !ok {
		b.schemas[name] = map[string]any{"type": "object"}
	}
	return name
}

// special are the messages with a JSON form of their own.
var special = map[protoreflect.FullName]map[string]any{
	"google.protobuf.Timestamp":    {"type": "string", "format": "date-time"},
	"portico.core.v1.MicroTime":    {"type": "string", "format": "date-time"},
	"portico.core.v1.IntOrString":  {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": true},
	"portico.core.v1.Quantity":     {"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}},
	"portico.core.v1.FieldsV1":     {"type": "object"},
	"portico.core.v1.RawExtension": {"type": "object"},
}

// listDefName is a list kind's definition name beside its item's:
// io.k8s.api.core.v1.Pod → io.k8s.api.core.v1.PodList.
func listDefName(objName, kind string) string {
	return strings.TrimSuffix(objName, kind) + kind + "List"
}

// schema adds md's definition (and those it refers to) and returns its name.
func (b *builder) schema(md protoreflect.MessageDescriptor) string {
	return b.schemaNamed(md, b.name(md))
}

func (b *builder) schemaNamed(md protoreflect.MessageDescriptor, name string) string {
	if _, done := b.schemas[name]; done {
		return name
	}
	if s, ok := special[md.FullName()]; ok {
		c := make(map[string]any, len(s)+1)
		for k, v := range s {
			c[k] = v
		}
		if d := b.describe(md.FullName()); d != "" {
			c["description"] = d
		}
		b.schemas[name] = c
		return name
	}
	props := map[string]any{}
	schema := map[string]any{"type": "object", "properties": props}
	if d := b.describe(md.FullName()); d != "" {
		schema["description"] = d
	}
	b.schemas[name] = schema
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		p := b.field(fd)
		for k, v := range patchExtensions[name][fd.JSONName()] {
			p[k] = v
		}
		if d := b.describe(fd.FullName()); d != "" {
			p["description"] = d
		}
		props[fd.JSONName()] = p
	}
	if isObject(md) {
		props["apiVersion"] = map[string]any{"type": "string", "description": descAPIVersion}
		props["kind"] = map[string]any{"type": "string", "description": descKind}
	}
	return name
}

// The descriptions of meta/v1 TypeMeta's fields, which every object has.
const (
	descAPIVersion = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
	descKind       = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)

// isObject reports whether md is a top-level object or list (it has
// metadata), so it carries kind and apiVersion.
func isObject(md protoreflect.MessageDescriptor) bool {
	return md.Fields().ByName("metadata") != nil
}

func (b *builder) field(fd protoreflect.FieldDescriptor) map[string]any {
	if fd.IsMap() {
		return map[string]any{"type": "object", "additionalProperties": b.value(fd.MapValue())}
	}
	if fd.IsList() {
		return map[string]any{"type": "array", "items": b.value(fd)}
	}
	return b.value(fd)
}

// value is the schema of one value of fd (an element for lists and maps).
func (b *builder) value(fd protoreflect.FieldDescriptor) map[string]any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		n := b.schema(fd.Message())
		if _, ok := special[fd.Message().FullName()]; ok {
			return ref(n)
		}
		return map[string]any{"allOf": []any{ref(n)}}
	case protoreflect.StringKind, protoreflect.EnumKind:
		return map[string]any{"type": "string"}
	case protoreflect.BytesKind:
		return map[string]any{"type": "string", "format": "byte"}
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return map[string]any{"type": "integer", "format": "int32"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return map[string]any{"type": "integer", "format": "int64"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return map[string]any{"type": "number", "format": "double"}
	}
	return map[string]any{}
}

// SortedPaths lists the documents' paths, for discovery of the root.
func SortedPaths(docs map[string]Document) []string {
	out := make([]string, 0, len(docs))
	for p := range docs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// otherGroupTypes are the messages of other groups that Portico's core
// package holds (the objects of subresources), with their k8s package.
var otherGroupTypes = map[protoreflect.Name]string{
	"TokenRequest": "authentication.v1", "TokenRequestSpec": "authentication.v1", "TokenRequestStatus": "authentication.v1",
	"BoundObjectReference": "authentication.v1",
	"Scale":                "autoscaling.v1", "ScaleSpec": "autoscaling.v1", "ScaleStatus": "autoscaling.v1",
}

// metaTypes are the messages of k8s.io/apimachinery's meta/v1 that
// portico.core.v1 carries.
var metaTypes = map[protoreflect.Name]bool{
	"ObjectMeta": true, "ListMeta": true, "OwnerReference": true, "ManagedFieldsEntry": true,
	"FieldsV1": true, "Status": true, "StatusDetails": true, "StatusCause": true,
	"DeleteOptions": true, "Preconditions": true, "LabelSelector": true,
	"LabelSelectorRequirement": true, "MicroTime": true,
}

// KubernetesNames names messages as kube-apiserver names their Go types:
// portico.core.v1.Pod is io.k8s.api.core.v1.Pod, portico.rbac.v1.Role is
// io.k8s.api.rbac.v1.Role, the meta/v1 types and the well-known wrappers
// keep their apimachinery names.
func KubernetesNames(md protoreflect.MessageDescriptor) string {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
	case "portico.core.v1.IntOrString":
		return "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	case "portico.core.v1.Quantity":
		return "io.k8s.apimachinery.pkg.api.resource.Quantity"
	case "portico.core.v1.RawExtension":
		return "io.k8s.apimachinery.pkg.runtime.RawExtension"
	}
	pkg := string(md.ParentFile().Package())
	if other, ok := otherGroupTypes[md.Name()]; ok && pkg == "portico.core.v1" {
		return "io.k8s.api." + other + "." + string(md.Name())
	}
	if pkg == "portico.core.v1" && metaTypes[md.Name()] {
		return "io.k8s.apimachinery.pkg.apis.meta.v1." + string(md.Name())
	}
	if rest, ok := strings.CutPrefix(pkg, "portico."); ok {
		return "io.k8s.api." + rest + "." + string(md.Name())
	}
	return string(md.FullName())
}
