package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"time"
)

// SelfSignedValidity is the lifetime of the self-signed serving certificate.
const SelfSignedValidity = 365 * 24 * time.Hour

// EnsureSelfSigned returns <certDir>/apiserver.crt and apiserver.key,
// creating them when neither exists, as kube-apiserver does when
// --tls-cert-file is absent: a self-signed certificate (IsCA true, so a
// client can trust it as its own root) valid for one year for hosts, each
// an IP address or a DNS name, with server auth usage. Existing files are
// reused as they are, not regenerated, even when hosts changed; only one of
// the two existing is an error.
func EnsureSelfSigned(certDir string, hosts []string) (certFile, keyFile string, err error) {
	certFile = filepath.Join(certDir, "apiserver.crt")
	keyFile = filepath.Join(certDir, "apiserver.key")
	state, err := statPair(certFile, keyFile)
	if err != nil {
		return "", "", fmt.Errorf("self-signed serving certificate: %w", err)
	}
	if state == pairPresent {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := selfSigned(hosts, time.Now())
	if err != nil {
		return "", "", fmt.Errorf("self-signed serving certificate: %w", err)
	}
	if err := writePair(certFile, keyFile, certPEM, keyPEM); err != nil {
		return "", "", fmt.Errorf("self-signed serving certificate: %w", err)
	}
	return certFile, keyFile, nil
}

// selfSigned makes a self-signed serving pair for hosts, named like
// kube-apiserver's: CN "<first host>@<unix time>".
func selfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	var (
		dnsNames []string
		ips      []net.IP
	)
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		} else if !slices.Contains(dnsNames, h) {
			dnsNames = append(dnsNames, h)
		}
	}
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, nil, errors.New("no hosts to name in the certificate")
	}
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	first := hosts[slices.IndexFunc(hosts, func(h string) bool { return h != "" })]
	notBefore := now.Add(-clockSkew)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", first, now.Unix())},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der}), keyPEM, nil
}
