package grpcclient

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
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

// readyBudget bounds how long the retries of one call wait, in all, for
// a backend to be connected when none is: long enough for a replica
// that just came back to be dialed again (reconnect's MaxDelay and its
// jitter), short enough that with every replica down the answer is a
// prompt Unavailable.
const readyBudget = 1500 * time.Millisecond

// waitReady waits until cc has a connected backend, or until deadline or
// ctx ends, whichever is first.
func waitReady(ctx context.Context, cc *grpc.ClientConn, deadline time.Time) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for s := cc.GetState(); s != connectivity.Ready; s = cc.GetState() {
		if s == connectivity.Idle {
			cc.Connect()
		}
		if !cc.WaitForStateChange(ctx, s) {
			return
		}
	}
}

// AnsweredUnavailable is the trailer key a Portico server sets on an
// Unavailable it answered because a service it needs stayed unavailable
// after its own retries and wait (GaveUp). Such an answer is not retried
// on another replica: that would wait for the same service again, once
// per layer of callers. An Unavailable without it (a replica going away,
// or one still loading) is retried.
const AnsweredUnavailable = "portico-answered-unavailable"

// answered reports whether the trailer marks an Unavailable as a
// server's give-up.
func answered(trailer metadata.MD) bool { return len(trailer.Get(AnsweredUnavailable)) > 0 }

type gaveUpKey struct{}

// TrackGaveUp returns a context whose calls through a retrying
// connection record when they give up (Unavailable after the retries and
// the wait, or a give-up answered by the backend), and the function that
// reports it; a server sets AnsweredUnavailable when it did.
func TrackGaveUp(ctx context.Context) (context.Context, func() bool) {
	var b atomic.Bool
	return context.WithValue(ctx, gaveUpKey{}, &b), b.Load
}

func noteGaveUp(ctx context.Context) {
	if b, ok := ctx.Value(gaveUpKey{}).(*atomic.Bool); ok {
		b.Store(true)
	}
}

// retrier sends a call that is safe to repeat again after Unavailable;
// round_robin picks the next backend, and one that died is out of the
// picker as soon as its connection breaks.
type retrier struct {
	policy   RetryPolicy
	attempts int
	log      *slog.Logger
}

func (r retrier) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var trailer metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&trailer))...)
	if status.Code(err) != codes.Unavailable {
		return err
	}
	if answered(trailer) {
		noteGaveUp(ctx)
		return err
	}
	safety := r.policy(method, req)
	if safety == NotRetried {
		return err
	}
	first := err
	deadline := time.Now().Add(readyBudget)
	for n := 1; n < r.attempts; n++ {
		t := time.NewTimer(retryWait(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return first
		case <-t.C:
		}
		if waitReady(ctx, cc, deadline); ctx.Err() != nil {
			noteGaveUp(ctx)
			return first
		}
		r.log.Debug("retrying on another backend", "method", method, "attempt", n+1, "error", err)
		trailer = nil
		err = invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&trailer))...)
		switch code := status.Code(err); {
		case code == codes.Unavailable && answered(trailer):
			noteGaveUp(ctx)
			return first
		case code == codes.Unavailable:
			continue
		case safety == Conditional && preconditionFailed(code):
			return first
		default:
			return err
		}
	}
	noteGaveUp(ctx)
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
