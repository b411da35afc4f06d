package kjson

import (
	"reflect"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// special marks messages that are not written field by field.
type special uint8

const (
	specNone        special = iota
	specTimestamp           // google.protobuf.Timestamp: RFC 3339 string, as meta/v1 Time
	specStruct              // google.protobuf.Struct: any JSON object
	specValue               // google.protobuf.Value: any JSON value
	specListValue           // google.protobuf.ListValue: any JSON array
	specProtoJSON           // other well-known types (Any, Duration, wrappers...): protojson's form
	specIntOrString         // EncodingIntOrString
	specQuantity            // EncodingQuantity
	specMicroTime           // EncodingMicroTime
	specRawJSON             // EncodingRawJSON
	specItems               // EncodingItems
	specDuration            // EncodingDuration
)

var specialOfEncoding = map[Encoding]special{
	EncodingIntOrString: specIntOrString,
	EncodingQuantity:    specQuantity,
	EncodingMicroTime:   specMicroTime,
	EncodingRawJSON:     specRawJSON,
	EncodingItems:       specItems,
	EncodingDuration:    specDuration,
}

// specialFor is how messages of md are written: a well-known type's form, a
// registered Encoding, or field by field.
func (t *Types) specialFor(md protoreflect.MessageDescriptor) special {
	if sp := specialOf(md); sp != specNone {
		return sp
	}
	if t != nil {
		if typ := t.byName[md.FullName()]; typ != nil && typ.Encoding != "" {
			return specialOfEncoding[typ.Encoding]
		}
	}
	return specNone
}

// fieldPlan is what the encoder and decoder need of one field, computed once
// per message type.
type fieldPlan struct {
	fd     protoreflect.FieldDescriptor
	index  int    // position in msgPlan.fields (declaration order)
	name   string // the JSON name
	key    []byte // `"name":`
	always bool   // AlwaysEmit
	object bool   // Objects: written with kind and apiVersion
	null   bool   // EmitNull: null when unset or empty
	// zeroUnset is set for a singular Timestamp, MicroTime or RawJSON
	// field, whose zero value counts as unset, as a zero meta/v1 Time does
	// (and an empty FieldsV1, which would read back as unset).
	zeroUnset bool
	// inline is the plan of an Inline field's message, whose fields are
	// the parent's own.
	inline *msgPlan
	// goIndex is, for a map<string, string|bytes> field of a generated
	// message, the index of its Go struct field (read directly, without
	// protoreflect's per-entry conversions); -1 otherwise.
	goIndex int
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
	goType   reflect.Type // the generated Go type (pointer), for goIndex
	// inlined are the fields of Inline fields, by JSON name.
	inlined map[string]inlineRef
}

// inlineRef is a field written as its parent's own: f of the message
// reached through the Inline fields via.
type inlineRef struct {
	via   []*fieldPlan
	owner *msgPlan
	f     *fieldPlan
}

// defaultTypes is the empty registry of a nil *Types.
var defaultTypes = &Types{byName: map[protoreflect.FullName]*Type{}, byKind: map[kindKey]protoreflect.FullName{}}

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
	p := &msgPlan{md: md, special: t.specialFor(md), goName: goMessageName(md)}
	typ := t.byName[md.FullName()]
	p.typeInfo = typ
	always := map[string]bool{}
	null := map[string]bool{}
	objects := map[string]bool{}
	inline := map[string]bool{}
	if typ != nil {
		for _, n := range typ.AlwaysEmit {
			always[n] = true
		}
		for _, n := range typ.EmitNull {
			always[n], null[n] = true, true
		}
		for _, n := range typ.Objects {
			objects[n] = true
		}
		for _, n := range typ.Inline {
			inline[n] = true
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
		*f = fieldPlan{fd: fd, index: i, name: name, always: always[name], null: null[name], object: objects[name], goIndex: -1}
		f.key = append(appendString(nil, name), ':')
		if !fd.IsList() && !fd.IsMap() && fd.Message() != nil {
			if sp := t.specialFor(fd.Message()); sp == specTimestamp || sp == specMicroTime || sp == specRawJSON {
				f.zeroUnset = true
			}
			if inline[name] {
				f.inline = t.plan(fd.Message())
				continue
			}
		}
		p.byName[name] = f
		if name == "kind" || name == "apiVersion" {
			p.takesTM = false
		}
	}
	for i := range p.fields {
		f := &p.fields[i]
		if f.inline == nil {
			continue
		}
		if p.inlined == nil {
			p.inlined = map[string]inlineRef{}
		}
		for name, sf := range f.inline.byName {
			p.inlined[name] = inlineRef{via: []*fieldPlan{f}, owner: f.inline, f: sf}
		}
		for name, ref := range f.inline.inlined {
			p.inlined[name] = inlineRef{via: append([]*fieldPlan{f}, ref.via...), owner: ref.owner, f: ref.f}
		}
	}
	for name := range p.inlined {
		if name == "kind" || name == "apiVersion" {
			p.takesTM = false
		}
	}
	p.findGoMaps()
	return p
}

// findGoMaps finds the Go struct fields of string-keyed maps of strings or
// bytes (labels, annotations, data) in the generated type of p.md.
func (p *msgPlan) findGoMaps() {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(p.md.FullName())
	if err != nil || mt.Descriptor() != p.md {
		return
	}
	goType := reflect.TypeOf(mt.Zero().Interface())
	if goType.Kind() != reflect.Pointer || goType.Elem().Kind() != reflect.Struct {
		return
	}
	st := goType.Elem()
	for i := range p.fields {
		f := &p.fields[i]
		fd := f.fd
		if !fd.IsMap() || fd.MapKey().Kind() != protoreflect.StringKind {
			continue
		}
		var want reflect.Type
		switch fd.MapValue().Kind() {
		case protoreflect.StringKind:
			want = reflect.TypeFor[map[string]string]()
		case protoreflect.BytesKind:
			want = reflect.TypeFor[map[string][]byte]()
		default:
			continue
		}
		for j := 0; j < st.NumField(); j++ {
			sf := st.Field(j)
			if sf.IsExported() && sf.Type == want && tagName(sf.Tag.Get("protobuf")) == string(fd.Name()) {
				f.goIndex = j
				p.goType = goType
				break
			}
		}
	}
}

// tagName is the name= part of a protobuf struct tag.
func tagName(tag string) string {
	for _, part := range strings.Split(tag, ",") {
		if name, ok := strings.CutPrefix(part, "name="); ok {
			return name
		}
	}
	return ""
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
