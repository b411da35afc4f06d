package kjson

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// AppendMessage appends the Kubernetes JSON of m to b: kind and apiVersion
// first when m's type is registered with a kind, then the populated fields
// in declaration order. No newline is added.
func (t *Types) AppendMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	return t.appendMessage(b, m, true, 0)
}

const maxEncodeDepth = 10000

func (t *Types) appendMessage(b []byte, m protoreflect.Message, withKind bool, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return b, fmt.Errorf("json: exceeded max depth of %d", maxEncodeDepth)
	}
	p := t.plan(m.Descriptor())
	switch p.special {
	case specNone:
	case specTimestamp:
		return appendTimestamp(b, m), nil
	case specStruct:
		return t.appendStruct(b, m, depth)
	case specValue:
		return t.appendValue(b, m, depth)
	case specListValue:
		return t.appendListValue(b, m, depth)
	case specProtoJSON:
		return appendProtoJSON(b, m)
	default:
		return t.appendEncoded(b, m, p, depth)
	}
	b = append(b, '{')
	first := true
	if withKind && p.head != nil {
		b = append(b, p.head...)
		first = false
	}
	b, _, err := t.appendFields(b, m, p, first, depth)
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

// appendFields writes the fields of m (and of its Inline fields) as
// members of the object being written; first says no member precedes.
func (t *Types) appendFields(b []byte, m protoreflect.Message, p *msgPlan, first bool, depth int) ([]byte, bool, error) {
	var err error
	for i := range p.fields {
		f := &p.fields[i]
		fd := f.fd
		if f.inline != nil {
			// An unset inline message is Go's zero struct: its
			// always-written fields still are.
			b, first, err = t.appendFields(b, m.Get(fd).Message(), f.inline, first, depth+1)
			if err != nil {
				return b, first, err
			}
			continue
		}
		set := m.Has(fd)
		if set && f.zeroUnset && isZeroSpecial(m.Get(fd).Message()) {
			set = false
		}
		if !set && !f.always {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		if f.null && (!set || fd.IsList() && m.Get(fd).List().Len() == 0 || fd.IsMap() && m.Get(fd).Map().Len() == 0) {
			b = append(b, "null"...)
			continue
		}
		switch {
		case fd.IsList():
			b, err = t.appendList(b, fd, m.Get(fd).List(), f.object, depth)
		case fd.IsMap():
			b, err = t.appendMapField(b, m, p, f, depth)
		case fd.Message() != nil:
			// An unset message is written as its zero value: {} (a
			// Timestamp null, a Quantity "0").
			b, err = t.appendMessage(b, m.Get(fd).Message(), f.object, depth+1)
		default:
			if !set && fd.HasPresence() {
				// An unset pointer of the Go type.
				b = append(b, "null"...)
				continue
			}
			b, err = appendScalar(b, fd, m.Get(fd))
		}
		if err != nil {
			return b, first, err
		}
	}
	return b, first, nil
}

// appendEncoded writes a message with a registered Encoding.
func (t *Types) appendEncoded(b []byte, m protoreflect.Message, p *msgPlan, depth int) ([]byte, error) {
	fields := p.md.Fields()
	switch p.special {
	case specIntOrString:
		if m.Get(fields.ByName("type")).Int() == 1 {
			return appendString(b, m.Get(fields.ByName("str_val")).String()), nil
		}
		return strconv.AppendInt(b, m.Get(fields.ByName("int_val")).Int(), 10), nil
	case specQuantity:
		q := m.Get(fields.Get(0)).String()
		if q == "" {
			q = "0" // a zero resource.Quantity
		}
		return appendString(b, q), nil
	case specMicroTime:
		secs, nanos := m.Get(fields.ByNumber(1)).Int(), m.Get(fields.ByNumber(2)).Int()
		if secs == 0 && nanos == 0 {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = time.Unix(secs, nanos).UTC().AppendFormat(b, rfc3339Micro)
		return append(b, '"'), nil
	case specRawJSON:
		raw := m.Get(fields.Get(0)).Bytes()
		if len(raw) == 0 {
			return append(b, "null"...), nil
		}
		return appendRawJSON(b, raw)
	case specItems:
		fd := fields.Get(0)
		l := m.Get(fd).List()
		if l.Len() == 0 {
			return append(b, "null"...), nil
		}
		return t.appendList(b, fd, l, false, depth)
	case specDuration:
		return appendString(b, time.Duration(m.Get(fields.Get(0)).Int()).String()), nil
	}
	return b, fmt.Errorf("kjson: %s has no encoder", p.md.FullName())
}

// rfc3339Micro is meta/v1 MicroTime's layout.
const rfc3339Micro = "2006-01-02T15:04:05.000000Z07:00"

// appendRawJSON writes raw JSON as encoding/json writes a Marshaler's
// output: compacted, HTML-escaped.
func appendRawJSON(b []byte, raw []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return b, fmt.Errorf("json: error calling MarshalJSON for raw JSON: %w", err)
	}
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, compact.Bytes())
	return append(b, escaped.Bytes()...), nil
}

