package gateway

import (
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/gateway/kjson"
	"github.com/portico-dev/portico/internal/apierrors"
)

// newMarshalers returns the JSON marshaler (every answer, and JSON
// bodies) and the Kubernetes protobuf marshaler (kubectl's typed
// commands' bodies; it answers JSON).
func newMarshalers(maxBody int64) (*kjson.Marshaler, *kjson.Marshaler) {
	j := kjson.New(
		kjson.WithTypes(kjson.CoreV1Types()),
		kjson.WithDecodeOptions(kjson.DecodeOptions{MaxBytes: maxBody}),
		kjson.WithStreamError(streamErrorStatus),
	)
	return j, j
}

// streamErrorStatus is the Status of a watch's ERROR event.
func streamErrorStatus(st *spb.Status) proto.Message {
	s, _ := apierrors.FromGRPCStatus(status.FromProto(st))
	return s
}
