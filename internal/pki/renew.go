package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// RenewServices issues a new pair, from the internal CA in Dir, for every
// service in ServiceNames whose certificate is due at now: a third of
// ServiceValidity or less left, expired, issued for longer than
// ServiceValidity (a certificate from before short lifetimes), or not
// matching its key or the CA. The new one keeps the old one's names and
// addresses (so `portico certs --hosts` additions stay) and is written
// atomically, key first: a service's reloader that reads the two files
// between the writes sees a mismatch, keeps its current pair and reads
// again a second later. A service without files is skipped (EnsureDev
// makes those). It returns the services renewed, also on error.
//
// The running services pick the new files up on their next handshake
// (tlsconf.Reloader); connections already open go on as they are.
func (l Layout) RenewServices(now time.Time) (renewed []string, err error) {
	if l.Dir == "" {
		return nil, errors.New("renew service certificates: empty directory")
	}
	ca, err := LoadCA(l.CACert(), l.CAKey())
	if err != nil {
		return nil, fmt.Errorf("renew service certificates: internal CA: %w", err)
	}
	var errs []error
	for _, name := range ServiceNames() {
		certFile, keyFile := l.ServiceCert(name), l.ServiceKey(name)
		state, err := statPair(certFile, keyFile)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if state == pairMissing {
			continue
		}
		leaf, due := l.serviceDue(ca, certFile, keyFile, now)
		if !due {
			continue
		}
		o := l.serviceIssueOptions(name, []string{"localhost", ServiceCNPrefix + name}, defaultIPs())
		if leaf != nil {
			o.DNSNames, o.IPAddresses = leaf.DNSNames, leaf.IPAddresses
		}
		o.NotBefore = now.Add(-clockSkew)
		certPEM, keyPEM, err := ca.Issue(o)
		if err == nil {
			err = writePair(certFile, keyFile, certPEM, keyPEM)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
			continue
		}
		renewed = append(renewed, name)
	}
	if err := errors.Join(errs...); err != nil {
		return renewed, fmt.Errorf("renew service certificates: %w", err)
	}
	return renewed, nil
}

// serviceDue reads the pair and tells whether it must be renewed at now;
// the leaf is nil when the pair cannot be read.
func (l Layout) serviceDue(ca *CA, certFile, keyFile string, now time.Time) (*x509.Certificate, bool) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, true
	}
	leaf, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, true
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		return leaf, true // the key does not match
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := VerifyChain([]*x509.Certificate{leaf}, roots, u, now); err != nil {
			return leaf, true // expired, not yet valid, or from another CA
		}
	}
	validity := l.serviceValidity()
	longLived := leaf.NotAfter.Sub(leaf.NotBefore) > validity+2*clockSkew
	return leaf, longLived || leaf.NotAfter.Sub(now) <= validity/3
}

// defaultIPs are the loopback addresses every service certificate has.
func defaultIPs() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} }
