package main

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// message is one generated message, mirroring a k8s one.
type message struct {
	K8s    *k8sMessage
	Pkg    *outPackage
	File   string // types.proto or meta.proto
	Go     reflect.Type
	Opaque bool
	// Encoding names the own JSON encoding of an opaque message.
	Encoding string
	Fields   []*field
}

func (m *message) Name() string { return m.K8s.Name }

// FullName is the generated message's full name: portico.core.v1.Pod.
func (m *message) FullName() string { return m.Pkg.Proto + "." + m.K8s.Name }

// field is one generated field.
type field struct {
	K8s      *k8sField
	Name     string // snake_case
	JSONName string // the k8s name
	Optional bool   // proto3 optional: a pointer to a scalar in Go
	// Type is the scalar type or the referenced message's k8s full name
	// (timestampType for Time).
	Type string
	// AlwaysEmit: encoding/json writes the field of the Go type even when
	// it is empty.
	AlwaysEmit bool
	// Null: the Go field is a pointer, slice or map, written as null when
	// unset or empty.
	Null bool
	// Note is added to the field's comment.
	Note string
	// Inline: the Go field is embedded with `json:",inline"`; its fields
	// are the parent's in JSON.
	Inline bool
}

// model is everything the generator knows after reading k8s.io.
type model struct {
	k8s      map[string]*k8sMessage // by k8s full name
	messages map[string]*message    // by k8s full name
}

// goProtoName is the k8s proto full name of a k8s Go type.
func goProtoName(t reflect.Type) string {
	return strings.ReplaceAll(t.PkgPath(), "/", ".") + "." + t.Name()
}

func newModel(files []*k8sFile) (*model, error) {
	m := &model{k8s: map[string]*k8sMessage{}, messages: map[string]*message{}}
	for _, f := range files {
		for _, msg := range f.Messages {
			m.k8s[msg.FullName] = msg
		}
	}
	var roots []reflect.Type
	for _, k := range kinds {
		roots = append(roots, k.Go)
		for _, s := range k.Subresources {
			if s.Body != nil {
				roots = append(roots, s.Body, s.Result)
			}
			if s.Object != nil {
				roots = append(roots, s.Object)
			}
		}
	}
	roots = append(roots, extraRoots...)
	for _, r := range roots {
		if err := m.add(goProtoName(r), r); err != nil {
			return nil, err
		}
	}
	// No two messages of one package may share a name.
	seen := map[string]string{}
	for _, name := range m.sortedNames() {
		msg := m.messages[name]
		if other, ok := seen[msg.FullName()]; ok {
			return nil, fmt.Errorf("%s and %s both become %s", other, name, msg.FullName())
		}
		seen[msg.FullName()] = name
	}
	return m, nil
}

