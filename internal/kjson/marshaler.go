// Package kjson is the gateway's one JSON codec: every proto message in and
// out of the REST API as kube-apiserver writes and reads Kubernetes JSON.
//
// It walks protoreflect directly (no protojson pass, no map in between):
// fields under their JSON names in .proto declaration order, only when
// populated (optional fields whenever set), 64-bit integers as numbers,
// bytes as base64, Timestamps as RFC 3339 seconds, maps sorted by key,
// strings escaped as encoding/json escapes them. A Types registry
// (KubernetesTypes, from internal/resources' generated table) adds kind and
// apiVersion to top-level objects and watch events' objects, says which
// empty fields kube-apiserver still prints ("metadata":{}, "items":[],
// "rules":null), which fields are inlined into their parent (a Volume's
// volumeSource), and which messages have their own form (IntOrString,
// Quantity, MicroTime, FieldsV1).
//
// Decoding is strict like kube-apiserver with fieldValidation=Strict:
// unknown and duplicate fields are reported by their path, integers must be
// JSON numbers, kind and apiVersion must match the target, and the errors
// read like kube-apiserver's.
package kjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ContentType is what the marshaler reads and writes.
const ContentType = "application/json"

// Marshaler is a grpc-gateway runtime.Marshaler (and Delimited,
// StreamContentType) writing and reading Kubernetes JSON.
type Marshaler struct {
	types       *Types
	decode      DecodeOptions
	streamError func(*spb.Status) proto.Message
	pretty      bool

	// largeSizes holds, per message type, the length of its last answer
	// that outgrew the pooled buffers (protoreflect.FullName → int): the
	// next one of that type starts in a buffer of about that size. One
	// entry per type at most, so bounded by the registered types.
	largeSizes *sync.Map
}

// Option configures a Marshaler.
type Option func(*Marshaler)

// WithTypes sets the registry of kinds and always-written fields.
func WithTypes(t *Types) Option { return func(m *Marshaler) { m.types = t } }

// WithDecodeOptions sets the default decoding options (strict, 3 MiB, 100
// levels when not given); a request can override them with BodyWithOptions.
func WithDecodeOptions(o DecodeOptions) Option { return func(m *Marshaler) { m.decode = o } }

// WithStreamError sets how a stream's gRPC error becomes the object of a
// watch ERROR event (a Status message). Without it a minimal Status is
// written from the gRPC code and message.
func WithStreamError(f func(*spb.Status) proto.Message) Option {
	return func(m *Marshaler) { m.streamError = f }
}

// New returns a Marshaler.
func New(opts ...Option) *Marshaler {
	m := &Marshaler{largeSizes: new(sync.Map)}
	for _, o := range opts {
		o(m)
	}
	if m.types == nil {
		m.types = defaultTypes
	}
	return m
}

// Types returns the marshaler's registry.
func (m *Marshaler) Types() *Types { return m.types }

// DecodeOptions returns the marshaler's default decoding options.
func (m *Marshaler) DecodeOptions() DecodeOptions { return m.decode }

// Pretty returns a copy of m that indents its output with two spaces and
// no trailing newline, as kube-apiserver answers ?pretty=true and curl.
func (m *Marshaler) Pretty() *Marshaler {
	c := *m
	c.pretty = true
	return &c // sharing largeSizes, which the pretty form never uses
}

// ContentType is "application/json".
func (m *Marshaler) ContentType(any) string { return ContentType }

// StreamContentType is "application/json", as kube-apiserver's watch.
func (m *Marshaler) StreamContentType(any) string { return ContentType }

// Delimiter separates watch events: one JSON document a line.
func (m *Marshaler) Delimiter() []byte { return []byte("\n") }

// Marshal writes v as Kubernetes JSON. A proto message is written with a
// trailing newline, as kube-apiserver does. grpc-gateway's stream chunks
// are unwrapped: {"result": msg} is msg itself (a watch event
// {"type":...,"object":...}), {"error": status} is a watch ERROR event whose
// object is a Status; neither has a newline (the delimiter follows).
func (m *Marshaler) Marshal(v any) ([]byte, error) {
	var b []byte
	var err error
	switch x := v.(type) {
	case proto.Message:
		return m.encode(x, true)
	case map[string]any:
		if len(x) == 1 {
			if r, ok := x["result"]; ok {
				return m.chunk(r)
			}
			if e, ok := x["error"]; ok {
				st, _ := e.(*spb.Status)
				return m.errorEvent(st)
			}
		}
	case map[string]proto.Message:
		if len(x) == 1 {
			if r, ok := x["result"]; ok {
				return m.chunk(r)
			}
			if e, ok := x["error"]; ok {
				st, _ := e.(*spb.Status)
				return m.errorEvent(st)
			}
		}
	}
	b, err = json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return m.finish(b, true)
}

