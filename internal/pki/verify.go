package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// VerifyChain is Portico's one certificate check: it verifies a presented
// chain (leaf first, as in tls.ConnectionState.PeerCertificates) against
// roots for usage at now, the rest of the chain as intermediates, and
// returns the verified chain, leaf first and root last. It tells a service
// certificate (roots: the internal CA) from a user certificate (roots:
// the client CA). A nil roots is an error, never the system pool; a zero
// now means the current time.
//
// As crypto/x509 does, a leaf without any extended key usage is accepted
// for every usage; Portico's own CAs never issue such certificates.
func VerifyChain(chain []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, now time.Time) ([]*x509.Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("verify certificate: no certificate presented")
	}
	if roots == nil {
		return nil, errors.New("verify certificate: no trusted roots")
	}
	leaf := chain[0]
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		if c != nil {
			intermediates.AddCert(c)
		}
	}
	verified, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return nil, fmt.Errorf("verify certificate SN=%s %q: %w", leaf.SerialNumber, leaf.Subject.CommonName, err)
	}
	return verified[0], nil
}
