package main

import (
	"bytes"
	"fmt"
	"go/format"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// alwaysEmit are the JSON names encoding/json writes even when empty for
// the fields of Go struct t: no omitempty (and no omitzero), or a
// non-pointer struct, which omitempty never drops.
func alwaysEmit(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, inline := parseJSONTag(sf)
		if inline || name == "-" || !sf.IsExported() {
			continue
		}
		if emitted(sf.Type, opts) {
			out = append(out, name)
		}
	}
	return out
}

func emitted(t reflect.Type, opts map[string]bool) bool {
	switch {
	case opts["omitzero"]:
		return false
	case !opts["omitempty"]:
		return true
	default:
		return t.Kind() == reflect.Struct
	}
}

func goStrings(ss []string) string {
	if len(ss) == 0 {
		return "nil"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

// k8sAlias is the import name of a k8s.io/api Go package in generated
// code: k8scorev1 for k8s.io/api/core/v1.
func k8sAlias(t reflect.Type) string {
	return "k8s" + strings.ReplaceAll(strings.TrimPrefix(t.PkgPath(), "k8s.io/api/"), "/", "")
}

// resourcesGo writes internal/resources/zz_generated.go.
func resourcesGo(m *model, svcs []*serviceDef) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("%s", strings.TrimSuffix(header, "\n"))
	p(`
// Package resources is the table of the resources Portico serves, generated
// with their protos by internal/tools/genproto: the one source of truth for
// services, gateway routes, discovery and Kubernetes JSON.
package resources

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
`)
	k8sImports := map[string]string{}
	for _, k := range kinds {
		k8sImports[k8sAlias(k.Go)] = k.Go.PkgPath()
	}
	for _, a := range slices.Sorted(maps.Keys(k8sImports)) {
		p("\t%s %q", a, k8sImports[a])
	}
	p("")
	for _, pkg := range outPackages {
		if pkg.served() {
			p("\t%s %q", pkg.GoAlias, pkg.GoPath)
		}
	}
	p(`)

// Resource is one served resource, as kube-apiserver's discovery has it.
type Resource struct {
	Group, Version, Resource, Kind, ListKind, SingularName string
	ShortNames []string
	Namespaced bool
	// Verbs are as kube-apiserver's discovery lists them: create delete
	// deletecollection get list patch update watch.
	Verbs []string
	// Subresources are served by the same service: status, binding, token,
	// finalize.
	Subresources []string
	// Service is the full gRPC service name: portico.core.v1.PodService.
	Service string
	// New returns an empty object: &corev1.Pod{}.
	New func() proto.Message
	// K8s returns an empty object of the k8s.io/api Go type: &k8scorev1.Pod{}
	// (its struct tags drive a strategic merge patch).
	K8s func() any
	// Categories are the discovery categories ("all").
	Categories []string
}

// All returns every served resource, core/v1 then rbac.authorization.k8s.io/v1,
// each group in the order of kube-apiserver's discovery.
func All() []Resource {
	return []Resource{`)
	for _, s := range svcs {
		k := s.Kind
		verbs := []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
		if k.NoDeleteCollection {
			verbs = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
		}
		var subs []string
		for _, sub := range k.Subresources {
			subs = append(subs, sub.Name)
		}
		p("\t\t{")
		p("\t\t\tGroup: %q, Version: %q, Resource: %q, Kind: %q, ListKind: %q, SingularName: %q,", k.Pkg.Group, k.Pkg.Version, k.Resource, k.Kind, k.Kind+"List", k.Singular)
		if len(k.ShortNames) > 0 {
			p("\t\t\tShortNames: %s,", goStrings(k.ShortNames))
		}
		p("\t\t\tNamespaced: %v,", k.Namespaced)
		p("\t\t\tVerbs: %s,", goStrings(verbs))
		if len(subs) > 0 {
			p("\t\t\tSubresources: %s,", goStrings(subs))
		}
		p("\t\t\tService: %q,", s.FullName())
		p("\t\t\tNew: func() proto.Message { return &%s.%s{} },", k.Pkg.GoAlias, s.Obj.Name())
		p("\t\t\tK8s: func() any { return &%s.%s{} },", k8sAlias(k.Go), k.Go.Name())
		if len(k.Categories) > 0 {
			p("\t\t\tCategories: %s,", goStrings(k.Categories))
		}
		p("\t\t},")
	}
	p("\t}\n}\n")

	// AlwaysEmit: the mirrored messages, then each kind's list, delete
	// collection and watch responses.
	emit := map[string][]string{}
	null := map[string][]string{}
	inline := map[string][]string{}
	encodings := map[string]string{}
	for _, n := range m.sortedNames() {
		msg := m.messages[n]
		if msg.Opaque {
			encodings[msg.FullName()] = msg.Encoding
			continue
		}
		for _, f := range msg.Fields {
			if f.AlwaysEmit {
				emit[msg.FullName()] = append(emit[msg.FullName()], f.JSONName)
			}
			if f.AlwaysEmit && f.Null {
				null[msg.FullName()] = append(null[msg.FullName()], f.JSONName)
			}
			if f.Inline {
				inline[msg.FullName()] = append(inline[msg.FullName()], f.JSONName)
			}
		}
		// Cross-check with the plain reflection of the Go type.
		if got, want := emit[msg.FullName()], alwaysEmit(msg.Go); fmt.Sprint(got) != fmt.Sprint(want) {
			return nil, fmt.Errorf("%s: AlwaysEmit %v from the fields, %v from the Go type", msg.FullName(), got, want)
		}
	}
	for _, s := range svcs {
		list := alwaysEmit(s.Kind.List)
		for _, r := range []string{"List" + s.Kind.PluralKind, "DeleteCollection" + s.Kind.PluralKind} {
			if rpc := s.rpc(r); rpc != nil {
				if err := checkNames(rpc.Resp, list); err != nil {
					return nil, err
				}
				emit[s.Kind.Pkg.Proto+"."+rpc.Resp.Name] = list
			}
		}
		watch := alwaysEmit(watchEvent)
		rpc := s.rpc("Watch" + s.Kind.PluralKind)
		if err := checkNames(rpc.Resp, watch); err != nil {
			return nil, err
		}
		emit[s.Kind.Pkg.Proto+"."+rpc.Resp.Name] = watch
	}
	writeMap := func(doc, name string, mp map[string][]string) {
		p("%s", doc)
		p("func %s() map[protoreflect.FullName][]string {", name)
		p("\treturn map[protoreflect.FullName][]string{")
		for _, k := range sortedKeys(mp) {
			p("\t\t%q: %s,", k, strings.TrimPrefix(goStrings(mp[k]), "[]string"))
		}
		p("\t}\n}\n")
	}
	writeMap(`// AlwaysEmit returns, per message full name, the JSON names of the fields
// encoding/json writes even when empty for the Kubernetes Go type (no
// omitempty, or a non-pointer struct, which omitempty never drops; not
// omitzero), read from k8s.io/api by reflection. List, DeleteCollection and
// Watch responses are those of the List types and of meta/v1 WatchEvent. The
// messages with their own JSON encoding (IntOrString, Quantity, MicroTime,
// FieldsV1, RawExtension) are left out.`, "AlwaysEmit", emit)
	writeMap(`// EmitNull returns, per message full name, the AlwaysEmit fields whose
// Go type is a pointer, slice or map: encoding/json writes them as null
// when unset or empty. (kube-apiserver stores objects as protobuf, which
// leaves empty lists nil, so it answers "rules": null for a Role created
// with "rules": []; lists' items are the exception, always [].)`, "EmitNull", null)
	p(`// Encoding is the Kubernetes JSON encoding of a message that does not
// follow the generic rules (a JSON object of its fields).
type Encoding string

// The encodings of Encodings.
const (`)
	var encs []string
	for _, e := range encodings {
		if !slices.Contains(encs, e) {
			encs = append(encs, e)
		}
	}
	sort.Strings(encs)
	for _, e := range encs {
		p("\t// Encoding%s: %s.", e, encodingDocs[e])
		p("\tEncoding%s Encoding = %q", e, e)
	}
	p(")\n")
	p(`// Encodings returns the messages with their own Kubernetes JSON encoding.
func Encodings() map[protoreflect.FullName]Encoding {
	return map[protoreflect.FullName]Encoding{`)
	var encNames []string
	for n := range encodings {
		encNames = append(encNames, n)
	}
	sort.Strings(encNames)
	for _, n := range encNames {
		p("\t\t%q: Encoding%s,", n, encodings[n])
	}
	p("\t}\n}\n")
	writeMap(`// Inline returns, per message full name, the JSON names of message fields
// that Kubernetes JSON inlines into their parent (Go fields embedded with
// json:",inline", as a Volume's volumeSource): their fields are written and
// read as the parent's own.`, "Inline", inline)
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting zz_generated.go: %w\n%s", err, b.Bytes())
	}
	return src, nil
}

// checkNames fails unless every JSON name is a field of msg.
func checkNames(msg *svcMessage, names []string) error {
	for _, n := range names {
		found := false
		for _, f := range msg.Fields {
			if protocJSONName(f.Name) == n {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s has no field %q", msg.Name, n)
		}
	}
	return nil
}

func sortedKeys(mp map[string][]string) []string {
	keys := make([]string, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