func (m *model) sortedNames() []string {
	names := make([]string, 0, len(m.messages))
	for n := range m.messages {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// add adds the k8s message name, whose Go type is gt, and what it needs.
func (m *model) add(name string, gt reflect.Type) error {
	if name == k8sTime {
		return nil
	}
	if have, ok := m.messages[name]; ok {
		if have.Go != nil && gt != nil && have.Go != gt {
			return fmt.Errorf("%s is both %v and %v", name, have.Go, gt)
		}
		return nil
	}
	km, ok := m.k8s[name]
	if !ok {
		return fmt.Errorf("message %s is not in the k8s protos read", name)
	}
	msg := &message{K8s: km}
	msg.Pkg, msg.File = fileOf(strings.TrimSuffix(name, "."+km.Name))
	m.messages[name] = msg
	enc, ok := opaque[name]
	if !ok && gt != nil && gt.Kind() == reflect.Slice && len(km.Fields) == 1 && km.Fields[0].Name == "items" && km.Fields[0].Label == "repeated" {
		enc, ok = "Items", true // AttestationValue: a []string in Go and JSON
	}
	if ok {
		msg.Opaque, msg.Encoding = true, enc
		for _, kf := range km.Fields {
			if kf.Label == "map" || !scalarTypes[kf.Type] {
				return fmt.Errorf("opaque %s has a non-scalar field %s", name, kf.Name)
			}
			msg.Fields = append(msg.Fields, &field{K8s: kf, Name: snakeCase(kf.Name), JSONName: kf.Name, Type: kf.Type})
		}
		return nil
	}
	if gt == nil || gt.Kind() != reflect.Struct {
		return fmt.Errorf("%s: Go type %v is not a struct", name, gt)
	}
	if goProtoName(gt) != name {
		return fmt.Errorf("%s: Go type %v is %s", name, gt, goProtoName(gt))
	}
	msg.Go = gt
	byNumber := map[int]reflect.StructField{}
	for i := 0; i < gt.NumField(); i++ {
		sf := gt.Field(i)
		tag, hasProto := sf.Tag.Lookup("protobuf")
		jsonName, _, _ := parseJSONTag(sf)
		if !hasProto || tag == "-" {
			// Only TypeMeta may be in JSON and not in protobuf.
			if jsonName != "-" && sf.Type.Name() != "TypeMeta" {
				return fmt.Errorf("%s: Go field %s is in JSON but not in protobuf", name, sf.Name)
			}
			continue
		}
		num, pname, err := parseProtoTag(tag)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", name, sf.Name, err)
		}
		if _, dup := byNumber[num]; dup {
			return fmt.Errorf("%s: two Go fields have number %d", name, num)
		}
		byNumber[num] = sf
		if i := slices.IndexFunc(km.Fields, func(f *k8sField) bool { return f.Number == num }); i < 0 || (pname != "" && km.Fields[i].Name != pname) {
			return fmt.Errorf("%s: Go field %s (%d %s) is not in the proto", name, sf.Name, num, pname)
		}
	}
	if len(byNumber) != len(km.Fields) {
		return fmt.Errorf("%s: %d Go fields with protobuf tags, %d proto fields", name, len(byNumber), len(km.Fields))
	}
	for _, kf := range km.Fields {
		sf, ok := byNumber[kf.Number]
		if !ok {
			return fmt.Errorf("%s.%s: no Go field has number %d", name, kf.Name, kf.Number)
		}
		f := &field{K8s: kf, Name: snakeCase(kf.Name), JSONName: kf.Name}
		jsonName, opts, inline := parseJSONTag(sf)
		switch {
		case inline:
			f.Inline = true
		case jsonName == "-":
			return fmt.Errorf("%s.%s: in protobuf but not in JSON", name, kf.Name)
		case jsonName != kf.Name:
			// The JSON name is the Go type's (BoundObjectReference's uid
			// is uID in k8s's proto).
			f.Name, f.JSONName = snakeCase(jsonName), jsonName
			f.Note = fmt.Sprintf("k8s.io's generated.proto names this field %s; its JSON name is %s.", kf.Name, jsonName)
		}
		ft := sf.Type
		switch ft.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			f.Null = true
		}
		switch {
		case inline:
		case opts["omitzero"]:
			// omitted when zero
		case !opts["omitempty"]:
			f.AlwaysEmit = true
		case ft.Kind() == reflect.Struct:
			// omitempty never drops a struct
			f.AlwaysEmit = true
		}
		// The Go type of the field's value (element, map value).
		vt := ft
		switch kf.Label {
		case "map":
			if ft.Kind() != reflect.Map {
				return fmt.Errorf("%s.%s: map in proto, %v in Go", name, kf.Name, ft)
			}
			vt = ft.Elem()
		case "repeated":
			if ft.Kind() != reflect.Slice {
				return fmt.Errorf("%s.%s: repeated in proto, %v in Go", name, kf.Name, ft)
			}
			vt = ft.Elem()
		case "optional":
			if ft.Kind() == reflect.Pointer && scalarTypes[kf.Type] {
				f.Optional = true
			}
		}
		if vt.Kind() == reflect.Pointer {
			vt = vt.Elem()
		}
		if scalarTypes[kf.Type] {
			if err := checkScalar(kf.Type, vt); err != nil {
				return fmt.Errorf("%s.%s: %w", name, kf.Name, err)
			}
			f.Type = kf.Type
		} else {
			f.Type = kf.Type
			if kf.Type == k8sTime {
				f.Type = timestampType
			}
			if err := m.add(kf.Type, vt); err != nil {
				return err
			}
		}
		msg.Fields = append(msg.Fields, f)
	}
	return nil
}

