// Package x509user authenticates client certificates: the chain must verify
// against the client CA for client authentication; the user is the
// certificate's common name and the groups are its organizations.
package x509user

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/pki"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	"github.com/portico-dev/portico/services/authn/authenticator"
)

// Method is the authenticator name in responses.
const Method = "x509"

// CredentialIDKey is the extra attribute kube-apiserver sets to identify
// the credential: "X509SHA256=<hex SHA-256 of the leaf's DER>".
const CredentialIDKey = "authentication.kubernetes.io/credential-id"

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
// and returns its user: CN is the name, every O a group. The response
// expires with the first certificate of the verified chain to expire.
func (a *Authenticator) AuthenticateChain(chain []*x509.Certificate) (*authenticator.Response, error) {
	if a == nil || a.roots == nil {
		return nil, errors.New("no client CA configured")
	}
	if len(chain) == 0 {
		return nil, errors.New("no certificate")
	}
	verified, err := pki.VerifyChain(chain, a.roots, x509.ExtKeyUsageClientAuth, a.now())
	if err != nil {
		return nil, err
	}
	leaf := verified[0]
	if leaf.Subject.CommonName == "" {
		return nil, errors.New("certificate has no common name")
	}
	expires := leaf.NotAfter
	for _, c := range verified {
		if c.NotAfter.Before(expires) {
			expires = c.NotAfter
		}
	}
	sum := sha256.Sum256(leaf.Raw)
	u := &authnv1.UserInfo{
		Username: leaf.Subject.CommonName,
		Groups:   append([]string(nil), leaf.Subject.Organization...),
		Extra:    map[string]*authnv1.ExtraValue{CredentialIDKey: {Items: []string{"X509SHA256=" + hex.EncodeToString(sum[:])}}},
	}
	return &authenticator.Response{User: u, ExpiresAt: expires, Method: Method}, nil
}
