package kjson

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// special marks messages that are not written field by field.
type special uint8

const (
	specNone      special = iota
	specTimestamp         // google.protobuf.Timestamp: RFC 3339 string, as meta/v1 Time
	specStruct            // google.protobuf.Struct: any JSON object
	specValue             // google.protobuf.Value: any JSON value
	specListValue         // google.protobuf.ListValue: any JSON array
	specProtoJSON         // other well-known types (Any, Duration, wrappers...): protojson's form
)

// fieldPlan is what the encoder and decoder need of one field, computed once
// per message type.
type fieldPlan struct {
	fd     protoreflect.FieldDescriptor
	index  int    // position in msgPlan.fields (declaration order)
	name   string // the JSON name
	key    []byte // `"name":`
	always bool   // AlwaysEmit
	object bool   // Objects: written with kind and apiVersion
	// timestamp is set for a singular Timestamp field, whose zero value
	// (0 seconds, 0 nanos) counts as unset, as a zero meta/v1 Time does.
	timestamp bool
}

// msgPlan is the precomputed shape of one message type.
type msgPlan struct {
	md       protoreflect.MessageDescriptor
	special  special
	fields   []fieldPlan
	byName   map[string]*fieldPlan
	head     []byte // `"kind":"K","apiVersion":"V"` for registered kinds
	kind     string
	version  string
	goName   string // "v1.ObjectMeta", as Go names the k8s type in errors
	takesTM  bool   // a top-level body may carry kind and apiVersion (no such fields)
	typeInfo *Type
}

var defaultTypes = NewTypes()

func (t *Types) plan(md protoreflect.MessageDescriptor) *msgPlan {
	if t == nil {
		t = defaultTypes
	}
	if p, ok := t.plans.Load(md); ok {
		return p.(*msgPlan)
	}
	p := t.buildPlan(md)
	actual, _ := t.plans.LoadOrStore(md, p)
	return actual.(*msgPlan)
}

func (t *Types) buildPlan(md protoreflect.MessageDescriptor) *msgPlan {
	p := &msgPlan{md: md, special: specialOf(md), goName: goMessageName(md)}
	typ := t.byName[md.FullName()]
	p.typeInfo = typ
	always := map[string]bool{}
	objects := map[string]bool{}
	if typ != nil {
		for _, n := range typ.AlwaysEmit {
			always[n] = true
		}
		for _, n := range typ.Objects {
			objects[n] = true
		}
		if typ.Kind != "" {
			p.kind, p.version = typ.Kind, typ.APIVersion
			var b []byte
			b = append(b, `"kind":`...)
			b = appendString(b, typ.Kind)
			b = append(b, `,"apiVersion":`...)
			b = appendString(b, typ.APIVersion)
			p.head = b
		}
	}
	fields := md.Fields()
	p.fields = make([]fieldPlan, fields.Len())
	p.byName = make(map[string]*fieldPlan, fields.Len())
	p.takesTM = true
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := fd.JSONName()
		f := &p.fields[i]
		*f = fieldPlan{fd: fd, index: i, name: name, always: always[name], object: objects[name]}
		f.key = append(appendString(nil, name), ':')
		if !fd.IsList() && !fd.IsMap() && fd.Message() != nil && specialOf(fd.Message()) == specTimestamp {
			f.timestamp = true
		}
		p.byName[name] = f
		if name == "kind" || name == "apiVersion" {
			p.takesTM = false
		}
	}
	return p
}

func specialOf(md protoreflect.MessageDescriptor) special {
	name := md.FullName()
	if name.Parent() != "google.protobuf" {
		return specNone
	}
	switch name.Name() {
	case "Timestamp":
		return specTimestamp
	case "Struct":
		return specStruct
	case "Value":
		return specValue
	case "ListValue":
		return specListValue
	case "Empty":
		return specNone
	}
	return specProtoJSON
}

// goMessageName is the Go name of the Kubernetes type a message mirrors, as
// encoding/json prints it in type errors: "v1.ObjectMeta".
func goMessageName(md protoreflect.MessageDescriptor) string {
	pkg := string(md.ParentFile().Package())
	if i := strings.LastIndexByte(pkg, '.'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return string(md.Name())
	}
	return pkg + "." + string(md.Name())
}

// goTypeName is the Go type encoding/json names when a JSON value does not
// fit a field (or, with elem, one element or map value of it).
func goTypeName(fd protoreflect.FieldDescriptor, elem bool) string {
	if fd.IsMap() && !elem {
		return "map[" + goTypeName(fd.MapKey(), false) + "]" + goTypeName(fd.MapValue(), false)
	}
	if fd.IsMap() {
		return goTypeName(fd.MapValue(), false)
	}
	if fd.IsList() && !elem {
		return "[]" + goScalarName(fd)
	}
	return goScalarName(fd)
}

func goScalarName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return "bool"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64"
	case protoreflect.FloatKind:
		return "float32"
	case protoreflect.DoubleKind:
		return "float64"
	case protoreflect.StringKind, protoreflect.EnumKind:
		return "string"
	case protoreflect.BytesKind:
		return "[]uint8"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if specialOf(fd.Message()) == specTimestamp {
			return "v1.Time"
		}
		return goMessageName(fd.Message())
	}
	return fd.Kind().String()
}