func checkScalar(pt string, gt reflect.Type) error {
	ok := false
	switch pt {
	case "string":
		ok = gt.Kind() == reflect.String
	case "bytes":
		ok = gt.Kind() == reflect.Slice && gt.Elem().Kind() == reflect.Uint8
	case "bool":
		ok = gt.Kind() == reflect.Bool
	case "int32", "sint32", "sfixed32":
		ok = gt.Kind() == reflect.Int32
	case "int64", "sint64", "sfixed64":
		ok = gt.Kind() == reflect.Int64
	case "uint32", "fixed32":
		ok = gt.Kind() == reflect.Uint32
	case "uint64", "fixed64":
		ok = gt.Kind() == reflect.Uint64
	case "double":
		ok = gt.Kind() == reflect.Float64
	case "float":
		ok = gt.Kind() == reflect.Float32
	}
	if !ok {
		return fmt.Errorf("proto %s, Go %v", pt, gt)
	}
	return nil
}

// parseProtoTag reads `protobuf:"bytes,1,opt,name=metadata"`.
func parseProtoTag(tag string) (int, string, error) {
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return 0, "", fmt.Errorf("bad protobuf tag %q", tag)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, "", fmt.Errorf("bad protobuf tag %q", tag)
	}
	for _, p := range parts[2:] {
		if name, ok := strings.CutPrefix(p, "name="); ok {
			return n, name, nil
		}
	}
	// Embedded structs may have no name (EphemeralContainerCommon).
	return n, "", nil
}

// parseJSONTag returns a struct field's JSON name ("-" when it has none)
// and options; inline is true for `json:",inline"` and untagged embedded
// structs.
func parseJSONTag(sf reflect.StructField) (name string, opts map[string]bool, inline bool) {
	tag, ok := sf.Tag.Lookup("json")
	opts = map[string]bool{}
	if !ok {
		if sf.Anonymous {
			return "", opts, true
		}
		if !sf.IsExported() {
			return "-", opts, false
		}
		return sf.Name, opts, false
	}
	parts := strings.Split(tag, ",")
	for _, o := range parts[1:] {
		opts[o] = true
	}
	if parts[0] == "-" && len(parts) == 1 {
		return "-", opts, false
	}
	if parts[0] == "" && (opts["inline"] || sf.Anonymous) {
		return "", opts, true
	}
	if parts[0] == "" {
		return sf.Name, opts, false
	}
	return parts[0], opts, false
}

// snakeCase turns a k8s field name into a proto field name: podIP →
// pod_ip, hostIPC → host_ipc, externalIPs → external_ips.
func snakeCase(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if !unicode.IsUpper(c) {
			b.WriteRune(c)
			continue
		}
		if i > 0 {
			prev := r[i-1]
			switch {
			case unicode.IsLower(prev) || unicode.IsDigit(prev):
				b.WriteByte('_')
			case unicode.IsUpper(prev) && i+1 < len(r) && unicode.IsLower(r[i+1]) && !pluralAcronym(r, i+1):
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// pluralAcronym: r[j] is the s of an acronym's plural (IPs, CIDRs, WWNs).
func pluralAcronym(r []rune, j int) bool {
	return r[j] == 's' && (j+1 == len(r) || unicode.IsUpper(r[j+1]))
}

// protocJSONName is protoc's default JSON name of a field.
func protocJSONName(name string) string {
	var b strings.Builder
	up := false
	for _, c := range name {
		if c == '_' {
			up = true
			continue
		}
		if up {
			c = unicode.ToUpper(c)
			up = false
		}
		b.WriteRune(c)
	}
	return b.String()
}
