package kjson

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/api/resource"
)

// DecodeOptions control how strictly a body is decoded.
type DecodeOptions struct {
	// AllowUnknown accepts unknown and duplicate fields (kube-apiserver's
	// fieldValidation=Warn or Ignore) instead of failing with a strict
	// decoding error (fieldValidation=Strict, the default here).
	AllowUnknown bool
	// OnUnknown and OnDuplicate, when AllowUnknown is set, are called with
	// the path of each unknown or duplicate field ("spec.foo",
	// "metadata.ownerReferences[0].bar") once the body decoded: a gateway
	// turns them into warnings (`unknown field "spec.foo"`).
	OnUnknown   func(path string)
	OnDuplicate func(path string)
	// MaxBytes is the largest body accepted: 0 means DefaultMaxBytes (3
	// MiB), a negative value no limit.
	MaxBytes int64
	// MaxDepth is how deeply objects and arrays may nest: 0 means
	// DefaultMaxDepth (100).
	MaxDepth int
}

// Limit is the body size limit these options give (negative: none).
func (o DecodeOptions) Limit() int64 {
	if o.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o DecodeOptions) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

// report calls OnUnknown or OnDuplicate for each strict problem.
func (o DecodeOptions) report(problems []strictProblem) {
	for _, p := range problems {
		switch {
		case p.duplicate && o.OnDuplicate != nil:
			o.OnDuplicate(p.path)
		case !p.duplicate && o.OnUnknown != nil:
			o.OnUnknown(p.path)
		}
	}
}

type strictProblem struct {
	path      string
	duplicate bool
}

func (p strictProblem) String() string {
	if p.duplicate {
		return "duplicate field " + strconv.Quote(p.path)
	}
	return "unknown field " + strconv.Quote(p.path)
}

// maxStrictProblems caps the problems reported for one body, as
// sigs.k8s.io/json does.
const maxStrictProblems = 100

// Decode decodes one Kubernetes JSON document into msg, which is reset
// first. An empty body (only white space) is io.EOF, which grpc-gateway
// takes as "no body". Errors are *DecodeError, worded like kube-apiserver's.
func (t *Types) Decode(data []byte, msg proto.Message, opts DecodeOptions) error {
	if limit := opts.Limit(); limit >= 0 && int64(len(data)) > limit {
		return TooLarge(limit)
	}
	m := msg.ProtoReflect()
	md := m.Descriptor()
	if isBlank(data) {
		return io.EOF
	}
	proto.Reset(msg)
	d := &decodeState{t: t, data: data, maxDepth: opts.maxDepth()}
	err := d.document(m, t.plan(md))
	if err != nil {
		return d.fail(md, err)
	}
	apiVersion, kind, err := t.CheckKind(md, d.tm.apiVersion, d.tm.kind)
	if err != nil {
		return t.CannotHandle(md, apiVersion, kind, err)
	}
	if len(d.strict) > 0 {
		if !opts.AllowUnknown {
			texts := make([]string, len(d.strict))
			for i, p := range d.strict {
				texts[i] = p.String()
			}
			de := t.CannotHandle(md, apiVersion, kind, StrictError(texts))
			de.Strict = texts
			return de
		}
		opts.report(d.strict)
	}
	return nil
}

