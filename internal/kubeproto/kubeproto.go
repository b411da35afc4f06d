// Package kubeproto reads the Kubernetes protobuf request body
// (application/vnd.kubernetes.protobuf) that kubectl's typed commands send:
// the four bytes "k8s\x00" and a runtime.Unknown message whose raw field is
// the object in Kubernetes protobuf, which portico.core.v1 messages decode
// directly (their field numbers are k8s.io/api's).
//
// Answers are JSON: Marshal and ContentType are kjson's.
package kubeproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/kjson"
)

// ContentType is the media type of the requests this package reads.
const ContentType = "application/vnd.kubernetes.protobuf"

// Magic starts every Kubernetes protobuf body.
var Magic = []byte("k8s\x00")

// Unknown is the runtime.Unknown envelope of a Kubernetes protobuf body.
type Unknown struct {
	APIVersion      string // typeMeta.apiVersion (field 1.1)
	Kind            string // typeMeta.kind (field 1.2)
	Raw             []byte // field 2: the object, in Kubernetes protobuf
	ContentEncoding string // field 3
	ContentType     string // field 4
}

// ParseEnvelope reads a body: the magic, then a runtime.Unknown. Raw
// aliases data.
func ParseEnvelope(data []byte) (Unknown, error) {
	var u Unknown
	if !bytes.HasPrefix(data, Magic) {
		return u, fmt.Errorf("provided data does not appear to be a protobuf message, expected prefix %v", Magic)
	}
	b := data[len(Magic):]
	if len(b) == 0 {
		return u, errors.New("empty body")
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return u, fmt.Errorf("runtime.Unknown: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num >= 1 && num <= 4 {
			if typ != protowire.BytesType {
				return u, fmt.Errorf("proto: wrong wireType = %d for field %s", typ, unknownFieldNames[num])
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return u, fmt.Errorf("runtime.Unknown: %w", protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 1:
				if err := parseTypeMeta(v, &u); err != nil {
					return u, err
				}
			case 2:
				u.Raw = v
			case 3:
				u.ContentEncoding = string(v)
			case 4:
				u.ContentType = string(v)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return u, fmt.Errorf("runtime.Unknown: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return u, nil
}

var unknownFieldNames = map[protowire.Number]string{1: "TypeMeta", 2: "Raw", 3: "ContentEncoding", 4: "ContentType"}

func parseTypeMeta(b []byte, u *Unknown) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("runtime.TypeMeta: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 || num == 2 {
			if typ != protowire.BytesType {
				name := "APIVersion"
				if num == 2 {
					name = "Kind"
				}
				return fmt.Errorf("proto: wrong wireType = %d for field %s", typ, name)
			}
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("runtime.TypeMeta: %w", protowire.ParseError(n))
			}
			b = b[n:]
			if num == 1 {
				u.APIVersion = string(v)
			} else {
				u.Kind = string(v)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return fmt.Errorf("runtime.TypeMeta: %w", protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// AppendEnvelope appends a Kubernetes protobuf body holding raw, as
// kube-apiserver and client-go write it (empty contentEncoding and
// contentType included).
func AppendEnvelope(b []byte, apiVersion, kind string, raw []byte) []byte {
	var tm []byte
	tm = protowire.AppendTag(tm, 1, protowire.BytesType)
	tm = protowire.AppendString(tm, apiVersion)
	tm = protowire.AppendTag(tm, 2, protowire.BytesType)
	tm = protowire.AppendString(tm, kind)
	b = append(b, Magic...)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, tm)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "")
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, "")
	return b
}

// Marshaler is a grpc-gateway runtime.Marshaler reading Kubernetes
// protobuf bodies and writing JSON through a kjson.Marshaler.
type Marshaler struct {
	json *kjson.Marshaler
}

// New returns a Marshaler that checks kinds against json's Types, takes
// its default decoding options (strictness, size limit) from json, and
// answers with json.
func New(json *kjson.Marshaler) *Marshaler {
	return &Marshaler{json: json}
}

// Marshal writes JSON (kjson).
func (m *Marshaler) Marshal(v any) ([]byte, error) { return m.json.Marshal(v) }

// ContentType is the answer's: "application/json".
func (m *Marshaler) ContentType(v any) string { return m.json.ContentType(v) }

// StreamContentType is the answer's: "application/json".
func (m *Marshaler) StreamContentType(v any) string { return m.json.StreamContentType(v) }

// Delimiter is kjson's.
func (m *Marshaler) Delimiter() []byte { return m.json.Delimiter() }

// NewEncoder writes JSON (kjson).
func (m *Marshaler) NewEncoder(w io.Writer) runtime.Encoder { return m.json.NewEncoder(w) }

// Unmarshal decodes one Kubernetes protobuf body into v (a message, or a
// pointer to a possibly nil message pointer).
func (m *Marshaler) Unmarshal(data []byte, v any) error {
	return m.decodeInto(data, v, m.json.DecodeOptions())
}

// NewDecoder returns a decoder reading the whole of r (at most the size
// limit) as one body. An empty body is io.EOF and leaves a **T target nil.
func (m *Marshaler) NewDecoder(r io.Reader) runtime.Decoder {
	done := false
	return runtime.DecoderFunc(func(v any) error {
		if done {
			return io.EOF
		}
		done = true
		opts := kjson.OptionsOf(r, m.json.DecodeOptions())
		data, err := kjson.ReadBody(r, opts.Limit())
		if err != nil {
			return err
		}
		return m.decodeInto(data, v, opts)
	})
}

func (m *Marshaler) decodeInto(data []byte, v any, opts kjson.DecodeOptions) error {
	msg, commit, ok := kjson.MessageTarget(v)
	if !ok {
		return fmt.Errorf("%s cannot be decoded into %T", ContentType, v)
	}
	if len(data) == 0 {
		return io.EOF
	}
	commit()
	return m.Decode(data, msg, opts)
}

// Decode decodes one Kubernetes protobuf body into msg (reset first).
// Errors are *kjson.DecodeError, worded like kube-apiserver's; fields msg
// does not know are reported as unknown (`unknown field "metadata.#17"`,
// by field number) unless opts.AllowUnknown.
func (m *Marshaler) Decode(data []byte, msg proto.Message, opts kjson.DecodeOptions) error {
	types := m.json.Types()
	md := msg.ProtoReflect().Descriptor()
	if limit := opts.Limit(); limit >= 0 && int64(len(data)) > limit {
		return kjson.TooLarge(limit)
	}
	if len(data) == 0 {
		return io.EOF
	}
	u, err := ParseEnvelope(data)
	if err != nil {
		return types.Unrecognized(md, err, data)
	}
	apiVersion, kind, err := types.CheckKind(md, u.APIVersion, u.Kind)
	if err != nil {
		return types.CannotHandle(md, apiVersion, kind, err)
	}
	if u.ContentEncoding != "" {
		return types.CannotHandle(md, apiVersion, kind, fmt.Errorf("content encoding %q is not supported", u.ContentEncoding))
	}
	if u.ContentType != "" && u.ContentType != ContentType {
		return types.CannotHandle(md, apiVersion, kind, fmt.Errorf("content type %q of the raw object is not supported", u.ContentType))
	}
	proto.Reset(msg)
	if err := (proto.UnmarshalOptions{}).Unmarshal(u.Raw, msg); err != nil {
		return types.CannotHandle(md, apiVersion, kind, err)
	}
	var unknown []string
	if err := normalize(types, msg.ProtoReflect(), nil, &unknown); err != nil {
		return types.CannotHandle(md, apiVersion, kind, err)
	}
	if len(unknown) == 0 {
		return nil
	}
	if !opts.AllowUnknown {
		texts := make([]string, len(unknown))
		for i, p := range unknown {
			texts[i] = "unknown field " + strconv.Quote(p)
		}
		de := types.CannotHandle(md, apiVersion, kind, kjson.StrictError(texts))
		de.Strict = texts
		return de
	}
	if opts.OnUnknown != nil {
		for _, p := range unknown {
			opts.OnUnknown(p)
		}
	}
	return nil
}

// maxUnknown caps the unknown fields reported for one body.
const maxUnknown = 100

// Timestamps must lie in years 1 to 9999, as RFC 3339 has them.
const (
	minSeconds = -62135596800
	maxSeconds = 253402300799
)

// normalize walks m in field declaration order, collecting the paths of
// unknown fields ("metadata.#17"), checking Timestamps and MicroTimes and
// clearing zero ones (gogo writes an unset meta/v1 Time as an empty
// message, which Kubernetes reads as the zero time, not 1970), and checking
// that FieldsV1 holds JSON.
func normalize(types *kjson.Types, m protoreflect.Message, path []byte, unknown *[]string) error {
	if raw := m.GetUnknown(); len(raw) > 0 {
		var last protowire.Number
		for len(raw) > 0 {
			num, typ, n := protowire.ConsumeTag(raw)
			if n < 0 {
				break
			}
			raw = raw[n:]
			n = protowire.ConsumeFieldValue(num, typ, raw)
			if n < 0 {
				break
			}
			raw = raw[n:]
			if num == last {
				continue
			}
			last = num
			if len(*unknown) < maxUnknown {
				p := append(append([]byte(nil), path...), '#')
				if len(path) > 0 {
					p = append(append(append([]byte(nil), path...), '.'), '#')
				}
				*unknown = append(*unknown, string(strconv.AppendInt(p, int64(num), 10)))
			}
		}
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				p := appendKey(path, fd.JSONName())
				p = append(p, '[')
				p = strconv.AppendInt(p, int64(j), 10)
				p = append(p, ']')
				if err := normalize(types, l.Get(j).Message(), p, unknown); err != nil {
					return err
				}
			}
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			base := appendKey(path, fd.JSONName())
			mp := m.Get(fd).Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				if err := normalize(types, mp.Get(k).Message(), appendKey(base, k.String()), unknown); err != nil {
					return err
				}
			}
		case fd.Message() != nil:
			sub := m.Get(fd).Message()
			if sub.Descriptor().FullName() == "google.protobuf.Timestamp" && len(sub.GetUnknown()) == 0 {
				sf := sub.Descriptor().Fields()
				secs, nanos := sub.Get(sf.ByNumber(1)).Int(), sub.Get(sf.ByNumber(2)).Int()
				if secs == 0 {
					m.Clear(fd)
					continue
				}
				if secs < minSeconds || secs > maxSeconds || nanos < 0 || nanos >= 1e9 {
					return fmt.Errorf("%s: timestamp out of range: %d seconds, %d nanoseconds", appendKey(path, fd.JSONName()), secs, nanos)
				}
			}
			if typ, ok := types.Lookup(sub.Descriptor().FullName()); ok && len(sub.GetUnknown()) == 0 {
				switch typ.Encoding {
				case kjson.EncodingMicroTime:
					sf := sub.Descriptor().Fields()
					secs, nanos := sub.Get(sf.ByNumber(1)).Int(), sub.Get(sf.ByNumber(2)).Int()
					if secs == 0 && nanos == 0 {
						m.Clear(fd)
						continue
					}
					if secs < minSeconds || secs > maxSeconds || nanos < 0 || nanos >= 1e9 {
						return fmt.Errorf("%s: timestamp out of range: %d seconds, %d nanoseconds", appendKey(path, fd.JSONName()), secs, nanos)
					}
				case kjson.EncodingRawJSON:
					if raw := sub.Get(sub.Descriptor().Fields().Get(0)).Bytes(); len(raw) > 0 && !json.Valid(raw) {
						return fmt.Errorf("%s: not JSON", appendKey(path, fd.JSONName()))
					}
				}
			}
			if err := normalize(types, sub, appendKey(path, fd.JSONName()), unknown); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendKey(path []byte, key string) []byte {
	p := make([]byte, 0, len(path)+1+len(key))
	p = append(p, path...)
	if len(p) > 0 {
		p = append(p, '.')
	}
	return append(p, key...)
}

var (
	_ runtime.Marshaler         = (*Marshaler)(nil)
	_ runtime.Delimited         = (*Marshaler)(nil)
	_ runtime.StreamContentType = (*Marshaler)(nil)
)
