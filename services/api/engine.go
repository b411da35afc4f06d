package api

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/grpcserver"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// The engine serves every resource's gRPC service from its descriptor:
// an RPC's name says what it does (GetPod, ListPods, UpdatePodStatus, ...)
// and the request and response fields are found by name and type, so a
// new kind needs a proto service that follows the conventions and a
// resource[T] with its hooks, and no hand-written handlers.

// op is what one RPC does, in Kubernetes terms.
type op struct {
	verb        string // get, list, create, update, patch, delete, deletecollection, watch
	subresource string // "", "status", "binding", "token", "finalize"
}

// verbPrefixes are the RPC name prefixes, longest first so that
// DeleteCollection is not read as Delete.
var verbPrefixes = []struct{ prefix, verb string }{
	{"DeleteCollection", "deletecollection"},
	{"Create", "create"}, {"Update", "update"}, {"Patch", "patch"},
	{"Delete", "delete"}, {"Watch", "watch"}, {"List", "list"}, {"Get", "get"},
}

// parseOp reads an RPC name for a kind (e.g. "Pod", plural "Pods").
func parseOp(method, kind, plural string) (op, bool) {
	for _, v := range verbPrefixes {
		rest, ok := strings.CutPrefix(method, v.prefix)
		if !ok {
			continue
		}
		switch v.verb {
		case "list", "watch", "deletecollection":
			return op{verb: v.verb}, rest == plural
		}
		if rest == kind {
			return op{verb: v.verb}, true
		}
		if sub, ok := strings.CutPrefix(rest, kind); ok && sub != "" {
			return op{verb: v.verb, subresource: strings.ToLower(sub)}, true
		}
		return op{}, false
	}
	return op{}, false
}

// kindHandler is the untyped face of a resource[T] that the engine calls.
type kindHandler interface {
	meta() *kindMeta
	unary(ctx context.Context, o op, req proto.Message, resp protoreflect.Message) error
	watchStream(ctx context.Context, req proto.Message, stream grpc.ServerStream, newResp func() protoreflect.Message) error
}

// kindMeta names a kind and its gRPC service.
type kindMeta struct {
	group, version, plural, kind, pluralKind string
	namespaced                               bool
	service                                  protoreflect.FullName
}

// findService looks a gRPC service up among the linked proto files.
func findService(name string) (protoreflect.ServiceDescriptor, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", name)
	}
	return sd, nil
}

// register builds the grpc.ServiceDesc of a kind's service from its proto
// descriptor and registers it; every method is also added to the
// authorization table.
func (s *Service) register(r grpc.ServiceRegistrar, h kindHandler) error {
	m := h.meta()
	sd, err := findService(string(m.service))
	if err != nil {
		return err
	}
	desc := grpc.ServiceDesc{
		ServiceName: string(sd.FullName()),
		HandlerType: (*any)(nil),
		Metadata:    sd.ParentFile().Path(),
	}
	methods := sd.Methods()
	for i := range methods.Len() {
		md := methods.Get(i)
		o, ok := parseOp(string(md.Name()), m.kind, m.pluralKind)
		if !ok {
			return fmt.Errorf("%s: method %s does not follow the naming conventions", m.service, md.Name())
		}
		reqType, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
		if err != nil {
			return err
		}
		respType, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
		if err != nil {
			return err
		}
		full := "/" + string(sd.FullName()) + "/" + string(md.Name())
		s.methods[full] = methodInfo{verb: o.verb, group: m.group, version: m.version, resource: m.plural, subresource: o.subresource}
		if md.IsStreamingServer() {
			desc.Streams = append(desc.Streams, grpc.StreamDesc{
				StreamName:    string(md.Name()),
				ServerStreams: true,
				Handler: func(_ any, stream grpc.ServerStream) error {
					req := reqType.New().Interface()
					if err := stream.RecvMsg(req); err != nil {
						return err
					}
					return h.watchStream(stream.Context(), req, stream, func() protoreflect.Message { return respType.New() })
				},
			})
			continue
		}
		desc.Methods = append(desc.Methods, grpc.MethodDesc{
			MethodName: string(md.Name()),
			Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
				req := reqType.New().Interface()
				if err := dec(req); err != nil {
					return nil, err
				}
				call := func(ctx context.Context, req any) (any, error) {
					resp := respType.New()
					if err := h.unary(ctx, o, req.(proto.Message), resp); err != nil {
						return nil, err
					}
					return resp.Interface(), nil
				}
				if interceptor == nil {
					return call(ctx, req)
				}
				return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, call)
			},
		})
	}
	r.RegisterService(&desc, struct{}{})
	return nil
}