// appendList writes a list; objects writes each message with its kind.
func (t *Types) appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List, objects bool, depth int) ([]byte, error) {
	b = append(b, '[')
	var err error
	isMsg := fd.Message() != nil
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if isMsg {
			b, err = t.appendMessage(b, l.Get(i).Message(), objects, depth+1)
		} else {
			b, err = appendScalar(b, fd, l.Get(i))
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendMapField writes a map field, reading the Go map of a generated
// message directly when it can.
func (t *Types) appendMapField(b []byte, m protoreflect.Message, p *msgPlan, f *fieldPlan, depth int) ([]byte, error) {
	if f.goIndex >= 0 {
		if rv := reflect.ValueOf(m.Interface()); rv.Type() == p.goType && !rv.IsNil() {
			switch mm := rv.Elem().Field(f.goIndex).Interface().(type) {
			case map[string]string:
				keys := sortedKeys(mm)
				b = append(b, '{')
				for i, k := range keys {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendString(b, k)
					b = append(b, ':')
					b = appendString(b, mm[k])
				}
				return append(b, '}'), nil
			case map[string][]byte:
				keys := sortedKeys(mm)
				b = append(b, '{')
				for i, k := range keys {
					if i > 0 {
						b = append(b, ',')
					}
					b = appendString(b, k)
					b = append(b, ':')
					b = appendBase64(b, mm[k])
				}
				return append(b, '}'), nil
			}
		}
	}
	return t.appendMap(b, f.fd, m.Get(f.fd).Map(), depth)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendBase64(b []byte, raw []byte) []byte {
	b = append(b, '"')
	n := base64.StdEncoding.EncodedLen(len(raw))
	b = slices.Grow(b, n+1)
	b = b[:len(b)+n]
	base64.StdEncoding.Encode(b[len(b)-n:], raw)
	return append(b, '"')
}

type mapEntry struct {
	key string
	val protoreflect.Value
}

func (t *Types) appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map, depth int) ([]byte, error) {
	entries := make([]mapEntry, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		entries = append(entries, mapEntry{key: k.String(), val: v})
		return true
	})
	// encoding/json sorts map keys by their string form, byte-wise.
	slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
	vd := fd.MapValue()
	isMsg := vd.Message() != nil
	b = append(b, '{')
	var err error
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.key)
		b = append(b, ':')
		if isMsg {
			b, err = t.appendMessage(b, e.val.Message(), false, depth+1)
		} else {
			b, err = appendScalar(b, vd, e.val)
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendScalar(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if v.Bool() {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloat(b, v.Float(), 32)
	case protoreflect.DoubleKind:
		return appendFloat(b, v.Float(), 64)
	case protoreflect.StringKind:
		return appendString(b, v.String()), nil
	case protoreflect.BytesKind:
		return appendBase64(b, v.Bytes()), nil
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return append(b, "null"...), nil
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	}
	return b, fmt.Errorf("kjson: field %s has unsupported kind %v", fd.FullName(), fd.Kind())
}

// appendFloat writes a float as encoding/json does.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// isZeroSpecial is true for a zero Timestamp or MicroTime, or a RawJSON
// message without bytes.
func isZeroSpecial(m protoreflect.Message) bool {
	if fd := m.Descriptor().Fields().Get(0); m.Descriptor().Fields().Len() == 1 && fd.Kind() == protoreflect.BytesKind {
		return len(m.Get(fd).Bytes()) == 0
	}
	return isZeroTimestamp(m)
}

// isZeroTimestamp is true for a Timestamp at 0 seconds (a MicroTime at 0
// seconds and 0 nanos): meta/v1 Time has no such value (its zero is year 1)
// and JSON has seconds precision.
func isZeroTimestamp(m protoreflect.Message) bool {
	fields := m.Descriptor().Fields()
	if m.Get(fields.ByNumber(1)).Int() != 0 {
		return false
	}
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		return true
	}
	return m.Get(fields.ByNumber(2)).Int() == 0
}

// appendTimestamp writes a Timestamp as meta/v1 Time does: RFC 3339 in UTC
// with seconds precision, null for the zero value.
func appendTimestamp(b []byte, m protoreflect.Message) []byte {
	if isZeroTimestamp(m) {
		return append(b, "null"...)
	}
	secs := m.Get(m.Descriptor().Fields().ByNumber(1)).Int()
	b = append(b, '"')
	b = time.Unix(secs, 0).UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func (t *Types) appendValue(b []byte, m protoreflect.Message, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return b, fmt.Errorf("json: exceeded max depth of %d", maxEncodeDepth)
	}
	od := m.Descriptor().Oneofs().ByName("kind")
	if od == nil {
		return b, fmt.Errorf("kjson: %s is not google.protobuf.Value", m.Descriptor().FullName())
	}
	fd := m.WhichOneof(od)
	if fd == nil {
		return append(b, "null"...), nil
	}
	v := m.Get(fd)
	switch fd.Name() {
	case "null_value":
		return append(b, "null"...), nil
	case "number_value":
		return appendFloat(b, v.Float(), 64)
	case "string_value":
		return appendString(b, v.String()), nil
	case "bool_value":
		if v.Bool() {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case "struct_value":
		return t.appendStruct(b, v.Message(), depth+1)
	case "list_value":
		return t.appendListValue(b, v.Message(), depth+1)
	}
	return b, fmt.Errorf("kjson: unknown google.protobuf.Value field %s", fd.Name())
}

func (t *Types) appendStruct(b []byte, m protoreflect.Message, depth int) ([]byte, error) {
	fd := m.Descriptor().Fields().ByName("fields")
	if fd == nil || !fd.IsMap() {
		return b, fmt.Errorf("kjson: %s is not google.protobuf.Struct", m.Descriptor().FullName())
	}
	return t.appendMap(b, fd, m.Get(fd).Map(), depth)
}

func (t *Types) appendListValue(b []byte, m protoreflect.Message, depth int) ([]byte, error) {
	fd := m.Descriptor().Fields().ByName("values")
	if fd == nil || !fd.IsList() {
		return b, fmt.Errorf("kjson: %s is not google.protobuf.ListValue", m.Descriptor().FullName())
	}
	return t.appendList(b, fd, m.Get(fd).List(), false, depth)
}

// appendProtoJSON writes the well-known types Kubernetes has no form of
// (Any, Duration, FieldMask, wrappers) as protojson does.
func appendProtoJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m.Interface())
	if err != nil {
		return b, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return b, err
	}
	return append(b, buf.Bytes()...), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as encoding/json does (HTML-safe, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped), which is what kube-apiserver sends.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// htmlSafe holds the ASCII bytes encoding/json writes as they are when
// escaping HTML.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()
