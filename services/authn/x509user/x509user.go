// Package x509user authenticates client certificates: the chain must verify
// against the client CA for client authentication; the user is the
// certificate's common name and the groups are its organizations.
package x509user

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// MaxChainLength bounds the chain a client may present.
const MaxChainLength = 10

// Authenticator verifies chains against a pool of client CAs.
type Authenticator struct {
	roots *x509.CertPool
	now   func() time.Time
}

// New returns an Authenticator trusting roots. now may be nil (time.Now).
func New(roots *x509.CertPool, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{roots: roots, now: now}
}

// ParseChain parses DER certificates, leaf first.
func ParseChain(der [][]byte) ([]*x509.Certificate, error) {
	if len(der) == 0 {
		return nil, errors.New("no certificate")
	}
	if len(der) > MaxChainLength {
		return nil, fmt.Errorf("certificate chain longer than %d", MaxChainLength)
	}
	chain := make([]*x509.Certificate, 0, len(der))
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// AuthenticateChain verifies chain (leaf first; the rest are intermediates)
// and returns its user.
func (a *Authenticator) AuthenticateChain(chain []*x509.Certificate) (*authnv1.UserInfo, error) {
	if a == nil || a.roots == nil {
		return nil, errors.New("no client CA configured")
	}
	if len(chain) == 0 {
		return nil, errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         a.roots,
		Intermediates: inter,
		CurrentTime:   a.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, fmt.Errorf("verifying certificate %q: %w", leaf.Subject.CommonName, err)
	}
	if leaf.Subject.CommonName == "" {
		return nil, errors.New("certificate has no common name")
	}
	groups := append([]string(nil), leaf.Subject.Organization...)
	return &authnv1.UserInfo{Username: leaf.Subject.CommonName, Groups: groups}, nil
}