// unary dispatches one call of a resource[T].
func (r *resource[T]) unary(ctx context.Context, o op, req proto.Message, resp protoreflect.Message) error {
	if o.subresource != "" {
		sub, ok := r.subresources[o.subresource]
		if !ok || sub[o.verb] == nil {
			return apierrors.MethodNotAllowed()
		}
		out, err := sub[o.verb](ctx, req)
		if err != nil {
			return err
		}
		return setSingle(resp, out)
	}
	ns := stringField(req, "namespace")
	name := stringField(req, "name")
	switch o.verb {
	case "get":
		obj, err := r.read(ctx, ns, name) // only encoded
		if err != nil {
			return err
		}
		if boolField(req, "metadata_only") {
			return setSingle(resp, partialOf(obj))
		}
		return setSingle(resp, obj)
	case "list":
		res, err := r.list(ctx, ns, req.(listRequest), true) // only encoded
		if err != nil {
			return err
		}
		if boolField(req, "metadata_only") {
			setPartialList(resp, listMeta(res), res.Items)
			return nil
		}
		setList(resp, listMeta(res), res.Items)
		return nil
	case "create", "update":
		obj, ok := r.body(req)
		if !ok {
			return apierrors.BadRequest(fmt.Sprintf("the request has no %s", r.kind))
		}
		optionsKind := "UpdateOptions"
		if o.verb == "create" {
			optionsKind = "CreateOptions"
		}
		wo, err := readWriteOptions(ctx, req, optionsKind)
		if err != nil {
			return err
		}
		var out T
		if o.verb == "create" {
			out, err = r.create(ctx, ns, obj, wo)
			if err == nil {
				created(ctx)
			}
		} else {
			out, err = r.update(ctx, ns, name, obj, wo)
		}
		if err != nil {
			return err
		}
		return setSingle(resp, out)
	case "patch":
		pr, ok := req.(patchRequest)
		if !ok {
			return apierrors.MethodNotAllowed()
		}
		out, err := r.patch(ctx, ns, name, pr)
		if err != nil {
			return err
		}
		return setSingle(resp, out)
	case "delete":
		body, _ := messageField(req, "options").(*corev1.DeleteOptions)
		dry, err := dryRunAll(append(stringsField(req, "dry_run"), body.GetDryRun()...))
		if err != nil {
			return err
		}
		if err := validateDeleteOptions(body, stringField(req, "propagation_policy")); err != nil {
			return err
		}
		opts := deleteOptions(req)
		if r.onDelete != nil {
			out, err := r.onDelete(ctx, name, opts, dry)
			if err != nil {
				return err
			}
			return setSingle(resp, out)
		}
		obj, deleted, err := r.remove(ctx, ns, name, opts, dry)
		switch {
		case err != nil:
			return err
		case !deleted:
			// Finalizers keep it: the answer is the object as it is now.
			return setSingle(resp, obj)
		case r.deleteReturnsObject:
			return setSingle(resp, r.markDeleted(obj))
		}
		return setSingle(resp, r.deletedStatus(obj))
	case "deletecollection":
		res, err := r.deleteCollection(ctx, ns, req)
		if err != nil {
			return err
		}
		setList(resp, listMeta(res), res.Items)
		return nil
	}
	return apierrors.MethodNotAllowed()
}