func isBlank(data []byte) bool {
	for _, c := range data {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// fail words a fatal decoding error. kube-apiserver first reads kind and
// apiVersion with encoding/json over the whole body, so malformed JSON
// anywhere (and a non-object body, a non-string kind) is reported that way;
// other failures name the body's kind.
func (d *decodeState) fail(md protoreflect.MessageDescriptor, err error) error {
	// What kube-apiserver reads a body's kind with (the same anonymous
	// type, which its errors name); its errors are the ones kube-apiserver
	// reports for malformed JSON.
	var fk struct {
		APIVersion string `json:"apiVersion,omitempty"`
		Kind       string `json:"kind,omitempty"`
	}
	if ferr := json.Unmarshal(d.data, &fk); ferr != nil {
		return d.t.Unrecognized(md, fmt.Errorf("couldn't get version/kind; json parse error: %w", ferr), d.data)
	}
	var se *syntaxError
	if errors.As(err, &se) || errors.Is(err, errKindType) {
		// encoding/json accepted what this decoder did not: say so in
		// our own words.
		return d.t.Unrecognized(md, fmt.Errorf("couldn't get version/kind; json parse error: %w", err), d.data)
	}
	if _, kind := d.t.KindOf(md); kind == "" {
		return d.t.CannotHandle(md, fk.APIVersion, fk.Kind, err)
	}
	apiVersion, kind, kerr := d.t.CheckKind(md, fk.APIVersion, fk.Kind)
	if kerr != nil {
		return d.t.CannotHandle(md, apiVersion, kind, kerr)
	}
	return d.t.CannotHandle(md, apiVersion, kind, err)
}

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

var errKindType = errors.New("kind and apiVersion must be strings")

type decodeState struct {
	t        *Types
	data     []byte
	pos      int
	depth    int
	maxDepth int

	// path is the strict-error path of the value being decoded:
	// "metadata.ownerReferences[0]".
	path []byte
	// fieldStack and structName are encoding/json's context for type
	// errors: field names only, and the innermost message's name.
	fieldStack []string
	structName string

	strict     []strictProblem
	seenStrict map[strictProblem]struct{}

	// tm is the document's kind and apiVersion.
	tm typeMeta
}

func (d *decodeState) document(m protoreflect.Message, p *msgPlan) error {
	d.skipWS()
	if p.special != specNone {
		if err := d.specialValue(m, p); err != nil {
			return err
		}
		d.skipWS()
		if d.pos < len(d.data) {
			return d.syntaxErr("after top-level value")
		}
		return nil
	}
	switch d.peek() {
	case '{':
		if err := d.object(m, p, &d.tm); err != nil {
			return err
		}
	case 'n':
		// null decodes to nothing, as in kube-apiserver.
		if err := d.literal("null"); err != nil {
			return err
		}
	default:
		// Not an object: kube-apiserver fails reading its kind.
		if err := d.skipValue(); err != nil {
			return err
		}
		return errKindType
	}
	d.skipWS()
	if d.pos < len(d.data) {
		return d.syntaxErr("after top-level value")
	}
	return nil
}

func (d *decodeState) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decodeState) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *decodeState) syntaxErr(context string) error {
	if d.pos >= len(d.data) {
		return &syntaxError{"unexpected end of JSON input"}
	}
	return &syntaxError{"invalid character " + quoteChar(d.data[d.pos]) + " " + context}
}

func (d *decodeState) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return fmt.Errorf("json: nesting exceeds the limit of %d levels", d.maxDepth)
	}
	return nil
}

func (d *decodeState) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != lit[i] {
			if i == 0 {
				return d.syntaxErr("looking for beginning of value")
			}
			return d.syntaxErr("in literal " + lit + " (expecting " + quoteChar(lit[i]) + ")")
		}
		d.pos++
	}
	return nil
}

// number scans a JSON number and returns its text.
func (d *decodeState) number() (string, error) {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for d.pos++; isDigit(d.peek()); d.pos++ {
		}
	default:
		return "", d.syntaxErr("in numeric literal")
	}
	if d.peek() == '.' {
		d.pos++
		if !isDigit(d.peek()) {
			return "", d.syntaxErr("after decimal point in numeric literal")
		}
		for ; isDigit(d.peek()); d.pos++ {
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if !isDigit(d.peek()) {
			return "", d.syntaxErr("in exponent of numeric literal")
		}
		for ; isDigit(d.peek()); d.pos++ {
		}
	}
	return string(d.data[start:d.pos]), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringBytes scans a JSON string at d.pos and returns its unquoted bytes:
// a slice of the input when it has no escapes, else a new buffer. Escapes
// and invalid UTF-8 are handled as encoding/json does.
func (d *decodeState) stringBytes() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntaxErr("looking for beginning of value")
	}
	i := d.pos + 1
	start := i
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return d.data[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	b := make([]byte, i-start, i-start+16)
	copy(b, d.data[start:i])
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return b, nil
		case c < 0x20:
			d.pos = i
			return nil, d.syntaxErr("in string literal")
		case c == '\\':
			i++
			if i >= len(d.data) {
				d.pos = i
				return nil, d.syntaxErr("")
			}
			switch e := d.data[i]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i++
			case 'b':
				b = append(b, '\b')
				i++
			case 'f':
				b = append(b, '\f')
				i++
			case 'n':
				b = append(b, '\n')
				i++
			case 'r':
				b = append(b, '\r')
				i++
			case 't':
				b = append(b, '\t')
				i++
			case 'u':
				r, ok := d.hex4(i + 1)
				if !ok {
					return nil, d.hexErr(i + 1)
				}
				i += 5
				if utf16.IsSurrogate(r) {
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						if r2, ok := d.hex4(i + 2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i
				return nil, d.syntaxErr("in string escape code")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[i:i+size]...)
			}
			i += size
		}
	}
	d.pos = len(d.data)
	return nil, d.syntaxErr("")
}

