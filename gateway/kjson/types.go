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
	// OwnerReference's "name"). An unset message is written as {} (a
	// Timestamp as null), a list as [], a map as {}, a scalar as its zero.
	AlwaysEmit []string
	// Objects are the JSON names of message fields holding a whole object
	// (a runtime.Object, as a watch event's "object"), written with their
	// own kind and apiVersion.
	Objects []string
}

// Types is the registry of Kubernetes JSON shapes, keyed by the message's
// full name. Register every type before the registry is used; it is safe
// for concurrent use afterwards.
type Types struct {
	byName map[protoreflect.FullName]*Type
	byKind map[kindKey]protoreflect.FullName
	plans  sync.Map // protoreflect.MessageDescriptor → *msgPlan
}

type kindKey struct{ apiVersion, kind string }

// NewTypes returns an empty registry.
func NewTypes() *Types {
	return &Types{byName: map[protoreflect.FullName]*Type{}, byKind: map[kindKey]protoreflect.FullName{}}
}

// Register records how messages of msg's type look. It fails when a field
// named in AlwaysEmit or Objects does not exist (Objects: is not a singular
// message field), when only one of Kind and APIVersion is set, or when the
// kind is already registered for another message.
func (t *Types) Register(msg proto.Message, typ Type) error {
	md := msg.ProtoReflect().Descriptor()
	if (typ.Kind == "") != (typ.APIVersion == "") {
		return fmt.Errorf("kjson: %s: Kind and APIVersion must be set together", md.FullName())
	}
	if typ.Kind == "" && len(typ.AcceptAPIVersions) > 0 {
		return fmt.Errorf("kjson: %s: AcceptAPIVersions without a Kind", md.FullName())
	}
	for _, name := range typ.AlwaysEmit {
		if fieldByJSONName(md, name) == nil {
			return fmt.Errorf("kjson: %s: AlwaysEmit names no field %q", md.FullName(), name)
		}
	}
	for _, name := range typ.Objects {
		fd := fieldByJSONName(md, name)
		if fd == nil || fd.Message() == nil || fd.IsList() || fd.IsMap() {
			return fmt.Errorf("kjson: %s: Objects names no singular message field %q", md.FullName(), name)
		}
	}
	if typ.Kind != "" {
		for _, v := range append([]string{typ.APIVersion}, typ.AcceptAPIVersions...) {
			k := kindKey{v, typ.Kind}
			if other, ok := t.byKind[k]; ok && other != md.FullName() {
				return fmt.Errorf("kjson: %s %s is already registered for %s", v, typ.Kind, other)
			}
			t.byKind[k] = md.FullName()
		}
	}
	c := typ
	c.AcceptAPIVersions = append([]string(nil), typ.AcceptAPIVersions...)
	c.AlwaysEmit = append([]string(nil), typ.AlwaysEmit...)
	c.Objects = append([]string(nil), typ.Objects...)
	t.byName[md.FullName()] = &c
	t.plans.Clear()
	return nil
}

// MustRegister is Register that panics on error, for package-level tables.
func (t *Types) MustRegister(msg proto.Message, typ Type) *Types {
	if err := t.Register(msg, typ); err != nil {
		panic(err)
	}
	return t
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

func fieldByJSONName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fields.Get(i).JSONName() == name {
			return fields.Get(i)
		}
	}
	return nil
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
