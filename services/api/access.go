package api

import (
	"context"
	"crypto/x509"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/requestinfo"
	"github.com/portico-dev/portico/internal/svcauth"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Authenticator is what the api needs of authn.
type Authenticator interface {
	Authenticate(ctx context.Context, token string, chain []*x509.Certificate) (*authnv1.UserInfo, error)
}

// Authorizer is what the api needs of authz: nil for allowed, else a
// Status error.
type Authorizer interface {
	Authorize(ctx context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error
}

// authenticate is the api's AuthFunc: the one caller rule of every
// Portico server (svcauth.Callers), with authn for callers that bring their
// own certificate or bearer token, and authz deciding their impersonate-*
// metadata. It is the one place a call's user is set: authorization and
// the handlers see the impersonated user.
func (s *Service) authenticate(ctx context.Context) (context.Context, error) {
	return svcauth.Callers{Peers: s.verifier, Users: s.authn, Impersonation: s.authz, Logger: s.log}.AuthFunc()(ctx)
}

// authorizeUnary decides a unary call before its handler runs.
func (s *Service) authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.authorize(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// authorizeStream decides a server-streaming call on its request message.
func (s *Service) authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &authorizingStream{ServerStream: ss, s: s, method: info.FullMethod})
}

type authorizingStream struct {
	grpc.ServerStream
	s       *Service
	method  string
	decided bool
}

func (a *authorizingStream) RecvMsg(m any) error {
	if err := a.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if a.decided {
		return status.Error(codes.InvalidArgument, "one request message per call")
	}
	a.decided = true
	return a.s.authorize(a.Context(), a.method, m)
}

func (s *Service) authorize(ctx context.Context, method string, req any) error {
	u, ok := identity.UserFrom(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "Unauthorized")
	}
	attrs, ok := s.methods.attributes(method, req)
	if !ok {
		return status.Errorf(codes.PermissionDenied, "no authorization rule for %s", method)
	}
	return s.authz.Authorize(ctx, u, attrs)
}

// methodInfo is the authorization view of one RPC.
type methodInfo struct {
	verb, group, version, resource, subresource string
}

// methodTable maps full gRPC method names to what they do; the engine
// fills it when it registers each kind's service.
type methodTable map[string]methodInfo

// attributes of one call. For namespaces the namespace is the object's
// own name, as kube-apiserver's request info has it.
func (t methodTable) attributes(method string, req any) (*authzv1.Attributes, bool) {
	mi, ok := t[method]
	if !ok {
		return nil, false
	}
	a := &authzv1.Attributes{
		Verb: mi.verb, ApiGroup: mi.group, ApiVersion: mi.version,
		Resource: mi.resource, Subresource: mi.subresource, ResourceRequest: true,
	}
	if r, ok := req.(interface{ GetNamespace() string }); ok {
		a.Namespace = r.GetNamespace()
	}
	// A create names no object, except a create of a subresource
	// (pods/binding, serviceaccounts/token), which is on a named object.
	if r, ok := req.(interface{ GetName() string }); ok && (mi.verb != "create" || mi.subresource != "") {
		a.Name = r.GetName()
	}
	if mi.resource == "namespaces" {
		a.Namespace = a.Name
	}
	// A list or watch carries its selectors; one limited to a single name
	// by metadata.name=<name> is on that name, as in kube-apiserver.
	if mi.verb == "list" || mi.verb == "watch" {
		if r, ok := req.(interface{ GetFieldSelector() string }); ok {
			a.FieldSelector = r.GetFieldSelector()
		}
		if r, ok := req.(interface{ GetLabelSelector() string }); ok {
			a.LabelSelector = r.GetLabelSelector()
		}
		if a.Name == "" {
			a.Name = requestinfo.NameFromFieldSelector(a.FieldSelector)
		}
	}
	return a, true
}