func (d *decodeState) hex4(i int) (rune, bool) {
	if i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

func (d *decodeState) hexErr(i int) error {
	for j := i; j < i+4; j++ {
		if j >= len(d.data) {
			d.pos = len(d.data)
			return d.syntaxErr("")
		}
		if c := d.data[j]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			d.pos = j
			break
		}
	}
	return d.syntaxErr(`in \u hexadecimal character escape`)
}

// skipValue scans over one value, checking its syntax.
func (d *decodeState) skipValue() error {
	d.skipWS()
	switch c := d.peek(); {
	case c == '{':
		if err := d.enter(); err != nil {
			return err
		}
		d.pos++
		d.skipWS()
		if d.peek() == '}' {
			d.pos++
			d.depth--
			return nil
		}
		for {
			d.skipWS()
			if d.peek() != '"' {
				return d.syntaxErr("looking for beginning of object key string")
			}
			if _, err := d.stringBytes(); err != nil {
				return err
			}
			d.skipWS()
			if d.peek() != ':' {
				return d.syntaxErr("after object key")
			}
			d.pos++
			if err := d.skipValue(); err != nil {
				return err
			}
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case '}':
				d.pos++
				d.depth--
				return nil
			default:
				return d.syntaxErr("after object key:value pair")
			}
		}
	case c == '[':
		if err := d.enter(); err != nil {
			return err
		}
		d.pos++
		d.skipWS()
		if d.peek() == ']' {
			d.pos++
			d.depth--
			return nil
		}
		for {
			if err := d.skipValue(); err != nil {
				return err
			}
			d.skipWS()
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				d.depth--
				return nil
			default:
				return d.syntaxErr("after array element")
			}
		}
	case c == '"':
		_, err := d.stringBytes()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || isDigit(c):
		_, err := d.number()
		return err
	}
	return d.syntaxErr("looking for beginning of value")
}

// strictProblemAt records an unknown or duplicate field named key inside
// the value at d.path, as sigs.k8s.io/json words its path.
func (d *decodeState) strictProblemAt(key string, duplicate bool) {
	if len(d.strict) >= maxStrictProblems {
		return
	}
	path := key
	if len(d.path) > 0 {
		path = string(d.path) + "." + key
	}
	p := strictProblem{path: path, duplicate: duplicate}
	if d.seenStrict == nil {
		d.seenStrict = map[strictProblem]struct{}{}
	}
	if _, seen := d.seenStrict[p]; seen {
		return
	}
	d.seenStrict[p] = struct{}{}
	d.strict = append(d.strict, p)
}

func (d *decodeState) pushKey(key string) int {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, key...)
	return n
}

func (d *decodeState) pushIndex(i int) int {
	n := len(d.path)
	d.path = append(d.path, '[')
	d.path = strconv.AppendInt(d.path, int64(i), 10)
	d.path = append(d.path, ']')
	return n
}

// typeError is encoding/json's UnmarshalTypeError in the current context.
func (d *decodeState) typeError(value, goType string) error {
	if d.structName != "" || len(d.fieldStack) > 0 {
		field := ""
		for i, f := range d.fieldStack {
			if i > 0 {
				field += "."
			}
			field += f
		}
		return fmt.Errorf("json: cannot unmarshal %s into Go struct field %s.%s of type %s", value, d.structName, field, goType)
	}
	return fmt.Errorf("json: cannot unmarshal %s into Go value of type %s", value, goType)
}

func valueKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// typeMeta receives the kind and apiVersion of an object.
type typeMeta struct{ apiVersion, kind string }