func (m *Marshaler) finish(b []byte, newline bool) ([]byte, error) {
	if m.pretty {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	if newline {
		b = append(b, '\n')
	}
	return b, nil
}

// bufPool holds encoding buffers: a message is written into one, then
// copied out at its final size, unless it grew the buffer past
// maxPooled.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 256 << 10

func (m *Marshaler) encode(msg proto.Message, newline bool) ([]byte, error) {
	pm := msg.ProtoReflect()
	if n, ok := m.largeSizes.Load(pm.Descriptor().FullName()); ok && !m.pretty {
		// Like the last large one of its type (a list): written into a
		// buffer of about its size, and handed out as it is.
		return m.encodeLarge(pm, n.(int), newline)
	}
	bp := bufPool.Get().(*[]byte)
	b, err := m.types.AppendMessage((*bp)[:0], pm)
	if err == nil && m.pretty {
		var out []byte
		out, err = m.finish(b, newline)
		m.release(bp, b)
		return out, err
	}
	if err == nil && cap(b) > maxPooled {
		// Grown past what the pool keeps (a large list): handed out as
		// it is, not copied, and its size kept for the next one.
		m.largeSizes.Store(pm.Descriptor().FullName(), len(b))
		if newline {
			b = append(b, '\n')
		}
		return b, nil
	}
	var out []byte
	if err == nil {
		n := len(b)
		if newline {
			n++
		}
		out = make([]byte, n)
		copy(out, b)
		if newline {
			out[n-1] = '\n'
		}
	}
	m.release(bp, b)
	return out, err
}

// encodeLarge writes pm into a new buffer of hint bytes and a margin.
// The hint follows the type's answers both ways: a smaller answer of the
// type lowers it, and one that fits the pool again drops it.
func (m *Marshaler) encodeLarge(pm protoreflect.Message, hint int, newline bool) ([]byte, error) {
	b, err := m.types.AppendMessage(make([]byte, 0, hint+hint/8+1), pm)
	if err != nil {
		return nil, err
	}
	if len(b) <= maxPooled/2 {
		m.largeSizes.Delete(pm.Descriptor().FullName())
	} else if len(b) != hint {
		m.largeSizes.Store(pm.Descriptor().FullName(), len(b))
	}
	if newline {
		b = append(b, '\n')
	}
	return b, nil
}

func (m *Marshaler) release(bp *[]byte, b []byte) {
	if cap(b) <= maxPooled {
		*bp = b[:0]
		bufPool.Put(bp)
	}
}

func (m *Marshaler) chunk(v any) ([]byte, error) {
	if msg, ok := v.(proto.Message); ok {
		return m.encode(msg, false)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return m.finish(b, false)
}

func (m *Marshaler) errorEvent(st *spb.Status) ([]byte, error) {
	b := []byte(`{"type":"ERROR","object":`)
	var obj proto.Message
	if m.streamError != nil {
		obj = m.streamError(st)
	}
	if obj != nil {
		var err error
		if b, err = m.types.AppendMessage(b, obj.ProtoReflect()); err != nil {
			return nil, err
		}
	} else {
		b = appendDefaultStatus(b, st)
	}
	return m.finish(append(b, '}'), false)
}

// appendDefaultStatus writes a meta/v1 Status for a gRPC status without
// knowing the Status message type.
func appendDefaultStatus(b []byte, st *spb.Status) []byte {
	code := codes.Unknown
	msg := "unknown error"
	if st != nil {
		code = codes.Code(st.GetCode())
		msg = st.GetMessage()
	}
	httpCode := runtime.HTTPStatusFromCode(code)
	b = append(b, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":`...)
	b = appendString(b, msg)
	if reason := reasonForHTTP(httpCode); reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, reason)
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(httpCode), 10)
	return append(b, '}')
}

// reasonForHTTP is meta/v1's StatusReason for an HTTP code.
func reasonForHTTP(code int) string {
	switch code {
	case 400:
		return "BadRequest"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "NotFound"
	case 405:
		return "MethodNotAllowed"
	case 406:
		return "NotAcceptable"
	case 409:
		return "Conflict"
	case 410:
		return "Expired"
	case 413:
		return "RequestEntityTooLarge"
	case 415:
		return "UnsupportedMediaType"
	case 422:
		return "Invalid"
	case 429:
		return "TooManyRequests"
	case 500:
		return "InternalError"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "Timeout"
	}
	return ""
}

// NewEncoder returns an encoder writing Marshal's output to w.
func (m *Marshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

// Unmarshal decodes one document into v: a proto message, a pointer to a
// (possibly nil) message pointer, or any other value (encoding/json,
// unknown fields refused).
func (m *Marshaler) Unmarshal(data []byte, v any) error {
	return m.decodeInto(data, v, m.decode)
}

// NewDecoder returns a decoder reading the whole of r (at most the size
// limit) as one document. An empty body decodes to io.EOF and leaves a
// **T target nil, as grpc-gateway expects. r made by BodyWithOptions
// carries its own options.
func (m *Marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	done := false
	return runtime.DecoderFunc(func(v any) error {
		if done {
			return io.EOF
		}
		done = true
		opts := OptionsOf(r, m.decode)
		data, err := ReadBody(r, opts.Limit())
		if err != nil {
			return err
		}
		return m.decodeInto(data, v, opts)
	})
}

func (m *Marshaler) decodeInto(data []byte, v any, opts DecodeOptions) error {
	if limit := opts.Limit(); limit >= 0 && int64(len(data)) > limit {
		return TooLarge(limit)
	}
	msg, commit, ok := MessageTarget(v)
	if !ok {
		if isBlank(data) {
			return io.EOF
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return &DecodeError{Message: err.Error(), Err: err}
		}
		return nil
	}
	if isBlank(data) {
		return io.EOF
	}
	commit()
	return m.types.Decode(data, msg, opts)
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// MessageTarget resolves what a grpc-gateway decoder is given: a message
// (decoded in place) or a pointer to a message pointer, such as
// &req.Namespace, for which a new message is made; commit stores it in the
// pointer (call it only once there is a body, so that no body leaves it
// nil).
func MessageTarget(v any) (msg proto.Message, commit func(), ok bool) {
	if pm, isMsg := v.(proto.Message); isMsg {
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, nil, false
		}
		return pm, func() {}, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, nil, false
	}
	elem := rv.Elem()
	if elem.Kind() != reflect.Pointer || !elem.Type().Implements(protoMessageType) {
		return nil, nil, false
	}
	if !elem.IsNil() {
		return elem.Interface().(proto.Message), func() {}, true
	}
	fresh := reflect.New(elem.Type().Elem())
	return fresh.Interface().(proto.Message), func() { elem.Set(fresh) }, true
}

// optionsBody is a request body carrying its own decoding options.
type optionsBody struct {
	io.ReadCloser
	opts DecodeOptions
}

// BodyWithOptions wraps a request body so that the decoders of this package
// and of kubeproto use opts for it (a request's ?fieldValidation=Warn). Set
// it as http.Request.Body last, after any other wrapping.
func BodyWithOptions(body io.ReadCloser, opts DecodeOptions) io.ReadCloser {
	if body == nil {
		body = io.NopCloser(bytes.NewReader(nil))
	}
	return &optionsBody{ReadCloser: body, opts: opts}
}

// OptionsOf returns the options a body made by BodyWithOptions carries, or
// def.
func OptionsOf(r io.Reader, def DecodeOptions) DecodeOptions {
	if ob, ok := r.(*optionsBody); ok {
		return ob.opts
	}
	return def
}

var (
	_ runtime.Marshaler         = (*Marshaler)(nil)
	_ runtime.Delimited         = (*Marshaler)(nil)
	_ runtime.StreamContentType = (*Marshaler)(nil)
)

// DecodeLenient decodes data into msg accepting unknown and duplicate
// fields (fieldValidation=Warn or Ignore); each is reported to onField in
// kube-apiserver's words (`unknown field "spec.foo"`).
func (m *Marshaler) DecodeLenient(data []byte, msg proto.Message, onField func(problem string)) error {
	opts := m.decode
	opts.AllowUnknown = true
	opts.OnUnknown = func(path string) { onField(fmt.Sprintf("unknown field %q", path)) }
	opts.OnDuplicate = func(path string) { onField(fmt.Sprintf("duplicate field %q", path)) }
	return m.types.Decode(data, msg, opts)
}
