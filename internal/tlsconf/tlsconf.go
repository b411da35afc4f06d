// Package tlsconf builds every tls.Config Portico uses, in one place, as
// etcd's transport.TLSInfo does: mutual TLS for the internal gRPC hops,
// the secure HTTPS port's serving config, and the verification that tells
// a service certificate (internal CA) from a user certificate (client CA).
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	certutil "k8s.io/client-go/util/cert"

	"github.com/portico-dev/portico/internal/pki"
)

// MinVersion is the lowest TLS version any Portico endpoint accepts.
const MinVersion = tls.VersionTLS12

// Files names a certificate, its key and the CA bundles to trust.
type Files struct {
	// CertFile is our PEM certificate (chain, leaf first).
	CertFile string
	// KeyFile is the PEM private key of CertFile.
	KeyFile string
	// CAFiles are PEM bundles, all trusted: on the server side the CAs of
	// client certificates, on the client side the roots for the server.
	CAFiles []string
	// Log receives the reloads of CertFile and KeyFile and their failures
	// (never their content); nil discards them.
	Log *slog.Logger
}

// Validate reports every problem with f at once: a file not named, not
// readable, a key pair that does not parse or match, a CA file without a
// certificate.
func (f Files) Validate() error {
	var errs []error
	if f.CertFile == "" {
		errs = append(errs, errors.New("no certificate file"))
	}
	if f.KeyFile == "" {
		errs = append(errs, errors.New("no key file"))
	}
	if f.CertFile != "" && f.KeyFile != "" {
		if _, err := loadPair(f.CertFile, f.KeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	if len(f.CAFiles) == 0 {
		errs = append(errs, errors.New("no CA file"))
	} else if _, err := LoadPool(f.CAFiles...); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("TLS files: %w", err)
	}
	return nil
}

// ServerConfig returns a config for a mutual-TLS server: TLS 1.2 minimum,
// our certificate, and client certificates required and verified (client
// auth usage) against all of CAFiles merged into one pool. Which CA a
// client's certificate chains to is for the caller to tell, with Verify.
//
// Our certificate is read again when its files change (a Reloader): a
// renewed one is presented from the next handshake on, without a
// restart.
func (f Files) ServerConfig() (*tls.Config, error) {
	rl, pool, err := f.load()
	if err != nil {
		return nil, fmt.Errorf("TLS server config: %w", err)
	}
	return &tls.Config{
		MinVersion:     MinVersion,
		GetCertificate: rl.GetCertificate,
		ClientAuth:     tls.RequireAndVerifyClientCert,
		ClientCAs:      pool,
	}, nil
}

// ClientConfig returns a config for a mutual-TLS client: TLS 1.2 minimum,
// server certificates verified against CAFiles (never the system roots)
// for serverName, and our certificate offered as the client certificate.
// An empty serverName leaves it to the dialer (tls.Dial and gRPC fill it
// from the address); verification is never skipped.
// Our certificate is reloaded as ServerConfig's.
func (f Files) ClientConfig(serverName string) (*tls.Config, error) {
	rl, pool, err := f.load()
	if err != nil {
		return nil, fmt.Errorf("TLS client config: %w", err)
	}
	return &tls.Config{
		MinVersion:           MinVersion,
		GetClientCertificate: rl.GetClientCertificate,
		RootCAs:              pool,
		ServerName:           serverName,
	}, nil
}

// ServiceClientConfig is ClientConfig for a hop to one Portico service:
// besides verifying against CAFiles for serverName, the server's
// certificate must name service (CN "portico-<service>"). Every service
// certificate comes from the same internal CA and carries the same
// loopback names, so without this a client dialing the api would accept
// authz's certificate, and whoever holds any service's key could pose as
// any other service.
func (f Files) ServiceClientConfig(serverName, service string) (*tls.Config, error) {
	if service == "" {
		return nil, errors.New("TLS client config: no service named")
	}
	cfg, err := f.ClientConfig(serverName)
	if err != nil {
		return nil, err
	}
	cfg.VerifyConnection = RequireService(service)
	return cfg, nil
}

// RequireService returns a tls.Config.VerifyConnection callback that
// accepts only a peer whose leaf certificate names service. It reads the
// name only: the chain must already have been verified by the handshake
// (so it is never for a config with InsecureSkipVerify).
func RequireService(service string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("want service %q: no certificate presented", service)
		}
		leaf := cs.PeerCertificates[0]
		if name, ok := pki.ServiceName(leaf); !ok || name != service {
			return fmt.Errorf("certificate %q is not service %q's (want CN %q)", leaf.Subject.CommonName, service, pki.ServiceCNPrefix+service)
		}
		return nil
	}
}

// load reads f's key pair, into a Reloader, and CA pool.
func (f Files) load() (*Reloader, *x509.CertPool, error) {
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	rl, err := NewReloader(f.CertFile, f.KeyFile, f.Log)
	if err != nil {
		return nil, nil, err
	}
	pool, err := LoadPool(f.CAFiles...)
	if err != nil {
		return nil, nil, err
	}
	return rl, pool, nil
}

// loadPair reads a key pair and makes sure its Leaf is parsed.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key pair %s, %s: %w", certFile, keyFile, err)
	}
	if pair.Leaf == nil {
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("key pair %s: parse certificate: %w", certFile, err)
		}
		pair.Leaf = leaf
	}
	return pair, nil
}

// LoadPool reads PEM bundles into one pool. A file that cannot be read,
// holds a CERTIFICATE block that does not parse, or holds no certificate
// at all is an error; other PEM blocks are skipped.
func LoadPool(files ...string) (*x509.CertPool, error) {
	if len(files) == 0 {
		return nil, errors.New("load CA pool: no files")
	}
	pool := x509.NewCertPool()
	for _, file := range files {
		if file == "" {
			return nil, errors.New("load CA pool: empty file name")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("load CA pool: %w", err)
		}
		certs, err := certutil.ParseCertsPEM(data)
		if err != nil {
			return nil, fmt.Errorf("load CA pool %s: %w", file, err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

// ServingConfig returns the secure HTTPS port's config, as kube-apiserver
// builds it: TLS 1.2 minimum, the serving certificate from cert (so
// changed files are picked up without a restart), and, when clientCAs is
// not nil, client certificates requested with clientCAs advertised but
// neither required nor verified by the handshake, so that a caller without
// one can still present a bearer token. Peer certificates from such a
// connection are unverified: the authenticator must pass them through
// Verify against the client CA before trusting them.
func ServingConfig(cert *Reloader, clientCAs *x509.CertPool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:     MinVersion,
		GetCertificate: cert.GetCertificate,
	}
	if clientCAs != nil {
		cfg.ClientAuth = tls.RequestClientCert
		cfg.ClientCAs = clientCAs
	}
	return cfg
}