// object decodes a JSON object at d.pos into m. tm is set for a whole
// object (the document's own, a watch event's), whose kind and apiVersion
// are read into it when m has no such fields.
func (d *decodeState) object(m protoreflect.Message, p *msgPlan, tm *typeMeta) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++ // '{'
	var seenSmall uint64
	var seenBig []bool
	var seenKind, seenVersion bool
	var seenInline []string
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		d.skipWS()
		if d.peek() != '"' {
			return d.syntaxErr("looking for beginning of object key string")
		}
		kb, err := d.stringBytes()
		if err != nil {
			return err
		}
		d.skipWS()
		if d.peek() != ':' {
			return d.syntaxErr("after object key")
		}
		d.pos++
		d.skipWS()
		if f := p.byName[string(kb)]; f != nil {
			dup := false
			if f.index < 64 {
				dup = seenSmall&(1<<f.index) != 0
				seenSmall |= 1 << f.index
			} else {
				if seenBig == nil {
					seenBig = make([]bool, len(p.fields))
				}
				dup = seenBig[f.index]
				seenBig[f.index] = true
			}
			if dup {
				d.strictProblemAt(f.name, true)
			}
			savedStruct, savedStack, savedPath := d.structName, len(d.fieldStack), d.pushKey(f.name)
			d.structName = string(p.md.Name())
			d.fieldStack = append(d.fieldStack, f.name)
			err = d.field(m, p, f)
			d.structName, d.fieldStack, d.path = savedStruct, d.fieldStack[:savedStack], d.path[:savedPath]
			if err != nil {
				return err
			}
		} else if ref, ok := p.inlined[string(kb)]; ok {
			// A field of an Inline field: the parent's own in JSON.
			if slices.Contains(seenInline, ref.f.name) {
				d.strictProblemAt(ref.f.name, true)
			}
			seenInline = append(seenInline, ref.f.name)
			target := m
			savedStruct, savedStack, savedPath := d.structName, len(d.fieldStack), d.pushKey(ref.f.name)
			d.structName = string(p.md.Name())
			for _, via := range ref.via {
				target = target.Mutable(via.fd).Message()
				// encoding/json names the embedded Go field, the
				// message's type name.
				d.fieldStack = append(d.fieldStack, string(via.fd.Message().Name()))
			}
			d.fieldStack = append(d.fieldStack, ref.f.name)
			err = d.field(target, ref.owner, ref.f)
			d.structName, d.fieldStack, d.path = savedStruct, d.fieldStack[:savedStack], d.path[:savedPath]
			if err != nil {
				return err
			}
		} else if key := string(kb); tm != nil && p.takesTM && (key == "kind" || key == "apiVersion") {
			seen := &seenKind
			dst := &tm.kind
			if key == "apiVersion" {
				seen, dst = &seenVersion, &tm.apiVersion
			}
			if *seen {
				d.strictProblemAt(key, true)
			}
			*seen = true
			switch d.peek() {
			case '"':
				s, err := d.stringBytes()
				if err != nil {
					return err
				}
				*dst = string(s)
			case 'n':
				if err := d.literal("null"); err != nil {
					return err
				}
			default:
				if err := d.skipValue(); err != nil {
					return err
				}
				return errKindType
			}
		} else {
			d.strictProblemAt(key, false)
			if err := d.skipValue(); err != nil {
				return err
			}
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntaxErr("after object key:value pair")
		}
	}
}

// field decodes the value at d.pos into field f of m (of plan p).
func (d *decodeState) field(m protoreflect.Message, p *msgPlan, f *fieldPlan) error {
	fd := f.fd
	c := d.peek()
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		if !fd.IsList() && !fd.IsMap() && fd.Message() != nil && specialOf(fd.Message()) == specValue {
			// null is a google.protobuf.Value of its own.
			v := m.NewField(fd)
			setNullValue(v.Message())
			m.Set(fd, v)
			return nil
		}
		m.Clear(fd)
		return nil
	}
	switch {
	case fd.IsList():
		if c != '[' {
			return d.typeError(valueKind(c), goTypeName(fd, false))
		}
		l := m.Mutable(fd).List()
		l.Truncate(0)
		if err := d.list(l, fd); err != nil {
			return err
		}
		if l.Len() == 0 && fd.FullName() == managedFieldsField {
			// [] asks kube-apiserver to reset managedFields, but proto3
			// cannot tell an empty list from none: it becomes [{}],
			// kube's other way of saying the same.
			l.Append(l.NewElement())
		}
		return nil
	case fd.IsMap():
		if c != '{' {
			return d.typeError(valueKind(c), goTypeName(fd, false))
		}
		if done, err := d.goMap(m, p, f); done || err != nil {
			return err
		}
		return d.mapValue(m.Mutable(fd).Map(), fd)
	case fd.Message() != nil:
		sub := d.t.plan(fd.Message())
		if sub.special != specNone {
			v := m.NewField(fd)
			if err := d.specialValue(v.Message(), sub); err != nil {
				return err
			}
			m.Set(fd, v)
			return nil
		}
		if c != '{' {
			return d.typeError(valueKind(c), sub.goName)
		}
		if f.object {
			// A whole object (a watch event's): its kind must fit.
			var tm typeMeta
			if err := d.object(m.Mutable(fd).Message(), sub, &tm); err != nil {
				return err
			}
			_, _, err := d.t.CheckKind(sub.md, tm.apiVersion, tm.kind)
			return err
		}
		return d.object(m.Mutable(fd).Message(), sub, nil)
	default:
		v, err := d.scalar(fd)
		if err != nil {
			return err
		}
		m.Set(fd, v)
		return nil
	}
}

