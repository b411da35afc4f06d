// Package typeschema builds the structured-merge-diff schema of every
// served kind: what server-side apply and managedFields need to know of an
// object's JSON form (which lists merge by key, which are sets, which
// structs and maps are atomic). kube-apiserver converts its OpenAPI into
// this schema (k8s.io/kube-openapi's schemaconv); Portico builds it from
// what its OpenAPI is built from: the proto descriptors of the kinds, their
// Kubernetes JSON shape (inline fields, messages with their own encoding)
// and the apply markers of k8s.io/api's comments (internal/resources), with
// schemaconv's rules: a list is what its listType says, else a map keyed by
// its patchMergeKey when its patchStrategy merges, else atomic; a field's
// +default fills a list map key an element omits.
//
// A Schema is built once, at start, and is safe for concurrent use.
package typeschema

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/runtime/schema"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/portico-dev/portico/internal/resources"
)

// Kind is one kind to type: its group, version and kind, and its message.
type Kind struct {
	GVK     schema.GroupVersionKind
	Message protoreflect.MessageDescriptor
}

// Info is what the JSON form of the messages is made of, besides their
// descriptors; the zero value of each table means "none".
type Info struct {
	// Markers and Structs are the apply markers (resources.FieldMarkers,
	// resources.StructTypes).
	Markers map[protoreflect.FullName]map[string]resources.Markers
	Structs map[protoreflect.FullName]string
	// Inline are the fields whose fields are their parent's in JSON
	// (resources.Inline).
	Inline map[protoreflect.FullName][]string
	// Encodings are the messages with a JSON form of their own
	// (resources.Encodings).
	Encodings map[protoreflect.FullName]resources.Encoding
}

// Schema is the typed schema of a set of kinds.
type Schema struct {
	parser *typed.Parser
	kinds  map[schema.GroupVersionKind]*typed.ParseableType
}

// Type is the type of a kind's objects; nil when the kind is unknown.
func (s *Schema) Type(gvk schema.GroupVersionKind) *typed.ParseableType {
	return s.kinds[gvk]
}

// Served is the schema of every kind of the resource table, from the
// generated tables.
func Served() (*Schema, error) {
	var kinds []Kind
	for _, r := range resources.All() {
		kinds = append(kinds, Kind{
			GVK:     schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
			Message: r.New().ProtoReflect().Descriptor(),
		})
	}
	return New(kinds, Info{
		Markers:   resources.FieldMarkers(),
		Structs:   resources.StructTypes(),
		Inline:    resources.Inline(),
		Encodings: resources.Encodings(),
	})
}

// The two types schemaconv adds to every schema: any value, atomic; and
// any value, maps merged key by key (what a schema-less object is).
var (
	untypedName = "__untyped_atomic_"
	deducedName = "__untyped_deduced_"
	untyped     = smdschema.Scalar("untyped")
)

func commonTypes() []smdschema.TypeDef {
	return []smdschema.TypeDef{
		{Name: untypedName, Atom: smdschema.Atom{
			Scalar: &untyped,
			List:   &smdschema.List{ElementType: smdschema.TypeRef{NamedType: &untypedName}, ElementRelationship: smdschema.Atomic},
			Map:    &smdschema.Map{ElementType: smdschema.TypeRef{NamedType: &untypedName}, ElementRelationship: smdschema.Atomic},
		}},
		{Name: deducedName, Atom: smdschema.Atom{
			Scalar: &untyped,
			List:   &smdschema.List{ElementType: smdschema.TypeRef{NamedType: &untypedName}, ElementRelationship: smdschema.Atomic},
			Map:    &smdschema.Map{ElementType: smdschema.TypeRef{NamedType: &deducedName}, ElementRelationship: smdschema.Separable},
		}},
	}
}

// New builds the schema of kinds. It fails on markers it cannot read (an
// unknown listType, a map list without keys), as schemaconv does.
func New(kinds []Kind, info Info) (*Schema, error) {
	b := &builder{info: info, done: map[protoreflect.FullName]bool{}}
	named := map[schema.GroupVersionKind]string{}
	for _, k := range kinds {
		named[k.GVK] = b.object(k.Message)
	}
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("typeschema: %v", b.errs)
	}
	p := &typed.Parser{Schema: smdschema.Schema{Types: append(b.types, commonTypes()...)}}
	s := &Schema{parser: p, kinds: map[schema.GroupVersionKind]*typed.ParseableType{}}
	for gvk, name := range named {
		t := p.Type(name)
		if !t.IsValid() {
			return nil, fmt.Errorf("typeschema: no type %s for %v", name, gvk)
		}
		s.kinds[gvk] = &t
	}
	return s, nil
}

type builder struct {
	info  Info
	types []smdschema.TypeDef
	done  map[protoreflect.FullName]bool
	errs  []error
}

