package api

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/requestinfo/requestinfotest"
	"github.com/portico-dev/portico/internal/svcauth"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

type nobody struct{}

func (nobody) Authenticate(context.Context, string, []*x509.Certificate) (*authnv1.UserInfo, error) {
	return nil, nil
}

func (nobody) Authorize(context.Context, *authnv1.UserInfo, *authzv1.Attributes) error { return nil }

// discardRegistrar takes the services without serving them.
type discardRegistrar struct{}

func (discardRegistrar) RegisterService(*grpc.ServiceDesc, any) {}

// methodsOf builds the service (no call reaches etcd) and returns its
// authorization table.
func methodsOf(t *testing.T) methodTable {
	t.Helper()
	s, err := New(Deps{
		Etcd: &clientv3.Client{}, Authn: nobody{}, Authz: nobody{}, Verifier: svcauth.NewVerifier(x509.NewCertPool()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), JSON: kjson.New(kjson.WithTypes(kjson.KubernetesTypes())),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Register(discardRegistrar{}); err != nil {
		t.Fatal(err)
	}
	return s.methods
}

// TestSharedCases is the gRPC half of the table internal/requestinfo runs
// on REST paths: the call grpc-gateway makes of each REST request must be
// authorized on the same attributes.
func TestSharedCases(t *testing.T) {
	methods := methodsOf(t)
	for name, tc := range requestinfotest.Cases {
		if tc.RPC == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if _, ok := methods[tc.RPC]; !ok {
				t.Fatalf("%s is not served", tc.RPC)
			}
			req := requestOf(t, tc.RPC)
			if err := protojson.Unmarshal([]byte(tc.Request), req); err != nil {
				t.Fatal(err)
			}
			got, ok := methods.attributes(tc.RPC, req)
			if !ok {
				t.Fatalf("no attributes for %s", tc.RPC)
			}
			if !proto.Equal(got, tc.Want) {
				t.Errorf("%s %s\n got %v\nwant %v", tc.RPC, tc.Request, got, tc.Want)
			}
		})
	}
}

// requestOf is an empty request message of a full method name.
func requestOf(t *testing.T, method string) proto.Message {
	t.Helper()
	svc, name := protoreflect.FullName(method[1:]), ""
	for i := len(method) - 1; i >= 0; i-- {
		if method[i] == '/' {
			svc, name = protoreflect.FullName(method[1:i]), method[i+1:]
			break
		}
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(svc)
	if err != nil {
		t.Fatal(err)
	}
	md := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(name))
	if md == nil {
		t.Fatalf("%s has no method %s", svc, name)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt.New().Interface()
}

// TestEveryMethodAuthorized: every RPC the api serves has attributes, and
// the verb of each is one authorization knows.
func TestEveryMethodAuthorized(t *testing.T) {
	verbs := map[string]bool{"get": true, "list": true, "watch": true, "create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}
	for method, mi := range methodsOf(t) {
		if !verbs[mi.verb] || mi.resource == "" || mi.version == "" {
			t.Errorf("%s: %+v", method, mi)
		}
	}
}