// managedFieldsField is ObjectMeta's managedFields.
const managedFieldsField protoreflect.FullName = "portico.core.v1.ObjectMeta.managed_fields"

func (d *decodeState) list(l protoreflect.List, fd protoreflect.FieldDescriptor) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++ // '['
	d.skipWS()
	if d.peek() == ']' {
		d.pos++
		d.depth--
		return nil
	}
	var sub *msgPlan
	if fd.Message() != nil {
		sub = d.t.plan(fd.Message())
	}
	for i := 0; ; i++ {
		d.skipWS()
		saved := d.pushIndex(i)
		var err error
		if sub != nil {
			v := l.NewElement()
			err = d.messageValue(v.Message(), sub)
			l.Append(v)
		} else {
			var v protoreflect.Value
			if v, err = d.scalarOrNull(fd); err == nil {
				l.Append(v)
			}
		}
		d.path = d.path[:saved]
		if err != nil {
			return err
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntaxErr("after array element")
		}
	}
}

// entries scans a JSON object used as a map, calling value with d.pos at
// each value; it tracks the strict path and reports duplicate keys.
func (d *decodeState) entries(value func(key string) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.pos++ // '{'
	var seenList []string
	var seenMap map[string]struct{}
	d.skipWS()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return nil
	}
	for {
		d.skipWS()
		if d.peek() != '"' {
			return d.syntaxErr("looking for beginning of object key string")
		}
		kb, err := d.stringBytes()
		if err != nil {
			return err
		}
		key := string(kb)
		d.skipWS()
		if d.peek() != ':' {
			return d.syntaxErr("after object key")
		}
		d.pos++
		d.skipWS()
		dup := false
		if seenMap != nil {
			_, dup = seenMap[key]
			seenMap[key] = struct{}{}
		} else {
			dup = slices.Contains(seenList, key)
			seenList = append(seenList, key)
			if len(seenList) > 16 {
				seenMap = make(map[string]struct{}, 2*len(seenList))
				for _, k := range seenList {
					seenMap[k] = struct{}{}
				}
			}
		}
		if dup {
			d.strictProblemAt(key, true)
		}
		saved := d.pushKey(key)
		err = value(key)
		d.path = d.path[:saved]
		if err != nil {
			return err
		}
		d.skipWS()
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntaxErr("after object key:value pair")
		}
	}
}

func (d *decodeState) mapValue(mp protoreflect.Map, fd protoreflect.FieldDescriptor) error {
	kd, vd := fd.MapKey(), fd.MapValue()
	var sub *msgPlan
	if vd.Message() != nil {
		sub = d.t.plan(vd.Message())
	}
	return d.entries(func(key string) error {
		mk, err := d.mapKey(kd, key)
		if err != nil {
			return err
		}
		if sub != nil {
			v := mp.NewValue()
			err := d.messageValue(v.Message(), sub)
			mp.Set(mk, v)
			return err
		}
		v, err := d.scalarOrNull(vd)
		if err == nil {
			mp.Set(mk, v)
		}
		return err
	})
}

