package kubeproto

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// WatchContentType is the media type of a protobuf watch stream, as
// kube-apiserver answers it.
const WatchContentType = ContentType + ";stream=watch"

// AppendObject appends msg as a Kubernetes protobuf body: the envelope
// naming apiVersion and kind around msg's encoding. Portico's messages
// keep k8s.io's field numbers, so the body decodes into k8s.io's types.
func AppendObject(b []byte, apiVersion, kind string, msg proto.Message) ([]byte, error) {
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return AppendEnvelope(b, apiVersion, kind, raw), nil
}

// AppendWatchFrame appends one event of a protobuf watch stream as
// kube-apiserver writes it: a 4-byte big-endian length, then a meta/v1
// WatchEvent (type = 1, object = 2, a RawExtension whose raw = 1 holds
// object, a whole Kubernetes protobuf body) without an envelope of its
// own.
func AppendWatchFrame(b []byte, eventType string, object []byte) []byte {
	var raw []byte
	raw = protowire.AppendTag(raw, 1, protowire.BytesType)
	raw = protowire.AppendBytes(raw, object)
	var ev []byte
	ev = protowire.AppendTag(ev, 1, protowire.BytesType)
	ev = protowire.AppendString(ev, eventType)
	ev = protowire.AppendTag(ev, 2, protowire.BytesType)
	ev = protowire.AppendBytes(ev, raw)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ev)))
	return append(b, ev...)
}
