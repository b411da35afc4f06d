package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// ServiceCNPrefix starts the common name of every service certificate
	// issued by the internal CA: "portico-gateway" is the gateway.
	ServiceCNPrefix = "portico-"

	// InternalCACommonName is the CN of the development internal CA.
	InternalCACommonName = "portico-internal-ca"
	// ClientCACommonName is the CN of the development client (user) CA.
	ClientCACommonName = "portico-client-ca"
	// AdminCommonName is the user name in the development admin certificate.
	AdminCommonName = "admin"
	// AdminGroup is the group in the development admin certificate; its
	// members are always authorized.
	AdminGroup = "system:masters"

	// DevCAValidity is the lifetime of the development CAs.
	DevCAValidity = 10 * 365 * 24 * time.Hour
	// DevLeafValidity is the lifetime of the development admin certificate.
	DevLeafValidity = 365 * 24 * time.Hour
	// DefaultServiceValidity is how long a service certificate is valid
	// from when it is issued: hours, so that a leaked service key is soon
	// worthless. RenewServices replaces one with a third of it left.
	DefaultServiceValidity = 12 * time.Hour
	// MinServiceValidity is the shortest service validity accepted: the
	// services pick up a renewed certificate within a second or two, and
	// renewal runs every tenth of the validity.
	MinServiceValidity = 15 * time.Second
)

// ServiceNames returns the services that get a certificate from the
// internal CA in the development PKI, in a fresh slice.
func ServiceNames() []string {
	return []string{"authn", "authz", "api", "gateway", "etcd"}
}

// ServiceName returns the service a certificate belongs to: "gateway" for
// CN "portico-gateway". It only reads the name; the caller must already
// have verified the certificate against the internal CA.
func ServiceName(cert *x509.Certificate) (string, bool) {
	if cert == nil {
		return "", false
	}
	name, ok := strings.CutPrefix(cert.Subject.CommonName, ServiceCNPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// Layout names the files of a PKI directory.
type Layout struct {
	// Dir is the PKI directory, <data-dir>/pki for `portico up`.
	Dir string
	// Hosts are more names and IP addresses for every service
	// certificate EnsureDev issues (`portico certs --hosts`), for
	// services reached across hosts. Existing certificates keep theirs.
	Hosts []string
	// ServiceValidity is the lifetime of the service certificates
	// EnsureDev and RenewServices issue; DefaultServiceValidity when 0.
	ServiceValidity time.Duration
}

func (l Layout) serviceValidity() time.Duration {
	if l.ServiceValidity == 0 {
		return DefaultServiceValidity
	}
	return l.ServiceValidity
}

// serviceIssueOptions is what service name's certificate is issued with.
func (l Layout) serviceIssueOptions(name string, dnsNames []string, ips []net.IP) IssueOptions {
	return IssueOptions{
		CommonName:  ServiceCNPrefix + name,
		DNSNames:    dnsNames,
		IPAddresses: ips,
		Server:      true,
		Client:      true,
		// Counted from NotBefore, a minute ago.
		Validity: l.serviceValidity() + clockSkew,
	}
}

// CACert is <dir>/ca.crt, the internal CA that signs every gRPC server's
// and service's certificate.
func (l Layout) CACert() string { return filepath.Join(l.Dir, "ca.crt") }

// CAKey is <dir>/ca.key, the internal CA's key.
func (l Layout) CAKey() string { return filepath.Join(l.Dir, "ca.key") }

// ClientCACert is <dir>/client-ca.crt, the user CA (the default
// --client-ca-file) that signs user client certificates.
func (l Layout) ClientCACert() string { return filepath.Join(l.Dir, "client-ca.crt") }

// ClientCAKey is <dir>/client-ca.key, the user CA's key.
func (l Layout) ClientCAKey() string { return filepath.Join(l.Dir, "client-ca.key") }

// ServiceCert is <dir>/<name>.crt, the certificate of service name.
func (l Layout) ServiceCert(name string) string { return filepath.Join(l.Dir, name+".crt") }

// ServiceKey is <dir>/<name>.key, the key of service name.
func (l Layout) ServiceKey(name string) string { return filepath.Join(l.Dir, name+".key") }

// AdminCert is <dir>/admin.crt: CN=admin, O=system:masters, client auth,
// signed by the client CA.
func (l Layout) AdminCert() string { return filepath.Join(l.Dir, "admin.crt") }

// AdminKey is <dir>/admin.key, the admin certificate's key.
func (l Layout) AdminKey() string { return filepath.Join(l.Dir, "admin.key") }

// EnsureDev creates whatever of the development PKI is missing:
//   - the internal CA (CN "portico-internal-ca", 10 years);
//   - the client CA (CN "portico-client-ca", 10 years);
//   - one certificate per name in ServiceNames, signed by the internal CA,
//     CN "portico-<name>", server and client usage, DNS localhost and
//     portico-<name> (a name only that service's certificate has, for
//     allow-lists by host name such as etcd's
//     --client-cert-allowed-hostname), IPs 127.0.0.1 and ::1, and Hosts
//     (ServiceValidity: 12 hours by default; RenewServices renews them);
//   - the admin certificate, signed by the client CA (1 year).
//
// Keys are written 0600, certificates 0644, the directory 0700 when made.
// Existing files are never overwritten: they are checked instead, and a
// half pair (a certificate without its key or the reverse), a certificate
// that does not match its key, or one that does not verify against its CA
// (expired, or left from an earlier CA) is an error naming the files to
// remove. It returns the files it wrote, in order, also on error.
func (l Layout) EnsureDev() (written []string, err error) {
	if l.Dir == "" {
		return nil, errors.New("ensure dev PKI: empty directory")
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("ensure dev PKI: %w", err)
	}
	internalCA, w, err := ensureCA(l.CACert(), l.CAKey(), InternalCACommonName)
	written = append(written, w...)
	if err != nil {
		return written, fmt.Errorf("ensure dev PKI: internal CA: %w", err)
	}
	clientCA, w, err := ensureCA(l.ClientCACert(), l.ClientCAKey(), ClientCACommonName)
	written = append(written, w...)
	if err != nil {
		return written, fmt.Errorf("ensure dev PKI: client CA: %w", err)
	}
	var dnsNames []string
	ips := defaultIPs()
	for _, h := range l.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			dnsNames = append(dnsNames, h)
		}
	}
	for _, name := range ServiceNames() {
		w, err := ensureLeaf(internalCA, l.ServiceCert(name), l.ServiceKey(name),
			l.serviceIssueOptions(name, append([]string{"localhost", ServiceCNPrefix + name}, dnsNames...), ips))
		written = append(written, w...)
		if err != nil {
			return written, fmt.Errorf("ensure dev PKI: service %s: %w", name, err)
		}
	}
	w, err = ensureLeaf(clientCA, l.AdminCert(), l.AdminKey(), IssueOptions{
		CommonName:    AdminCommonName,
		Organizations: []string{AdminGroup},
		Client:        true,
		Validity:      DevLeafValidity,
	})
	written = append(written, w...)
	if err != nil {
		return written, fmt.Errorf("ensure dev PKI: admin: %w", err)
	}
	return written, nil
}