// goMap decodes a map<string, string|bytes> field straight into the Go
// map of a generated message; false when m is not that generated type.
func (d *decodeState) goMap(m protoreflect.Message, p *msgPlan, f *fieldPlan) (bool, error) {
	rv := reflect.ValueOf(m.Interface())
	if f.goIndex < 0 || rv.Type() != p.goType || rv.IsNil() {
		return false, nil
	}
	fv := rv.Elem().Field(f.goIndex)
	if fv.IsNil() {
		fv.Set(reflect.MakeMap(fv.Type()))
	}
	switch gm := fv.Interface().(type) {
	case map[string]string:
		return true, d.entries(func(key string) error {
			switch c := d.peek(); c {
			case 'n':
				gm[key] = ""
				return d.literal("null")
			case '"':
				b, err := d.stringBytes()
				gm[key] = string(b)
				return err
			default:
				return d.scalarTypeError(c, "string")
			}
		})
	case map[string][]byte:
		return true, d.entries(func(key string) error {
			switch c := d.peek(); c {
			case 'n':
				gm[key] = nil
				return d.literal("null")
			case '"':
				b, err := d.stringBytes()
				if err != nil {
					return err
				}
				out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
				n, err := base64.StdEncoding.Decode(out, b)
				gm[key] = out[:n]
				return err
			default:
				return d.scalarTypeError(c, "[]uint8")
			}
		})
	}
	return false, nil
}

func (d *decodeState) scalarTypeError(c byte, goType string) error {
	if !isValueStart(c) {
		return d.syntaxErr("looking for beginning of value")
	}
	return d.typeError(valueKind(c), goType)
}

func (d *decodeState) mapKey(kd protoreflect.FieldDescriptor, key string) (protoreflect.MapKey, error) {
	switch kd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(key).MapKey(), nil
	case protoreflect.BoolKind:
		switch key {
		case "true":
			return protoreflect.ValueOfBool(true).MapKey(), nil
		case "false":
			return protoreflect.ValueOfBool(false).MapKey(), nil
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, err := strconv.ParseInt(key, 10, 32); err == nil {
			return protoreflect.ValueOfInt32(int32(n)).MapKey(), nil
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, err := strconv.ParseInt(key, 10, 64); err == nil {
			return protoreflect.ValueOfInt64(n).MapKey(), nil
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, err := strconv.ParseUint(key, 10, 32); err == nil {
			return protoreflect.ValueOfUint32(uint32(n)).MapKey(), nil
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n, err := strconv.ParseUint(key, 10, 64); err == nil {
			return protoreflect.ValueOfUint64(n).MapKey(), nil
		}
	}
	return protoreflect.MapKey{}, d.typeError("number "+key, goScalarName(kd))
}

// messageValue decodes a list element or map value of message type; null
// is the empty message.
func (d *decodeState) messageValue(m protoreflect.Message, p *msgPlan) error {
	c := d.peek()
	if p.special != specNone {
		return d.specialValue(m, p)
	}
	if c == 'n' {
		return d.literal("null")
	}
	if c != '{' {
		return d.typeError(valueKind(c), p.goName)
	}
	return d.object(m, p, nil)
}

// scalarOrNull decodes a list element or map value of scalar type; null is
// the zero value, as encoding/json leaves it.
func (d *decodeState) scalarOrNull(fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	if d.peek() == 'n' {
		if err := d.literal("null"); err != nil {
			return protoreflect.Value{}, err
		}
		return zeroScalar(fd), nil
	}
	return d.scalar(fd)
}

func zeroScalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(false)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(0)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(0)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(0)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(0)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(0)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("")
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes(nil)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(0)
	}
	return protoreflect.Value{}
}

func (d *decodeState) scalar(fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	c := d.peek()
	goType := goScalarName(fd)
	switch fd.Kind() {
	case protoreflect.BoolKind:
		switch c {
		case 't':
			return protoreflect.ValueOfBool(true), d.literal("true")
		case 'f':
			return protoreflect.ValueOfBool(false), d.literal("false")
		}
	case protoreflect.StringKind:
		if c == '"' {
			b, err := d.stringBytes()
			return protoreflect.ValueOfString(string(b)), err
		}
	case protoreflect.BytesKind:
		if c == '"' {
			b, err := d.stringBytes()
			if err != nil {
				return protoreflect.Value{}, err
			}
			out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
			n, err := base64.StdEncoding.Decode(out, b)
			if err != nil {
				return protoreflect.Value{}, err
			}
			return protoreflect.ValueOfBytes(out[:n]), nil
		}
	case protoreflect.EnumKind:
		if c == '"' {
			b, err := d.stringBytes()
			if err != nil {
				return protoreflect.Value{}, err
			}
			if ev := fd.Enum().Values().ByName(protoreflect.Name(b)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
			return protoreflect.Value{}, d.typeError("string "+strconv.Quote(string(b)), string(fd.Enum().Name()))
		}
		if c == '-' || isDigit(c) {
			lit, err := d.number()
			if err != nil {
				return protoreflect.Value{}, err
			}
			n, err := strconv.ParseInt(lit, 10, 32)
			if err != nil {
				return protoreflect.Value{}, d.typeError("number "+lit, string(fd.Enum().Name()))
			}
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
		}
	default:
		if c != '-' && !isDigit(c) {
			break
		}
		lit, err := d.number()
		if err != nil {
			return protoreflect.Value{}, err
		}
		switch fd.Kind() {
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			if n, err := strconv.ParseInt(lit, 10, 32); err == nil {
				return protoreflect.ValueOfInt32(int32(n)), nil
			}
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
				return protoreflect.ValueOfInt64(n), nil
			}
		case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
			if n, err := strconv.ParseUint(lit, 10, 32); err == nil {
				return protoreflect.ValueOfUint32(uint32(n)), nil
			}
		case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
			if n, err := strconv.ParseUint(lit, 10, 64); err == nil {
				return protoreflect.ValueOfUint64(n), nil
			}
		case protoreflect.FloatKind:
			if f, err := strconv.ParseFloat(lit, 32); err == nil {
				return protoreflect.ValueOfFloat32(float32(f)), nil
			}
		case protoreflect.DoubleKind:
			if f, err := strconv.ParseFloat(lit, 64); err == nil {
				return protoreflect.ValueOfFloat64(f), nil
			}
		}
		return protoreflect.Value{}, d.typeError("number "+lit, goType)
	}
	if c == 0 || !isValueStart(c) {
		return protoreflect.Value{}, d.syntaxErr("looking for beginning of value")
	}
	return protoreflect.Value{}, d.typeError(valueKind(c), goType)
}

func isValueStart(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-':
		return true
	}
	return isDigit(c)
}

