package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestGrpcurl drives the api service's gRPC port with grpcurl over mTLS.
func TestGrpcurl(t *testing.T) {
	p := startPortico(t)
	cert, key := p.pki("admin.crt"), p.pki("admin.key")

	r := p.grpcurl(t, cert, key, p.apiAddr(), "list")
	if r.err != nil {
		t.Fatalf("list: %s", r)
	}
	for _, svc := range []string{"portico.core.v1.NamespaceService", "portico.core.v1.ConfigMapService", "grpc.health.v1.Health"} {
		if !strings.Contains(r.stdout, svc) {
			t.Errorf("list lacks %s:\n%s", svc, r.stdout)
		}
	}
	r = p.grpcurl(t, cert, key, p.apiAddr(), "grpc.health.v1.Health/Check")
	if r.err != nil || !strings.Contains(r.stdout, "SERVING") {
		t.Errorf("health: %s", r)
	}
	r = p.grpcurl(t, cert, key, "-d", `{"name":"default"}`, p.apiAddr(), "portico.core.v1.NamespaceService/GetNamespace")
	if r.err != nil || !strings.Contains(r.stdout, `"name": "default"`) || !strings.Contains(r.stdout, `"phase": "Active"`) {
		t.Errorf("GetNamespace: %s", r)
	}
	r = p.grpcurl(t, cert, key, "-d", `{"name":"nope"}`, p.apiAddr(), "portico.core.v1.NamespaceService/GetNamespace")
	if r.err == nil || !strings.Contains(r.stderr, "NotFound") || !strings.Contains(r.stderr, `namespaces "nope" not found`) {
		t.Errorf("GetNamespace of a missing namespace: %s", r)
	}

	// Without a client certificate the handshake fails: nothing answers.
	r = p.grpcurl(t, "", "", p.apiAddr(), "list")
	if r.err == nil {
		t.Errorf("list without a client certificate succeeded: %s", r)
	}
	// A user may not forward an identity: only the gateway's certificate may.
	r = p.grpcurl(t, cert, key, "-H", "x-portico-user: someone-else", "-d", `{"name":"default"}`, p.apiAddr(), "portico.core.v1.NamespaceService/GetNamespace")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") {
		t.Errorf("forwarded identity from a user certificate: %s", r)
	}
	// A service certificate that is not the gateway's may not either.
	r = p.grpcurl(t, p.pki("authz.crt"), p.pki("authz.key"), "-H", "x-portico-user: admin", "-H", "x-portico-groups: system:masters", "-d", `{"name":"default"}`, p.apiAddr(), "portico.core.v1.NamespaceService/GetNamespace")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") {
		t.Errorf("forwarded identity from the authz certificate: %s", r)
	}
	// The internal Authenticate RPC answers only Portico services.
	r = p.grpcurl(t, cert, key, "-d", `{"token":"x"}`, fmt.Sprintf("127.0.0.1:%d", p.authnPort), "portico.authn.v1.AuthenticationService/Authenticate")
	if r.err == nil || !strings.Contains(r.stderr, "PermissionDenied") {
		t.Errorf("Authenticate called with a user certificate: %s", r)
	}
}
