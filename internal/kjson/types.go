package kjson

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Type says how the messages of one proto type look in Kubernetes JSON.
// Every field is optional: a Type with only AlwaysEmit set describes a
// nested structure (an OwnerReference), one with Kind and APIVersion a
// top-level object (a Namespace, a NamespaceList, a Status).
type Type struct {
	// APIVersion and Kind are written first ("kind", then "apiVersion")
	// when a message of this type is the top-level value or an embedded
	// object (see Objects), and checked against the body's when one is
	// decoded.
	APIVersion string
	Kind       string
	// AcceptAPIVersions are further apiVersions a body may name for this
	// kind (DeleteOptions is accepted as "v1" and "meta.k8s.io/v1").
	AcceptAPIVersions []string
	// AlwaysEmit are the JSON names of fields written even when empty: the
	// non-pointer structs and the fields without omitempty of the Go type
	// (a list's "metadata" and "items", a Status's "metadata", an
	// OwnerReference's "name"). An unset message is written as its zero
	// value ({}, null for a Timestamp or MicroTime, "0" for a Quantity), a
	// list as [], a map as {}, an unset optional scalar as null, another
	// scalar as its zero.
	AlwaysEmit []string
	// EmitNull are the AlwaysEmit fields written as null when unset or
	// empty: those whose Go type is a pointer, slice or map (a Role's
	// "rules"). Listing a field here is enough to have it always written.
	EmitNull []string
	// Objects are the JSON names of message fields holding a whole object
	// (a runtime.Object, as a watch event's "object"), or a list of them
	// (a PartialObjectMetadataList's "items"), written with their own kind
	// and apiVersion.
	Objects []string
	// Inline are the JSON names of message fields whose fields Kubernetes
	// JSON writes and reads as the parent's own (Go structs embedded with
	// json:",inline", as a Volume's volumeSource).
	Inline []string
	// Encoding is set for a message that is not a JSON object of its
	// fields (IntOrString, Quantity, MicroTime, FieldsV1).
	Encoding Encoding
}

// Encoding is the Kubernetes JSON form of a message that is not an object
// of its fields. The names are those of internal/resources' table.
type Encoding string

// The encodings.
const (
	// EncodingIntOrString: fields type (0 int, 1 string), int_val and
	// str_val; a JSON number (int_val) when type is 0, else a string.
	EncodingIntOrString Encoding = "IntOrString"
	// EncodingQuantity: one string field, as a JSON string ("0" when
	// empty); a JSON number is read as its text.
	EncodingQuantity Encoding = "Quantity"
	// EncodingMicroTime: seconds and nanos, as RFC 3339 with six
	// fractional digits in UTC (meta/v1 MicroTime); null when zero.
	EncodingMicroTime Encoding = "MicroTime"
	// EncodingRawJSON: one bytes field holding JSON, written inline
	// (compacted, HTML-escaped, as encoding/json does); null when empty.
	EncodingRawJSON Encoding = "RawJSON"
	// EncodingItems: one repeated field, as a bare JSON array.
	EncodingItems Encoding = "Items"
	// EncodingDuration: one int64 field of nanoseconds, as a Go duration
	// string ("1h2m3s"), as meta/v1 Duration.
	EncodingDuration Encoding = "Duration"
)

// Types is the registry of Kubernetes JSON shapes, keyed by the message's
// full name. It is immutable once made (NewTypes, With), so it is safe for
// concurrent use and one registry may be shared by every marshaler.
type Types struct {
	byName map[protoreflect.FullName]*Type
	byKind map[kindKey]protoreflect.FullName
	plans  sync.Map // protoreflect.MessageDescriptor → *msgPlan
}

type kindKey struct{ apiVersion, kind string }

// Entry says how messages of Msg's type look.
type Entry struct {
	Msg  proto.Message
	Type Type
}

