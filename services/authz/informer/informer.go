// Package informer keeps an in-memory copy of one kind of object that the
// api stores, as client-go's reflector does: a List, then a Watch from the
// list's resourceVersion, and a new List after any failure. The authz
// service reads pods (Node mode) and RBAC objects this way, over gRPC with
// its own service certificate.
package informer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Object is a stored Kubernetes object.
type Object interface {
	proto.Message
	GetMetadata() *corev1.ObjectMeta
}

// Handler receives the objects: Replace with the whole set after each
// List, then Upsert and Delete for each watch event.
type Handler[T Object] interface {
	Replace(items []T)
	Upsert(obj T)
	Delete(obj T)
}

// Source lists and watches one kind on the api through the conventional
// RPCs of its service: List<Plural> and Watch<Plural>.
type Source[T Object] struct {
	conn                  grpc.ClientConnInterface
	listMethod, watchMeth string
	listReq, listResp     protoreflect.MessageType
	watchReq, watchResp   protoreflect.MessageType
	kind                  string
}

// NewSource returns the source of a kind served by service (a full proto
// name, "portico.core.v1.PodService") whose RPCs are List<plural> and
// Watch<plural>.
func NewSource[T Object](conn grpc.ClientConnInterface, service, plural string) (*Source[T], error) {
	pkg := protoreflect.FullName(service).Parent()
	s := &Source[T]{
		conn:       conn,
		listMethod: "/" + service + "/List" + plural,
		watchMeth:  "/" + service + "/Watch" + plural,
		kind:       plural,
	}
	for _, m := range []struct {
		name string
		dst  *protoreflect.MessageType
	}{
		{"List" + plural + "Request", &s.listReq}, {"List" + plural + "Response", &s.listResp},
		{"Watch" + plural + "Request", &s.watchReq}, {"Watch" + plural + "Response", &s.watchResp},
	} {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(pkg.Append(protoreflect.Name(m.name)))
		if err != nil {
			return nil, fmt.Errorf("informer %s: %w", plural, err)
		}
		*m.dst = mt
	}
	return s, nil
}

func setString(m protoreflect.Message, field, v string) {
	if fd := m.Descriptor().Fields().ByName(protoreflect.Name(field)); fd != nil && v != "" {
		m.Set(fd, protoreflect.ValueOfString(v))
	}
}

// list returns every object and the list's resourceVersion.
func (s *Source[T]) list(ctx context.Context) ([]T, string, error) {
	req, resp := s.listReq.New(), s.listResp.New()
	// WaitForReady: while the api is not up yet, wait for it rather than
	// fail and back off.
	if err := s.conn.Invoke(ctx, s.listMethod, req.Interface(), resp.Interface(), grpc.WaitForReady(true)); err != nil {
		return nil, "", err
	}
	fields := resp.Descriptor().Fields()
	items := resp.Get(fields.ByName("items")).List()
	out := make([]T, 0, items.Len())
	for i := range items.Len() {
		obj, ok := items.Get(i).Message().Interface().(T)
		if !ok {
			return nil, "", fmt.Errorf("%s: unexpected item type %T", s.listMethod, items.Get(i).Message().Interface())
		}
		out = append(out, obj)
	}
	meta, _ := resp.Get(fields.ByName("metadata")).Message().Interface().(*corev1.ListMeta)
	return out, meta.GetResourceVersion(), nil
}

// event is one watch event.
type event[T Object] struct {
	typ string
	obj T
}

// watch streams events from resourceVersion rv.
func (s *Source[T]) watch(ctx context.Context, rv string) (func() (event[T], error), error) {
	req := s.watchReq.New()
	setString(req, "resource_version", rv)
	if fd := req.Descriptor().Fields().ByName("allow_watch_bookmarks"); fd != nil {
		req.Set(fd, protoreflect.ValueOfBool(true))
	}
	stream, err := s.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, s.watchMeth, grpc.WaitForReady(true))
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(req.Interface()); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	return func() (event[T], error) {
		resp := s.watchResp.New()
		if err := stream.RecvMsg(resp.Interface()); err != nil {
			return event[T]{}, err
		}
		fields := resp.Descriptor().Fields()
		ev := event[T]{typ: resp.Get(fields.ByName("type")).String()}
		obj, ok := resp.Get(fields.ByName("object")).Message().Interface().(T)
		if !ok {
			return event[T]{}, fmt.Errorf("%s: unexpected object type", s.watchMeth)
		}
		ev.obj = obj
		return ev, nil
	}, nil
}

// Backoff bounds the wait between failed attempts.
var (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run keeps h current until ctx ends. synced is called after the first
// successful List (nil for none).
func Run[T Object](ctx context.Context, s *Source[T], h Handler[T], log *slog.Logger, synced func()) {
	log = log.With("informer", s.kind)
	backoff := minBackoff
	for ctx.Err() == nil {
		err := runOnce(ctx, s, h, &synced, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return
		}
		log.Debug("list and watch ended; listing again", "error", err, "after", backoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func runOnce[T Object](ctx context.Context, s *Source[T], h Handler[T], synced *func(), healthy func()) error {
	items, rv, err := s.list(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	h.Replace(items)
	if *synced != nil {
		(*synced)()
		*synced = nil
	}
	healthy()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next, err := s.watch(ctx, rv)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	for {
		ev, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("watch closed")
			}
			return fmt.Errorf("watch: %w", err)
		}
		switch ev.typ {
		case "ADDED", "MODIFIED":
			h.Upsert(ev.obj)
		case "DELETED":
			h.Delete(ev.obj)
		case "BOOKMARK":
		default:
			return fmt.Errorf("watch event %q", ev.typ)
		}
	}
}

// Key is the namespace/name of an object.
func Key(o Object) string {
	m := o.GetMetadata()
	return m.GetNamespace() + "/" + m.GetName()
}
