// Package svcauth tells Portico's own services apart from users on a gRPC
// connection: a service presents a certificate from the internal CA whose
// common name is "portico-<service>". Every server already verified the
// chain against its trusted pool during the handshake; this package checks
// it against the internal CA alone, so a user certificate from
// --client-ca-file can never pass for a service.
package svcauth

import (
	"context"
	"crypto/x509"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/grpcserver"
)

// CNPrefix starts the common name of every service certificate.
const CNPrefix = "portico-"

// Verifier checks peers against the internal CA.
type Verifier struct {
	roots *x509.CertPool
	now   func() time.Time
}

// NewVerifier trusts the internal CA pool roots.
func NewVerifier(roots *x509.CertPool) *Verifier {
	return &Verifier{roots: roots, now: time.Now}
}

// Service returns the name of the service that chain (leaf first) belongs
// to, or false when it is not a valid internal service certificate.
func (v *Verifier) Service(chain []*x509.Certificate) (string, bool) {
	if v == nil || len(chain) == 0 {
		return "", false
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: inter, CurrentTime: v.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return "", false
	}
	name, ok := strings.CutPrefix(leaf.Subject.CommonName, CNPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// PeerService is Service for the caller of a gRPC call.
func (v *Verifier) PeerService(ctx context.Context) (string, bool) {
	return v.Service(grpcserver.PeerCertificates(ctx))
}

// RequireService is an AuthFunc for internal RPCs: only the named services
// (any service when none is named) may call.
func (v *Verifier) RequireService(allowed ...string) func(context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		name, ok := v.PeerService(ctx)
		if !ok {
			return nil, status.Error(codes.PermissionDenied, "this method is internal: only Portico services may call it")
		}
		if len(allowed) > 0 && !slices.Contains(allowed, name) {
			return nil, status.Errorf(codes.PermissionDenied, "service %q may not call this method", name)
		}
		return ctx, nil
	}
}