// NewTypes returns the registry of entries. It fails when a field named in
// AlwaysEmit or Objects does not exist (Objects: is not a message or
// repeated message field), when only one of Kind and APIVersion is set, or when a kind is
// given to two messages.
func NewTypes(entries ...Entry) (*Types, error) {
	t := &Types{byName: map[protoreflect.FullName]*Type{}, byKind: map[kindKey]protoreflect.FullName{}}
	for _, e := range entries {
		if err := t.register(e.Msg, e.Type); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// With returns a new registry holding t's entries and entries (which may
// replace t's): t itself is not changed.
func (t *Types) With(entries ...Entry) (*Types, error) {
	out := &Types{byName: make(map[protoreflect.FullName]*Type, len(t.byName)+len(entries)), byKind: make(map[kindKey]protoreflect.FullName, len(t.byKind))}
	for n, typ := range t.byName {
		out.byName[n] = typ
	}
	for k, n := range t.byKind {
		out.byKind[k] = n
	}
	for _, e := range entries {
		if err := out.register(e.Msg, e.Type); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// register records one entry while the registry is being made.
func (t *Types) register(msg proto.Message, typ Type) error {
	md := msg.ProtoReflect().Descriptor()
	if (typ.Kind == "") != (typ.APIVersion == "") {
		return fmt.Errorf("kjson: %s: Kind and APIVersion must be set together", md.FullName())
	}
	if typ.Kind == "" && len(typ.AcceptAPIVersions) > 0 {
		return fmt.Errorf("kjson: %s: AcceptAPIVersions without a Kind", md.FullName())
	}
	for _, name := range typ.AlwaysEmit {
		if md.Fields().ByJSONName(name) == nil {
			return fmt.Errorf("kjson: %s: AlwaysEmit names no field %q", md.FullName(), name)
		}
	}
	for _, name := range typ.EmitNull {
		if md.Fields().ByJSONName(name) == nil {
			return fmt.Errorf("kjson: %s: EmitNull names no field %q", md.FullName(), name)
		}
	}
	for _, name := range typ.Objects {
		fd := md.Fields().ByJSONName(name)
		if fd == nil || fd.Message() == nil || fd.IsMap() {
			return fmt.Errorf("kjson: %s: Objects names no message field %q", md.FullName(), name)
		}
	}
	for _, name := range typ.Inline {
		fd := md.Fields().ByJSONName(name)
		if fd == nil || fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return fmt.Errorf("kjson: %s: Inline names no singular message field %q", md.FullName(), name)
		}
	}
	if err := checkEncoding(md, typ.Encoding); err != nil {
		return err
	}
	if typ.Kind != "" {
		for _, v := range append([]string{typ.APIVersion}, typ.AcceptAPIVersions...) {
			// A kind names its first message (a list kind is both the List
			// and the DeleteCollection response).
			if _, ok := t.byKind[kindKey{v, typ.Kind}]; !ok {
				t.byKind[kindKey{v, typ.Kind}] = md.FullName()
			}
		}
	}
	c := typ
	c.AcceptAPIVersions = append([]string(nil), typ.AcceptAPIVersions...)
	c.AlwaysEmit = append([]string(nil), typ.AlwaysEmit...)
	c.EmitNull = append([]string(nil), typ.EmitNull...)
	c.Objects = append([]string(nil), typ.Objects...)
	c.Inline = append([]string(nil), typ.Inline...)
	t.byName[md.FullName()] = &c
	t.plans.Clear()
	return nil
}

// checkEncoding checks that md has the fields enc needs.
func checkEncoding(md protoreflect.MessageDescriptor, enc Encoding) error {
	fields := md.Fields()
	only := func(kind protoreflect.Kind, list bool) bool {
		return fields.Len() == 1 && fields.Get(0).Kind() == kind && fields.Get(0).IsList() == list && !fields.Get(0).IsMap()
	}
	ok := true
	switch enc {
	case "":
	case EncodingIntOrString:
		typ, i, s := fields.ByName("type"), fields.ByName("int_val"), fields.ByName("str_val")
		ok = typ != nil && i != nil && s != nil && !typ.IsList() && !i.IsList() && !s.IsList() &&
			typ.Kind() == protoreflect.Int64Kind && i.Kind() == protoreflect.Int32Kind && s.Kind() == protoreflect.StringKind
	case EncodingQuantity:
		ok = only(protoreflect.StringKind, false)
	case EncodingMicroTime:
		sec, nanos := fields.ByNumber(1), fields.ByNumber(2)
		ok = sec != nil && nanos != nil && sec.Kind() == protoreflect.Int64Kind && nanos.Kind() == protoreflect.Int32Kind
	case EncodingRawJSON:
		ok = only(protoreflect.BytesKind, false)
	case EncodingItems:
		ok = fields.Len() == 1 && fields.Get(0).IsList()
	case EncodingDuration:
		ok = only(protoreflect.Int64Kind, false)
	default:
		return fmt.Errorf("kjson: %s: unknown Encoding %q", md.FullName(), enc)
	}
	if !ok {
		return fmt.Errorf("kjson: %s does not have the fields Encoding %s needs", md.FullName(), enc)
	}
	return nil
}

// Lookup returns the Type registered for a message full name.
func (t *Types) Lookup(name protoreflect.FullName) (Type, bool) {
	if t == nil {
		return Type{}, false
	}
	typ, ok := t.byName[name]
	if !ok {
		return Type{}, false
	}
	return *typ, true
}

// KindOf returns the apiVersion and kind registered for a message type, or
// empty strings.
func (t *Types) KindOf(md protoreflect.MessageDescriptor) (apiVersion, kind string) {
	typ, _ := t.Lookup(md.FullName())
	return typ.APIVersion, typ.Kind
}

// CheckKind checks the apiVersion and kind a body names against the type it
// is decoded into, filling what the body left out from the target as
// kube-apiserver does. It returns the resulting apiVersion and kind, and an
// error worded like kube-apiserver's when they name another type. A target
// without a registered kind accepts anything.
func (t *Types) CheckKind(target protoreflect.MessageDescriptor, apiVersion, kind string) (string, string, error) {
	typ, ok := t.Lookup(target.FullName())
	if !ok || typ.Kind == "" {
		return apiVersion, kind, nil
	}
	if kind == "" {
		kind = typ.Kind
	}
	if apiVersion == "" {
		apiVersion = typ.APIVersion
	}
	if kind == typ.Kind {
		if apiVersion == typ.APIVersion {
			return apiVersion, kind, nil
		}
		for _, v := range typ.AcceptAPIVersions {
			if v == apiVersion {
				return apiVersion, kind, nil
			}
		}
	}
	if other, known := t.byKind[kindKey{apiVersion, kind}]; known {
		otherVersion := apiVersion
		if otyp, ok := t.Lookup(other); ok {
			otherVersion = otyp.APIVersion
		}
		return apiVersion, kind, fmt.Errorf("converting (%s.%s) to (%s.%s): unknown conversion",
			versionPart(otherVersion), kind, "core", typ.Kind)
	}
	return apiVersion, kind, fmt.Errorf("no kind %q is registered for version %q", kind, apiVersion)
}

func versionPart(apiVersion string) string {
	for i := len(apiVersion) - 1; i >= 0; i-- {
		if apiVersion[i] == '/' {
			return apiVersion[i+1:]
		}
	}
	return apiVersion
}

// targetKind is the kind named in decoding errors for a target type: the
// registered kind, else the message name.
func (t *Types) targetKind(md protoreflect.MessageDescriptor) (kind string, registered bool) {
	if typ, ok := t.Lookup(md.FullName()); ok && typ.Kind != "" {
		return typ.Kind, true
	}
	return string(md.Name()), false
}
