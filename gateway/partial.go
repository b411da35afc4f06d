package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Metadata-only answers (Accept: ...;as=PartialObjectMetadata;
// g=meta.k8s.io;v=v1, and PartialObjectMetadataList), as the garbage
// collector, the namespace controller and metadata informers ask for them:
// meta.k8s.io/v1 PartialObjectMetadata holding only the object's metadata,
// in JSON or Kubernetes protobuf. The api answers Get, List and Watch with
// metadata only (metadata_only); the answers of other verbs are cut down
// here.

// partialEvent is a watch event whose object is a PartialObjectMetadata
// (or, for an ERROR, a Status).
type partialEvent struct {
	Type   string
	Object proto.Message
	json   *kjson.Marshaler
}

// MarshalJSON writes the event as kube-apiserver's watch does.
func (e partialEvent) MarshalJSON() ([]byte, error) {
	obj, err := e.json.Marshal(e.Object)
	if err != nil {
		return nil, err
	}
	typ, err := json.Marshal(e.Type)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"type":`)
	b.Write(typ)
	b.WriteString(`,"object":`)
	b.Write(bytes.TrimSpace(obj))
	b.WriteByte('}')
	return b.Bytes(), nil
}

// partialer cuts answers down to their metadata when the request
// negotiated it.
type partialer struct {
	json *kjson.Marshaler
}

// rewrite turns an object, a list or a watch event into its metadata-only
// form; a Status and anything else is answered as it is.
func (p partialer) rewrite(ctx context.Context, msg any) (any, error) {
	if as := outputOf(ctx).as; as != asPartial && as != asPartialList {
		return msg, nil
	}
	pm, ok := msg.(proto.Message)
	if !ok {
		return msg, nil
	}
	m := pm.ProtoReflect()
	fields := m.Descriptor().Fields()
	_, kind := p.json.Types().KindOf(m.Descriptor())
	switch {
	case kind == asPartial || kind == asPartialList || kind == "Status":
		return msg, nil
	case fields.ByName("type") != nil && fields.ByName("object") != nil && kind == "":
		ev := partialEvent{Type: m.Get(fields.ByName("type")).String(), json: p.json}
		if fd := fields.ByName("partial_object_metadata"); fd != nil && m.Has(fd) {
			ev.Object = m.Get(fd).Message().Interface()
		} else {
			ev.Object = partialOfMessage(m.Get(fields.ByName("object")).Message())
		}
		return ev, nil
	case fields.ByName("items") != nil && fields.ByName("metadata") != nil:
		list := &corev1.PartialObjectMetadataList{}
		if lm, ok := m.Get(fields.ByName("metadata")).Message().Interface().(*corev1.ListMeta); ok && m.Has(fields.ByName("metadata")) {
			list.Metadata = lm
		}
		if fd := fields.ByName("partial_object_metadata_items"); fd != nil && m.Get(fd).List().Len() > 0 {
			items := m.Get(fd).List()
			for i := range items.Len() {
				list.Items = append(list.Items, items.Get(i).Message().Interface().(*corev1.PartialObjectMetadata))
			}
			return list, nil
		}
		items := m.Get(fields.ByName("items")).List()
		for i := range items.Len() {
			list.Items = append(list.Items, partialOfMessage(items.Get(i).Message()))
		}
		return list, nil
	case kind != "" && fields.ByName("metadata") != nil:
		return partialOfMessage(m), nil
	}
	return msg, nil
}

// partialOfMessage is an object's metadata as a PartialObjectMetadata.
func partialOfMessage(obj protoreflect.Message) *corev1.PartialObjectMetadata {
	out := &corev1.PartialObjectMetadata{}
	if fd := obj.Descriptor().Fields().ByName("metadata"); fd != nil && obj.Has(fd) {
		out.Metadata, _ = obj.Get(fd).Message().Interface().(*corev1.ObjectMeta)
	}
	return out
}

// partialProtobuf is the marshaler of protobuf metadata-only answers
// (mediaPartialProtobuf): objects and lists as Kubernetes protobuf bodies,
// watch events as kube-apiserver's length-prefixed protobuf stream.
// Request bodies are read as the JSON marshaler reads them.
type partialProtobuf struct {
	json *kjson.Marshaler
}

// Marshal writes one answer, or one event of a watch.
func (m partialProtobuf) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case proto.Message:
		return m.object(x)
	case map[string]any:
		if r, ok := x["result"]; ok && len(x) == 1 {
			return m.event(r)
		}
	case map[string]proto.Message:
		if e, ok := x["error"]; ok && len(x) == 1 {
			st, _ := e.(*spb.Status)
			return m.event(partialEvent{Type: "ERROR", Object: streamErrorStatus(st)})
		}
	}
	return nil, fmt.Errorf("gateway: %T has no Kubernetes protobuf form", v)
}

func (m partialProtobuf) object(msg proto.Message) ([]byte, error) {
	apiVersion, kind := m.json.Types().KindOf(msg.ProtoReflect().Descriptor())
	if kind == "" {
		return nil, fmt.Errorf("gateway: %s is not a kind", msg.ProtoReflect().Descriptor().FullName())
	}
	return kubeproto.AppendObject(nil, apiVersion, kind, msg)
}

func (m partialProtobuf) event(v any) ([]byte, error) {
	ev, ok := v.(partialEvent)
	if !ok {
		return nil, fmt.Errorf("gateway: %T is not a metadata-only watch event", v)
	}
	obj, err := m.object(ev.Object)
	if err != nil {
		return nil, err
	}
	return kubeproto.AppendWatchFrame(nil, ev.Type, obj), nil
}

// ContentType is Kubernetes protobuf's.
func (partialProtobuf) ContentType(any) string { return kubeproto.ContentType }

// StreamContentType is kube-apiserver's for a protobuf watch.
func (partialProtobuf) StreamContentType(any) string { return kubeproto.WatchContentType }

// Delimiter is empty: every event carries its length.
func (partialProtobuf) Delimiter() []byte { return nil }

// Unmarshal reads JSON.
func (m partialProtobuf) Unmarshal(data []byte, v any) error { return m.json.Unmarshal(data, v) }

// NewDecoder reads JSON.
func (m partialProtobuf) NewDecoder(r io.Reader) runtime.Decoder { return m.json.NewDecoder(r) }

// NewEncoder writes what Marshal writes.
func (m partialProtobuf) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}

var (
	_ runtime.Marshaler         = partialProtobuf{}
	_ runtime.Delimited         = partialProtobuf{}
	_ runtime.StreamContentType = partialProtobuf{}
)