// specialValue decodes a well-known type (not null, handled by the caller
// for fields) into m.
func (d *decodeState) specialValue(m protoreflect.Message, p *msgPlan) error {
	switch p.special {
	case specTimestamp:
		c := d.peek()
		if c == 'n' {
			return d.literal("null")
		}
		if c != '"' {
			if !isValueStart(c) {
				return d.syntaxErr("looking for beginning of value")
			}
			// meta/v1 Time reads its JSON as a string.
			return d.typeError(valueKind(c), "string")
		}
		b, err := d.stringBytes()
		if err != nil {
			return err
		}
		ts, err := time.Parse(time.RFC3339, string(b))
		if err != nil {
			return err
		}
		fields := m.Descriptor().Fields()
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(ts.Unix()))
		return nil
	case specValue:
		return d.jsonValue(m)
	case specStruct:
		c := d.peek()
		if c == 'n' {
			return d.literal("null")
		}
		if c != '{' {
			if !isValueStart(c) {
				return d.syntaxErr("looking for beginning of value")
			}
			return d.typeError(valueKind(c), "map[string]interface {}")
		}
		return d.jsonStruct(m)
	case specListValue:
		c := d.peek()
		if c == 'n' {
			return d.literal("null")
		}
		if c != '[' {
			if !isValueStart(c) {
				return d.syntaxErr("looking for beginning of value")
			}
			return d.typeError(valueKind(c), "[]interface {}")
		}
		return d.jsonList(m)
	case specIntOrString, specQuantity, specMicroTime, specRawJSON, specItems, specDuration:
		return d.encodedValue(m, p)
	}
	// Any, Duration, wrappers...: protojson's form.
	start := d.pos
	if err := d.skipValue(); err != nil {
		return err
	}
	return protojson.Unmarshal(d.data[start:d.pos], m.Interface())
}

func setNullValue(v protoreflect.Message) {
	v.Set(v.Descriptor().Fields().ByName("null_value"), protoreflect.ValueOfEnum(0))
}

