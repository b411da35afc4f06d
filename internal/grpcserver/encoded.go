package grpcserver

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec wrapped here
	"google.golang.org/grpc/mem"
)

// Encoded is a message already in protobuf's wire format. A stream's
// SendMsg(Encoded(b)) sends b as it is, so a message sent on many
// streams (one watch event to every watcher) is encoded once. b is only
// read, never changed or kept past the send.
type Encoded []byte

// codec is gRPC's protobuf codec, but for Encoded, whose bytes go out
// as they are.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec { return codec{proto: encoding.GetCodecV2("proto")} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(Encoded); ok {
		return mem.BufferSlice{mem.SliceBuffer(e)}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c codec) Name() string { return c.proto.Name() }
