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
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/grpcserver"
	"github.com/portico-dev/portico/internal/pki"
)

// CNPrefix starts the common name of every service certificate.
const CNPrefix = "portico-"

// Verifier checks peers against the internal CA. A leaf certificate once
// verified is remembered until its chain expires, so a connection's calls
// cost one map lookup each instead of a chain verification.
type Verifier struct {
	roots *x509.CertPool
	now   func() time.Time

	mu    sync.Mutex
	known map[string]verified // by the leaf's DER
}

// verified is a service certificate that passed, and until when.
type verified struct {
	name      string
	notBefore time.Time
	notAfter  time.Time
}

// maxKnown bounds the remembered certificates: a few per service
// replica and rotation; past it the memory starts again.
const maxKnown = 1024

// NewVerifier trusts the internal CA pool roots.
func NewVerifier(roots *x509.CertPool) *Verifier {
	return &Verifier{roots: roots, now: time.Now, known: map[string]verified{}}
}

// Service returns the name of the service that chain (leaf first) belongs
// to, or false when it is not a valid internal service certificate.
func (v *Verifier) Service(chain []*x509.Certificate) (string, bool) {
	if v == nil || len(chain) == 0 || chain[0] == nil {
		return "", false
	}
	leaf, now := chain[0], v.now()
	v.mu.Lock()
	k, ok := v.known[string(leaf.Raw)]
	v.mu.Unlock()
	if ok && !now.Before(k.notBefore) && now.Before(k.notAfter) {
		return k.name, true
	}
	name, ok := strings.CutPrefix(leaf.Subject.CommonName, CNPrefix)
	if !ok || name == "" {
		return "", false
	}
	chainOK, err := pki.VerifyChain(chain, v.roots, x509.ExtKeyUsageClientAuth, now)
	if err != nil {
		return "", false
	}
	k = verified{name: name, notAfter: leaf.NotAfter}
	for _, c := range chainOK {
		if c.NotBefore.After(k.notBefore) {
			k.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(k.notAfter) {
			k.notAfter = c.NotAfter
		}
	}
	v.mu.Lock()
	if len(v.known) >= maxKnown {
		clear(v.known)
	}
	v.known[string(leaf.Raw)] = k
	v.mu.Unlock()
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