// jsonValue decodes any JSON value into a google.protobuf.Value.
func (d *decodeState) jsonValue(v protoreflect.Message) error {
	fields := v.Descriptor().Fields()
	switch c := d.peek(); {
	case c == 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		setNullValue(v)
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if err := d.literal(lit); err != nil {
			return err
		}
		v.Set(fields.ByName("bool_value"), protoreflect.ValueOfBool(c == 't'))
	case c == '"':
		b, err := d.stringBytes()
		if err != nil {
			return err
		}
		v.Set(fields.ByName("string_value"), protoreflect.ValueOfString(string(b)))
	case c == '{':
		fd := fields.ByName("struct_value")
		sv := v.NewField(fd)
		if err := d.jsonStruct(sv.Message()); err != nil {
			return err
		}
		v.Set(fd, sv)
	case c == '[':
		fd := fields.ByName("list_value")
		lv := v.NewField(fd)
		if err := d.jsonList(lv.Message()); err != nil {
			return err
		}
		v.Set(fd, lv)
	case c == '-' || isDigit(c):
		lit, err := d.number()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return d.typeError("number "+lit, "float64")
		}
		v.Set(fields.ByName("number_value"), protoreflect.ValueOfFloat64(f))
	default:
		return d.syntaxErr("looking for beginning of value")
	}
	return nil
}

func (d *decodeState) jsonStruct(s protoreflect.Message) error {
	fd := s.Descriptor().Fields().ByName("fields")
	return d.mapValue(s.Mutable(fd).Map(), fd)
}

func (d *decodeState) jsonList(l protoreflect.Message) error {
	fd := l.Descriptor().Fields().ByName("values")
	return d.list(l.Mutable(fd).List(), fd)
}

// encodedValue decodes a message with a registered Encoding.
func (d *decodeState) encodedValue(m protoreflect.Message, p *msgPlan) error {
	fields := p.md.Fields()
	c := d.peek()
	if c == 'n' {
		return d.literal("null")
	}
	if !isValueStart(c) {
		return d.syntaxErr("looking for beginning of value")
	}
	switch p.special {
	case specIntOrString:
		switch {
		case c == '"':
			b, err := d.stringBytes()
			if err != nil {
				return err
			}
			m.Set(fields.ByName("type"), protoreflect.ValueOfInt64(1))
			m.Set(fields.ByName("str_val"), protoreflect.ValueOfString(string(b)))
			return nil
		case c == '-' || isDigit(c):
			lit, err := d.number()
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(lit, 10, 32)
			if err != nil {
				return d.typeError("number "+lit, "int32")
			}
			m.Set(fields.ByName("int_val"), protoreflect.ValueOfInt32(int32(n)))
			return nil
		}
		return d.typeError(valueKind(c), "int32")
	case specQuantity:
		var text string
		switch {
		case c == '"':
			b, err := d.stringBytes()
			if err != nil {
				return err
			}
			text = string(b)
		case c == '-' || isDigit(c):
			lit, err := d.number()
			if err != nil {
				return err
			}
			text = lit
		default:
			if err := d.skipValue(); err != nil {
				return err
			}
			_, err := resource.ParseQuantity("{")
			return err
		}
		// Kept in canonical form, as kube-apiserver's resource.Quantity
		// writes it back ("1000m" is "1", "0.5" is "500m").
		q, err := resource.ParseQuantity(strings.TrimSpace(text))
		if err != nil {
			return err
		}
		m.Set(fields.Get(0), protoreflect.ValueOfString(q.String()))
		return nil
	case specMicroTime:
		if c != '"' {
			return d.typeError(valueKind(c), "string")
		}
		b, err := d.stringBytes()
		if err != nil {
			return err
		}
		t, err := time.Parse(rfc3339Micro, string(b))
		if err != nil {
			return err
		}
		m.Set(fields.ByNumber(1), protoreflect.ValueOfInt64(t.Unix()))
		m.Set(fields.ByNumber(2), protoreflect.ValueOfInt32(int32(t.Nanosecond()/1000*1000)))
		return nil
	case specRawJSON:
		start := d.pos
		if err := d.skipValue(); err != nil {
			return err
		}
		m.Set(fields.Get(0), protoreflect.ValueOfBytes(append([]byte(nil), d.data[start:d.pos]...)))
		return nil
	case specItems:
		if c != '[' {
			return d.typeError(valueKind(c), p.goName)
		}
		fd := fields.Get(0)
		return d.list(m.Mutable(fd).List(), fd)
	case specDuration:
		if c != '"' {
			return d.typeError(valueKind(c), "string")
		}
		b, err := d.stringBytes()
		if err != nil {
			return err
		}
		dur, err := time.ParseDuration(string(b))
		if err != nil {
			return err
		}
		m.Set(fields.Get(0), protoreflect.ValueOfInt64(int64(dur)))
		return nil
	}
	return fmt.Errorf("kjson: %s has no decoder", p.md.FullName())
}