// watchStream serves a Watch RPC.
func (r *resource[T]) watchStream(ctx context.Context, req proto.Message, stream grpc.ServerStream, newResp func() protoreflect.Message) error {
	wr, ok := req.(watchRequest)
	if !ok {
		return apierrors.Internal(fmt.Sprintf("%T is not a watch request", req))
	}
	objField := protoreflect.Name("object")
	if boolField(req, "metadata_only") {
		objField = "partial_object_metadata"
	}
	respName := newResp().Descriptor().FullName()
	event := func(typ string, obj T) proto.Message {
		resp := newResp()
		fields := resp.Descriptor().Fields()
		resp.Set(fields.ByName("type"), protoreflect.ValueOfString(typ))
		var m proto.Message = obj
		if objField != "object" {
			m = partialOf(obj)
		}
		resp.Set(fields.ByName(objField), protoreflect.ValueOfMessage(m.ProtoReflect()))
		return resp.Interface()
	}
	return r.watch(ctx, stringField(req, "namespace"), wr, startStream(stream), func(typ string, obj T) error {
		// The watch cache hands every watcher the same objects: encode
		// each event once for all of them. A bookmark is this watch's own.
		if r.encoded == nil || typ == eventBookmark {
			return stream.SendMsg(event(typ, obj))
		}
		b, err := r.encoded.get(encodedKey{obj: obj, typ: typ, resp: respName, field: objField}, func() ([]byte, error) {
			return proto.Marshal(event(typ, obj))
		})
		if err != nil {
			return apierrors.Internal(fmt.Sprintf("encoding a watch event: %v", err))
		}
		return stream.SendMsg(grpcserver.Encoded(b))
	})
}

// body is the request's field holding a T (the object to create or update).
func (r *resource[T]) body(req proto.Message) (T, bool) {
	var zero T
	m := req.ProtoReflect()
	want := r.newObj().ProtoReflect().Descriptor().FullName()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() == want {
			if !m.Has(fd) {
				return zero, false
			}
			obj, ok := m.Get(fd).Message().Interface().(T)
			return obj, ok
		}
	}
	return zero, false
}

// setSingle stores out in the one response field of its type.
func setSingle(resp protoreflect.Message, out proto.Message) error {
	want := out.ProtoReflect().Descriptor().FullName()
	fields := resp.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.Message().FullName() == want {
			resp.Set(fd, protoreflect.ValueOfMessage(out.ProtoReflect()))
			return nil
		}
	}
	return apierrors.Internal(fmt.Sprintf("%s has no field for a %s", resp.Descriptor().FullName(), want))
}

// setList fills a list response's metadata and items.
func setList[T proto.Message](resp protoreflect.Message, meta *corev1.ListMeta, items []T) {
	fields := resp.Descriptor().Fields()
	resp.Set(fields.ByName("metadata"), protoreflect.ValueOfMessage(meta.ProtoReflect()))
	list := resp.Mutable(fields.ByName("items")).List()
	for _, it := range items {
		list.Append(protoreflect.ValueOfMessage(it.ProtoReflect()))
	}
}

// partialOf is obj's metadata alone, as a PartialObjectMetadata.
func partialOf[T storage.Object](obj T) *corev1.PartialObjectMetadata {
	return &corev1.PartialObjectMetadata{Metadata: obj.GetMetadata()}
}

// setPartialList fills a list response's metadata and, for metadata_only,
// its partial_object_metadata_items.
func setPartialList[T storage.Object](resp protoreflect.Message, meta *corev1.ListMeta, items []T) {
	fields := resp.Descriptor().Fields()
	resp.Set(fields.ByName("metadata"), protoreflect.ValueOfMessage(meta.ProtoReflect()))
	list := resp.Mutable(fields.ByName("partial_object_metadata_items")).List()
	for _, it := range items {
		list.Append(protoreflect.ValueOfMessage(partialOf(it).ProtoReflect()))
	}
}

func boolField(m proto.Message, name protoreflect.Name) bool {
	pm := m.ProtoReflect()
	fd := pm.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.BoolKind || fd.IsList() {
		return false
	}
	return pm.Get(fd).Bool()
}

func stringField(m proto.Message, name protoreflect.Name) string {
	pm := m.ProtoReflect()
	fd := pm.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return pm.Get(fd).String()
}

func stringsField(m proto.Message, name protoreflect.Name) []string {
	pm := m.ProtoReflect()
	fd := pm.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.StringKind || !fd.IsList() {
		return nil
	}
	l := pm.Get(fd).List()
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.Get(i).String()
	}
	return out
}

func messageField(m proto.Message, name protoreflect.Name) proto.Message {
	pm := m.ProtoReflect()
	fd := pm.Descriptor().Fields().ByName(name)
	if fd == nil || fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() || !pm.Has(fd) {
		return nil
	}
	return pm.Get(fd).Message().Interface()
}