func (b *builder) fail(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

// object adds a kind's message, which also has apiVersion and kind.
func (b *builder) object(md protoreflect.MessageDescriptor) string {
	name := string(md.FullName()) + ".object"
	str := smdschema.Scalar(smdschema.String)
	fields := append(b.fields(md), smdschema.StructField{Name: "apiVersion", Type: smdschema.TypeRef{Inlined: smdschema.Atom{Scalar: &str}}},
		smdschema.StructField{Name: "kind", Type: smdschema.TypeRef{Inlined: smdschema.Atom{Scalar: &str}}})
	b.types = append(b.types, smdschema.TypeDef{Name: name, Atom: smdschema.Atom{Map: &smdschema.Map{Fields: fields}}})
	return name
}

// message adds md's definition (and those it refers to) and returns its
// name.
func (b *builder) message(md protoreflect.MessageDescriptor) string {
	name := string(md.FullName())
	if b.done[md.FullName()] {
		return name
	}
	b.done[md.FullName()] = true
	m := &smdschema.Map{}
	switch b.info.Structs[md.FullName()] {
	case "":
	case "atomic":
		m.ElementRelationship = smdschema.Atomic
	case "granular":
		m.ElementRelationship = smdschema.Separable
	default:
		b.fail("%s: unknown structType %q", name, b.info.Structs[md.FullName()])
	}
	// Added before its fields, which may refer back to it.
	b.types = append(b.types, smdschema.TypeDef{Name: name})
	i := len(b.types) - 1
	m.Fields = b.fields(md)
	b.types[i].Atom = smdschema.Atom{Map: m}
	return name
}

// fields are md's fields in JSON, inline fields' own in their place.
func (b *builder) fields(md protoreflect.MessageDescriptor) []smdschema.StructField {
	inline := map[string]bool{}
	for _, n := range b.info.Inline[md.FullName()] {
		inline[n] = true
	}
	var out []smdschema.StructField
	fds := md.Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		if inline[fd.JSONName()] && fd.Message() != nil {
			out = append(out, b.fields(fd.Message())...)
			continue
		}
		f := smdschema.StructField{Name: fd.JSONName(), Type: b.field(md, fd)}
		if d := b.info.Markers[md.FullName()][fd.JSONName()].Default; d != "" {
			if err := json.Unmarshal([]byte(d), &f.Default); err != nil {
				b.fail("%s.%s: default %s: %v", md.FullName(), fd.JSONName(), d, err)
			}
		}
		out = append(out, f)
	}
	return out
}

// field is the type of one field of md.
func (b *builder) field(md protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor) smdschema.TypeRef {
	mk := b.info.Markers[md.FullName()][fd.JSONName()]
	where := fmt.Sprintf("%s.%s", md.FullName(), fd.JSONName())
	switch {
	case fd.IsMap():
		m := &smdschema.Map{ElementType: b.value(fd.MapValue())}
		m.ElementRelationship = b.relationship(where, mk.MapType)
		return smdschema.TypeRef{Inlined: smdschema.Atom{Map: m}}
	case fd.IsList():
		l := &smdschema.List{ElementType: b.value(fd)}
		l.ElementRelationship, l.Keys = b.listRelationship(where, mk)
		return smdschema.TypeRef{Inlined: smdschema.Atom{List: l}}
	}
	ref := b.value(fd)
	if mk.StructType != "" && ref.NamedType != nil {
		rel := b.relationship(where, mk.StructType)
		ref.ElementRelationship = &rel
	}
	return ref
}

// relationship reads a mapType or structType marker.
func (b *builder) relationship(where, marker string) smdschema.ElementRelationship {
	switch marker {
	case "":
		return ""
	case "atomic":
		return smdschema.Atomic
	case "granular":
		return smdschema.Separable
	}
	b.fail("%s: unknown map or struct type %q", where, marker)
	return ""
}

// listRelationship is schemaconv's getListElementRelationship.
func (b *builder) listRelationship(where string, mk resources.Markers) (smdschema.ElementRelationship, []string) {
	switch mk.ListType {
	case "atomic":
		return smdschema.Atomic, nil
	case "set":
		return smdschema.Associative, nil
	case "map":
		if len(mk.ListMapKeys) == 0 {
			b.fail("%s: a map list without listMapKey", where)
		}
		return smdschema.Associative, mk.ListMapKeys
	case "":
	default:
		b.fail("%s: unknown listType %q", where, mk.ListType)
		return smdschema.Atomic, nil
	}
	switch mk.PatchStrategy {
	case "merge", "merge,retainKeys":
		if mk.PatchMergeKey != "" {
			return smdschema.Associative, []string{mk.PatchMergeKey}
		}
		return smdschema.Associative, nil
	}
	return smdschema.Atomic, nil
}

// value is the type of one value of fd (an element for lists and maps).
func (b *builder) value(fd protoreflect.FieldDescriptor) smdschema.TypeRef {
	scalar := func(s smdschema.Scalar) smdschema.TypeRef {
		return smdschema.TypeRef{Inlined: smdschema.Atom{Scalar: &s}}
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		md := fd.Message()
		if md.FullName() == "google.protobuf.Timestamp" {
			return scalar(untyped)
		}
		switch b.info.Encodings[md.FullName()] {
		case "":
		case resources.EncodingRawJSON:
			if md.Name() == "FieldsV1" {
				// {"type": "object"} in kube's OpenAPI: any map.
				return smdschema.TypeRef{Inlined: smdschema.Atom{Map: &smdschema.Map{ElementType: smdschema.TypeRef{NamedType: &deducedName}}}}
			}
			// RawExtension: any value, atomic.
			return smdschema.TypeRef{NamedType: &untypedName}
		case resources.EncodingItems:
			str := smdschema.Scalar(smdschema.String)
			return smdschema.TypeRef{Inlined: smdschema.Atom{List: &smdschema.List{
				ElementType: smdschema.TypeRef{Inlined: smdschema.Atom{Scalar: &str}}, ElementRelationship: smdschema.Atomic}}}
		default:
			// IntOrString, Quantity, MicroTime, Duration: strings or
			// numbers that schemaconv leaves untyped.
			return scalar(untyped)
		}
		name := b.message(md)
		return smdschema.TypeRef{NamedType: &name}
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.EnumKind:
		return scalar(smdschema.String)
	case protoreflect.BoolKind:
		return scalar(smdschema.Boolean)
	default:
		return scalar(smdschema.Numeric)
	}
}
