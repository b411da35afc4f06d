package gateway

import (
	"context"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
)

// newMarshalers returns the JSON marshaler (every answer, and JSON
// bodies) and the Kubernetes protobuf marshaler (kubectl's typed
// commands' bodies; it answers JSON).
func newMarshalers(maxBody int64) (*kjson.Marshaler, *kubeproto.Marshaler) {
	j := kjson.New(
		kjson.WithTypes(kjson.KubernetesTypes()),
		kjson.WithDecodeOptions(kjson.DecodeOptions{MaxBytes: maxBody}),
		kjson.WithStreamError(streamErrorStatus),
	)
	return j, kubeproto.New(j)
}

// streamErrorStatus is the Status of a watch's ERROR event.
func streamErrorStatus(st *spb.Status) proto.Message {
	s, _ := apierrors.FromGRPCStatus(status.FromProto(st))
	return s
}

// rewriter is grpc-gateway's response rewriter: unwrap the RPC's wrapper,
// then print a Table or cut the answer down to its metadata when the
// request negotiated it.
func rewriter(types *kjson.Types, t *tabler, p partialer) func(context.Context, proto.Message) (any, error) {
	un := unwrap(types)
	return func(ctx context.Context, msg proto.Message) (any, error) {
		v, err := un(ctx, msg)
		if err != nil {
			return nil, err
		}
		if v, err = t.rewrite(ctx, v); err != nil {
			return nil, err
		}
		return p.rewrite(ctx, v)
	}
}

// unwrap is grpc-gateway's response rewriter: an RPC answers a wrapper
// message (GetPodResponse{pod}, DeletePodResponse{pod | status}) and REST
// answers the one object it holds. Messages that are Kubernetes kinds
// themselves (lists, Status, watch events) are answered as they are.
func unwrap(types *kjson.Types) func(context.Context, proto.Message) (any, error) {
	return func(_ context.Context, msg proto.Message) (any, error) {
		if msg == nil {
			return msg, nil
		}
		m := msg.ProtoReflect()
		if _, kind := types.KindOf(m.Descriptor()); kind != "" {
			return msg, nil
		}
		var only protoreflect.Message
		n := 0
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			n++
			if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
				only = v.Message()
			}
			return n < 2
		})
		if n == 1 && only != nil {
			return only.Interface(), nil
		}
		return msg, nil
	}
}
