package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Versions are the --tls-min-version values accepted, as kube-apiserver
// names them. VersionTLS10 and VersionTLS11 are known but refused.
var versions = map[string]uint16{
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

// ParseMinVersion turns a --tls-min-version value (VersionTLS12 or
// VersionTLS13) into a TLS version; TLS 1.0 and 1.1 are refused.
func ParseMinVersion(name string) (uint16, error) {
	if v, ok := versions[name]; ok {
		return v, nil
	}
	switch name {
	case "VersionTLS10", "VersionTLS11":
		return 0, fmt.Errorf("%s is refused: TLS 1.0 and 1.1 are insecure, the lowest accepted is VersionTLS12", name)
	}
	return 0, fmt.Errorf("%q is not a TLS version: use VersionTLS12 or VersionTLS13", name)
}

// ParseCipherSuites turns --tls-cipher-suites values (Go's constant
// names, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) into IDs. Suites
// Go lists as insecure (RC4, 3DES, CBC-SHA256, plain RSA key exchange
// with CBC...) and unknown names are errors; every bad name is reported.
// An empty list is nil: Go's default suites.
func ParseCipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	secure := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		secure[s.Name] = s.ID
	}
	insecure := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	var ids []uint16
	var errs []error
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch id, ok := secure[n]; {
		case ok:
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		case insecure[n]:
			errs = append(errs, fmt.Errorf("%s is an insecure cipher suite and is refused", n))
		default:
			errs = append(errs, fmt.Errorf("%q is not a cipher suite Go knows (use names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)", n))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ids, nil
}

// HTTP2CipherSuiteMissing reports whether suites, used with TLS 1.2,
// lack the cipher suite HTTP/2 requires (RFC 7540, 9.2.2): Go's HTTP/2
// server refuses to start without one of them.
func HTTP2CipherSuiteMissing(suites []uint16, minVersion uint16) bool {
	if len(suites) == 0 || minVersion >= tls.VersionTLS13 {
		return false
	}
	return !slices.Contains(suites, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) &&
		!slices.Contains(suites, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
}
