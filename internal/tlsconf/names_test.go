package tlsconf

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestParseMinVersion(t *testing.T) {
	tests := map[string]struct {
		name    string
		want    uint16
		wantErr string
	}{
		"1.2":     {name: "VersionTLS12", want: tls.VersionTLS12},
		"1.3":     {name: "VersionTLS13", want: tls.VersionTLS13},
		"1.0":     {name: "VersionTLS10", wantErr: "insecure"},
		"1.1":     {name: "VersionTLS11", wantErr: "insecure"},
		"unknown": {name: "1.2", wantErr: "use VersionTLS12 or VersionTLS13"},
		"empty":   {name: "", wantErr: "is not a TLS version"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMinVersion(tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}

func TestParseCipherSuites(t *testing.T) {
	tests := map[string]struct {
		names   []string
		want    []uint16
		wantErr []string
	}{
		"none": {names: nil, want: nil},
		"two secure, one repeated": {
			names: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", " TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
			want:  []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		},
		"TLS 1.3 names are known": {
			names: []string{"TLS_AES_128_GCM_SHA256"},
			want:  []uint16{tls.TLS_AES_128_GCM_SHA256},
		},
		"insecure RC4 and 3DES refused, every one reported": {
			names:   []string{"TLS_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
			wantErr: []string{"TLS_RSA_WITH_RC4_128_SHA is an insecure", "TLS_RSA_WITH_3DES_EDE_CBC_SHA is an insecure"},
		},
		"unknown name": {
			names:   []string{"ECDHE-RSA-AES128-GCM-SHA256"},
			wantErr: []string{`"ECDHE-RSA-AES128-GCM-SHA256" is not a cipher suite`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseCipherSuites(tc.names)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("= %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestHTTP2CipherSuiteMissing(t *testing.T) {
	tests := map[string]struct {
		suites []uint16
		min    uint16
		want   bool
	}{
		"default suites":     {suites: nil, min: tls.VersionTLS12, want: false},
		"ECDSA AES-128-GCM":  {suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, min: tls.VersionTLS12, want: false},
		"RSA AES-128-GCM":    {suites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, min: tls.VersionTLS12, want: false},
		"only AES-256":       {suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, min: tls.VersionTLS12, want: true},
		"only AES-256, 1.3+": {suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, min: tls.VersionTLS13, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := HTTP2CipherSuiteMissing(tc.suites, tc.min); got != tc.want {
				t.Fatalf("= %v, want %v", got, tc.want)
			}
		})
	}
}
