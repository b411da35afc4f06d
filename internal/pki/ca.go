// Package pki makes and loads Portico's certificates: the internal CA that
// signs every service's certificate, the client CA that signs user
// certificates, the development PKI that `portico up` creates under
// --data-dir, and the self-signed serving pair used when --tls-cert-file is
// absent.
//
// Keys are ECDSA P-256 and written as PKCS#8 "PRIVATE KEY" PEM blocks;
// certificates get random 128-bit serial numbers.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	// DefaultLeafValidity is the lifetime of a leaf certificate when
	// IssueOptions.Validity is zero.
	DefaultLeafValidity = 365 * 24 * time.Hour

	// clockSkew backdates NotBefore so that a peer whose clock runs a
	// little behind still accepts a certificate made a moment ago.
	clockSkew = time.Minute

	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
)

// CA is a certificate authority whose key we hold.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// Key signs the certificates the CA issues; its public half is Cert's.
	Key crypto.Signer
}

// NewCA makes a self-signed CA with a fresh ECDSA P-256 key, valid from a
// minute ago for validity.
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("new CA: empty common name")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("new CA %q: validity %v is not positive", commonName, validity)
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	notBefore := time.Now().Add(-clockSkew)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: create certificate: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: parse certificate: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA from a PEM certificate file (its first certificate is
// the CA's) and a PEM key file (PKCS#8, SEC 1 "EC PRIVATE KEY" or PKCS#1
// "RSA PRIVATE KEY"). The certificate must be a CA certificate allowed to
// sign certificates and the key must match it.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", certFile, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("load CA %s: certificate %q is not a CA certificate", certFile, cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("load CA %s: certificate %q may not sign certificates (no certSign key usage)", certFile, cert.Subject.CommonName)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA key %s: %w", keyFile, err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("load CA: key %s does not match certificate %s", keyFile, certFile)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM returns the CA's certificate as a PEM "CERTIFICATE" block.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: ca.Cert.Raw})
}

// IssueOptions describe one leaf certificate.
type IssueOptions struct {
	// CommonName is the subject CN: a user name for client certificates,
	// "portico-<service>" for service certificates. Required.
	CommonName string
	// Organizations is the subject O; for users these are the groups.
	Organizations []string
	// DNSNames are the DNS subject alternative names.
	DNSNames []string
	// IPAddresses are the IP subject alternative names.
	IPAddresses []net.IP
	// Server adds ExtKeyUsageServerAuth.
	Server bool
	// Client adds ExtKeyUsageClientAuth.
	Client bool
	// Validity is the lifetime counted from NotBefore; DefaultLeafValidity
	// (one year) when 0.
	Validity time.Duration
	// NotBefore is the start of validity; a minute ago when zero. Tests set
	// it to make expired or not-yet-valid certificates.
	NotBefore time.Time
}

// Issue makes a leaf certificate signed by ca with a fresh ECDSA P-256 key
// and a random 128-bit serial number. It returns the certificate as a PEM
// "CERTIFICATE" block and the key as a PKCS#8 "PRIVATE KEY" block.
//
// At least one of Server and Client must be set: a certificate without
// extended key usage would be accepted for any purpose.
func (ca *CA) Issue(o IssueOptions) (certPEM, keyPEM []byte, err error) {
	if o.CommonName == "" {
		return nil, nil, errors.New("issue certificate: empty common name")
	}
	if !o.Server && !o.Client {
		return nil, nil, fmt.Errorf("issue certificate %q: neither server nor client usage requested", o.CommonName)
	}
	if o.Validity < 0 {
		return nil, nil, fmt.Errorf("issue certificate %q: negative validity %v", o.CommonName, o.Validity)
	}
	validity := o.Validity
	if validity == 0 {
		validity = DefaultLeafValidity
	}
	notBefore := o.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkew)
	}
	var usages []x509.ExtKeyUsage
	if o.Server {
		usages = append(usages, x509.ExtKeyUsageServerAuth)
	}
	if o.Client {
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: %w", o.CommonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: %w", o.CommonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: o.CommonName, Organization: o.Organizations},
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPAddresses,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           usages,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: %w", o.CommonName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue certificate %q: %w", o.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der}), keyPEM, nil
}

// newKey makes an ECDSA P-256 key.
func newKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
	}
	return key, nil
}

// encodeKey returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// randomSerial returns a random positive serial number of at most 128 bits.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

// parseCertPEM returns the first certificate in data.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// parseKeyPEM returns the first private key in data, in PKCS#8, SEC 1 or
// PKCS#1 form.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if err != nil && bytes.Contains(data, []byte("ENCRYPTED")) {
		return nil, errors.New("encrypted private keys are not supported")
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T key cannot sign", key)
	}
	return signer, nil
}

// publicKeysEqual reports whether a and b are the same public key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
