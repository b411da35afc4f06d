package kjson_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/kjson"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// statusFromGRPC is a stand-in for the gateway's own gRPC → Status mapping.
func statusFromGRPC(st *spb.Status) proto.Message {
	if codes.Code(st.GetCode()) == codes.OutOfRange {
		return &corev1.Status{Status: "Failure", Message: st.GetMessage(), Reason: "Expired", Code: 410}
	}
	code := int32(runtime.HTTPStatusFromCode(codes.Code(st.GetCode())))
	return &corev1.Status{Status: "Failure", Message: st.GetMessage(), Code: code}
}

// stream runs grpc-gateway's real ForwardResponseStream over events and a
// final error (nil: clean end).
func stream(t *testing.T, m runtime.Marshaler, events []proto.Message, final error) *httptest.ResponseRecorder {
	t.Helper()
	mux := runtime.NewServeMux()
	ctx := runtime.NewServerMetadataContext(context.Background(), runtime.ServerMetadata{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/watch/configmaps", nil)
	i := 0
	recv := func() (proto.Message, error) {
		if i < len(events) {
			i++
			return events[i-1], nil
		}
		if final != nil {
			return nil, final
		}
		return nil, io.EOF
	}
	runtime.ForwardResponseStream(ctx, mux, m, rec, req, recv)
	return rec
}

func TestWatchFraming(t *testing.T) {
	cm := func(name, rv string) *corev1.ConfigMap {
		return &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: rv}}
	}
	events := []proto.Message{
		&corev1.WatchConfigMapsResponse{Type: "ADDED", Object: cm("a", "1")},
		&corev1.WatchConfigMapsResponse{Type: "MODIFIED", Object: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a", Namespace: "default", ResourceVersion: "2"}, Data: map[string]string{"k": "v"}}},
		&corev1.WatchConfigMapsResponse{Type: "BOOKMARK", Object: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{ResourceVersion: "3"}}},
		&corev1.WatchConfigMapsResponse{Type: "DELETED", Object: cm("a", "4")},
	}
	wantEvents := `{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"default","resourceVersion":"1"}}}
{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"default","resourceVersion":"2"},"data":{"k":"v"}}}
{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"3"}}}
{"type":"DELETED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"default","resourceVersion":"4"}}}
`
	tests := []struct {
		name  string
		m     runtime.Marshaler
		final error
		want  string
	}{
		{"clean end", newMarshaler(), nil, wantEvents},
		{"error event through the injected Status", newMarshaler(kjson.WithStreamError(statusFromGRPC)),
			status.Error(codes.OutOfRange, "too old resource version: 1 (5)"),
			wantEvents + `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}` + "\n"},
		{"error event without an injected Status", newMarshaler(),
			status.Error(codes.Internal, `boom "x"`),
			wantEvents + `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"boom \"x\"","reason":"InternalError","code":500}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := stream(t, tt.m, events, tt.final)
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
			// Every line is a watch event kubectl can read.
			for _, line := range strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n") {
				var ev corev1.WatchConfigMapsResponse
				if err := newMarshaler().Unmarshal([]byte(line), &ev); err != nil && !strings.Contains(line, `"ERROR"`) {
					t.Errorf("event %s: %v", line, err)
				}
			}
		})
	}
	// An error before any event: the HTTP status is the error's.
	rec := stream(t, newMarshaler(kjson.WithStreamError(statusFromGRPC)), nil, status.Error(codes.NotFound, "gone"))
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Body.String(), `{"type":"ERROR","object":{"kind":"Status"`) {
		t.Errorf("early error: %d %s", rec.Code, rec.Body.String())
	}
}

// fakeNamespaces records what the gateway decoded.
type fakeNamespaces struct {
	corev1.UnimplementedNamespaceServiceServer
	mu      sync.Mutex
	created *corev1.Namespace
	deleted *corev1.DeleteNamespaceRequest
}

func (f *fakeNamespaces) CreateNamespace(_ context.Context, req *corev1.CreateNamespaceRequest) (*corev1.CreateNamespaceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = req.GetNamespace()
	ns := proto.Clone(req.GetNamespace()).(*corev1.Namespace)
	if ns == nil {
		return nil, status.Error(codes.InvalidArgument, "no namespace")
	}
	ns.Metadata.ResourceVersion = "1"
	ns.Status = &corev1.NamespaceStatus{Phase: "Active"}
	return &corev1.CreateNamespaceResponse{Namespace: ns}, nil
}

func (f *fakeNamespaces) DeleteNamespace(_ context.Context, req *corev1.DeleteNamespaceRequest) (*corev1.DeleteNamespaceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = req
	return &corev1.DeleteNamespaceResponse{Namespace: &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: req.GetName()}}}, nil
}

func (f *fakeNamespaces) ListNamespaces(context.Context, *corev1.ListNamespacesRequest) (*corev1.ListNamespacesResponse, error) {
	return &corev1.ListNamespacesResponse{Metadata: &corev1.ListMeta{ResourceVersion: "5"}}, nil
}

// TestThroughGrpcGateway serves the generated REST handlers with the
// marshaler: bodies decode into **T fields, answers are Kubernetes JSON.
func TestThroughGrpcGateway(t *testing.T) {
	m := newMarshaler()
	mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, m), runtime.WithForwardResponseRewriter(unwrap))
	fake := &fakeNamespaces{}
	if err := corev1.RegisterNamespaceServiceHandlerServer(context.Background(), mux, fake); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}

	rec := do("POST", "/api/v1/namespaces", `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"demo","labels":{"a":"b"}}}`)
	want := `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"demo","resourceVersion":"1","labels":{"a":"b"}},"spec":{},"status":{"phase":"Active"}}` + "\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("create: %d %s", rec.Code, rec.Body.String())
	}
	if fake.created.GetMetadata().GetName() != "demo" {
		t.Errorf("created %v", fake.created)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", rec.Header().Get("Content-Type"))
	}

	rec = do("POST", "/api/v1/namespaces", `{"metadata":{"name":"demo","nmae":"x"}}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `Namespace in version \"v1\" cannot be handled as a Namespace: strict decoding error: unknown field \"metadata.nmae\"`) {
		t.Errorf("strict: %d %s", rec.Code, rec.Body.String())
	}

	// DELETE without a body: options stay nil.
	rec = do("DELETE", "/api/v1/namespaces/demo", "")
	if rec.Code != 200 || fake.deleted.GetOptions() != nil {
		t.Errorf("delete without body: %d %s %v", rec.Code, rec.Body.String(), fake.deleted)
	}
	rec = do("DELETE", "/api/v1/namespaces/demo", `{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0,"propagationPolicy":"Background"}`)
	if rec.Code != 200 || fake.deleted.GetOptions().GracePeriodSeconds == nil || fake.deleted.GetOptions().GetPropagationPolicy() != "Background" {
		t.Errorf("delete with body: %d %s %v", rec.Code, rec.Body.String(), fake.deleted)
	}

	rec = do("GET", "/api/v1/namespaces", "")
	if rec.Body.String() != `{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[]}`+"\n" {
		t.Errorf("list: %s", rec.Body.String())
	}
}

// unwrap answers the one object an RPC's response wraps, as the gateway
// does (GetNamespaceResponse{namespace} → the Namespace).
func unwrap(_ context.Context, msg proto.Message) (any, error) {
	m := msg.ProtoReflect()
	if _, kind := coreTypes.KindOf(m.Descriptor()); kind != "" {
		return msg, nil
	}
	var only protoreflect.Message
	n := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		n++
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			only = v.Message()
		}
		return true
	})
	if n == 1 && only != nil && m.Descriptor().Fields().Len() <= 2 {
		return only.Interface(), nil
	}
	return msg, nil
}
