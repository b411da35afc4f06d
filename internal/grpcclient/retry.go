package grpcclient

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Safety says whether a call may be sent again after it failed with
// Unavailable: the backend may have died before or after doing it.
type Safety int

const (
	// NotRetried calls may have done something that repeating would do
	// twice (a create with generateName, a patch, a delete of a
	// collection): their Unavailable is the caller's.
	NotRetried Safety = iota
	// Idempotent calls (reads, decisions) are retried and their answer
	// taken as it is.
	Idempotent
	// Conditional writes are retried because repeating one that did
	// succeed fails its own precondition (a create by name, an update
	// with a resourceVersion, a delete by name). Such a failure after a
	// retry cannot tell the caller's own first write from someone
	// else's, so it is answered with the first Unavailable: the outcome
	// is unknown, never a wrong AlreadyExists, Conflict or NotFound.
	Conditional
)

// RetryPolicy classifies a unary call by its full method name and
// request.
type RetryPolicy func(method string, req any) Safety

// RetryAll is the policy of authn and authz: their calls store nothing
// (decisions, reviews, token signing), so each may be sent again.
func RetryAll(string, any) Safety { return Idempotent }

// ResourceCalls is the policy of the api's resource services, by the
// method's verb and the request's object:
//   - Get*, List*: Idempotent;
//   - Create* of an object with metadata.name: Conditional (a
//     generateName create could make two objects: NotRetried);
//   - Update* of an object with metadata.resourceVersion: Conditional;
//   - Delete* of one object by name: Conditional;
//   - anything else (Patch*, DeleteCollection*, internal calls): NotRetried.
func ResourceCalls(method string, req any) Safety {
	verb := methodName(method)
	switch {
	case strings.HasPrefix(verb, "Get"), strings.HasPrefix(verb, "List"):
		return Idempotent
	case strings.HasPrefix(verb, "DeleteCollection"):
		return NotRetried
	case strings.HasPrefix(verb, "Delete"):
		if stringField(req, "name") != "" {
			return Conditional
		}
	case strings.HasPrefix(verb, "Create"):
		if stringFieldOf(objectMeta(req), "name") != "" {
			return Conditional
		}
	case strings.HasPrefix(verb, "Update"):
		if stringFieldOf(objectMeta(req), "resource_version") != "" {
			return Conditional
		}
	}
	return NotRetried
}

// methodName is the last part of "/pkg.Service/Method".
func methodName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// objectMeta finds the metadata of the object a request carries: the
// first singular message field whose message has a "metadata" message
// field with a "name"; nil when there is none.
func objectMeta(req any) protoreflect.Message {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !r.Has(f) {
			continue
		}
		obj := r.Get(f).Message()
		mdf := obj.Descriptor().Fields().ByName("metadata")
		if mdf == nil || mdf.Kind() != protoreflect.MessageKind || mdf.IsList() {
			continue
		}
		md := obj.Get(mdf).Message()
		if md.Descriptor().Fields().ByName("name") != nil {
			return md
		}
	}
	return nil
}

// stringField is req's string field name, "" when it has none.
func stringField(req any, name string) string {
	m, ok := req.(proto.Message)
	if !ok {
		return ""
	}
	return stringFieldOf(m.ProtoReflect(), protoreflect.Name(name))
}

func stringFieldOf(m protoreflect.Message, name protoreflect.Name) string {
	if m == nil || !m.IsValid() {
		return ""
	}
	f := m.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return ""
	}
	return m.Get(f).String()
}

// retryWait is the pause before the n-th retry (n from 1): short, the
// next backend is usually already connected.
func retryWait(n int) time.Duration { return time.Duration(n) * 25 * time.Millisecond }

// retrier sends a call that is safe to repeat again after Unavailable;
// round_robin picks the next backend, and one that died is out of the
// picker as soon as its connection breaks.
type retrier struct {
	policy   RetryPolicy
	attempts int
	log      *slog.Logger
}

func (r retrier) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if status.Code(err) != codes.Unavailable {
		return err
	}
	safety := r.policy(method, req)
	if safety == NotRetried {
		return err
	}
	first := err
	for n := 1; n < r.attempts; n++ {
		t := time.NewTimer(retryWait(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return first
		case <-t.C:
		}
		r.log.Debug("retrying on another backend", "method", method, "attempt", n+1, "error", err)
		err = invoker(ctx, method, req, reply, cc, opts...)
		switch code := status.Code(err); {
		case code == codes.Unavailable:
			continue
		case safety == Conditional && preconditionFailed(code):
			return first
		default:
			return err
		}
	}
	return err
}

// preconditionFailed: the answers a repeated conditional write gets when
// its first try did succeed.
func preconditionFailed(c codes.Code) bool {
	switch c {
	case codes.AlreadyExists, codes.Aborted, codes.NotFound, codes.FailedPrecondition:
		return true
	}
	return false
}