// ensureCA loads the CA in certFile/keyFile, or makes and writes a new one
// when neither file exists.
func ensureCA(certFile, keyFile, commonName string) (*CA, []string, error) {
	state, err := statPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	if state == pairPresent {
		ca, err := LoadCA(certFile, keyFile)
		if err != nil {
			return nil, nil, err
		}
		return ca, nil, nil
	}
	ca, err := NewCA(commonName, DevCAValidity)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := encodeKey(ca.Key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(certFile, keyFile, ca.CertPEM(), keyPEM); err != nil {
		return nil, nil, err
	}
	return ca, []string{keyFile, certFile}, nil
}

// ensureLeaf checks the pair in certFile/keyFile against ca, or issues and
// writes a new one when neither file exists.
func ensureLeaf(ca *CA, certFile, keyFile string, o IssueOptions) ([]string, error) {
	state, err := statPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if state == pairPresent {
		return nil, checkLeaf(ca, certFile, keyFile, o)
	}
	certPEM, keyPEM, err := ca.Issue(o)
	if err != nil {
		return nil, err
	}
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return nil, err
	}
	return []string{keyFile, certFile}, nil
}

// checkLeaf verifies that an existing pair matches and chains to ca for
// the usages o asks for, now.
func checkLeaf(ca *CA, certFile, keyFile string, o IssueOptions) error {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("existing pair %s, %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return fmt.Errorf("existing certificate %s: %w", certFile, err)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	var usages []x509.ExtKeyUsage
	if o.Server {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	if o.Client {
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	}
	for _, u := range usages {
		if _, err := VerifyChain([]*x509.Certificate{leaf}, roots, u, time.Time{}); err != nil {
			return fmt.Errorf("existing certificate %s does not verify against CA %q (remove %s and %s to have them made again): %w",
				certFile, ca.Cert.Subject.CommonName, certFile, keyFile, err)
		}
	}
	return nil
}
