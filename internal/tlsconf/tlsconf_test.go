package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

func TestMutualTLSHandshake(t *testing.T) {
	f := newFixture(t)
	apiCert, apiKey := f.service(t, f.internal, "api")
	gwCert, gwKey := f.service(t, f.internal, "gateway")
	userCert, userKey := f.issue(t, f.client, "jane", pki.IssueOptions{CommonName: "jane", Organizations: []string{"dev"}, Client: true, Validity: time.Hour})
	foreignCert, foreignKey := f.service(t, f.foreign, "impostor")
	serverOnlyCert, serverOnlyKey := f.issue(t, f.internal, "server-only", pki.IssueOptions{CommonName: "portico-x", Server: true, Validity: time.Hour})
	expiredCert, expiredKey := f.issue(t, f.internal, "expired", pki.IssueOptions{
		CommonName: "portico-old", Client: true, NotBefore: time.Now().Add(-2 * time.Hour), Validity: time.Hour,
	})

	type pair struct{ cert, key string }
	tests := map[string]struct {
		server     pair
		serverCAs  []string
		client     *pair // nil: no client certificate
		clientCAs  []string
		serverName string
		maxVersion uint16 // client's; 0 is the default
		minVersion uint16 // client's; 0 is the config's
		wantErr    string // "" means success
		clientSide bool   // wantErr is the client's error; otherwise the server's
		wantCN     string // CN of the client certificate the server saw
	}{
		"service to service": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.internalCAFile},
			wantCN: "portico-gateway",
		},
		"service to service over TLS 1.2": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.internalCAFile},
			maxVersion: tls.VersionTLS12,
			wantCN:     "portico-gateway",
		},
		"user certificate, server trusts internal and client CAs": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile, f.clientCAFile},
			client: &pair{userCert, userKey}, clientCAs: []string{f.internalCAFile},
			wantCN: "jane",
		},
		"user certificate, server trusts only the internal CA": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{userCert, userKey}, clientCAs: []string{f.internalCAFile},
			wantErr: "signed by unknown authority",
		},
		"no client certificate": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			clientCAs: []string{f.internalCAFile},
			wantErr:   "didn't provide a certificate",
		},
		"client certificate from a foreign CA": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{foreignCert, foreignKey}, clientCAs: []string{f.internalCAFile},
			wantErr: "signed by unknown authority",
		},
		"server certificate from a foreign CA": {
			server: pair{foreignCert, foreignKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.internalCAFile},
			wantErr: "signed by unknown authority", clientSide: true,
		},
		"client trusts only the client CA": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.clientCAFile},
			wantErr: "signed by unknown authority", clientSide: true,
		},
		"server name not in the certificate": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.internalCAFile},
			serverName: "api.example",
			wantErr:    "not api.example", clientSide: true,
		},
		"client certificate without client auth usage": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{serverOnlyCert, serverOnlyKey}, clientCAs: []string{f.internalCAFile},
			wantErr: "incompatible key usage",
		},
		"expired client certificate": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{expiredCert, expiredKey}, clientCAs: []string{f.internalCAFile},
			wantErr: "expired",
		},
		"TLS 1.1 client": {
			server: pair{apiCert, apiKey}, serverCAs: []string{f.internalCAFile},
			client: &pair{gwCert, gwKey}, clientCAs: []string{f.internalCAFile},
			minVersion: tls.VersionTLS10, maxVersion: tls.VersionTLS11,
			wantErr: "unsupported versions",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			serverCfg, err := Files{CertFile: tc.server.cert, KeyFile: tc.server.key, CAFiles: tc.serverCAs}.ServerConfig()
			if err != nil {
				t.Fatalf("ServerConfig: %v", err)
			}
			// The client files always name a pair so that ClientConfig
			// validates; "no client certificate" drops it afterwards.
			cf := Files{CertFile: gwCert, KeyFile: gwKey, CAFiles: tc.clientCAs}
			if tc.client != nil {
				cf.CertFile, cf.KeyFile = tc.client.cert, tc.client.key
			}
			serverName := tc.serverName
			if serverName == "" {
				serverName = "localhost"
			}
			clientCfg, err := cf.ClientConfig(serverName)
			if err != nil {
				t.Fatalf("ClientConfig: %v", err)
			}
			if tc.client == nil {
				clientCfg.GetClientCertificate = nil
			}
			// Else the certificate is presented whatever CAs the server
			// names (GetClientCertificate), so that the server's
			// verification is what is tested.
			if tc.minVersion != 0 {
				clientCfg.MinVersion = tc.minVersion
			}
			clientCfg.MaxVersion = tc.maxVersion

			res := handshake(t, serverCfg, clientCfg)
			if tc.wantErr == "" {
				if !res.ok() {
					t.Fatalf("handshake failed: server: %v; client: %v", res.serverErr, res.clientErr)
				}
				if len(res.peerCerts) == 0 || res.peerCerts[0].Subject.CommonName != tc.wantCN {
					t.Errorf("server saw client certificates %v, want CN %q", res.peerCerts, tc.wantCN)
				}
				return
			}
			if res.ok() {
				t.Fatalf("handshake succeeded, want failure containing %q", tc.wantErr)
			}
			side, got := "server", res.serverErr
			if tc.clientSide {
				side, got = "client", res.clientErr
			}
			if got == nil || !strings.Contains(got.Error(), tc.wantErr) {
				t.Errorf("%s error = %v, want containing %q (server: %v; client: %v)", side, got, tc.wantErr, res.serverErr, res.clientErr)
			}
		})
	}
}

func TestConfigFields(t *testing.T) {
	f := newFixture(t)
	cert, key := f.service(t, f.internal, "api")
	files := Files{CertFile: cert, KeyFile: key, CAFiles: []string{f.internalCAFile, f.clientCAFile}}

	srv, err := files.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := files.ClientConfig("api.internal")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		got, want any
	}{
		"server MinVersion":  {srv.MinVersion, uint16(tls.VersionTLS12)},
		"server ClientAuth":  {srv.ClientAuth, tls.RequireAndVerifyClientCert},
		"server certificate": {srv.GetCertificate != nil && len(srv.Certificates) == 0, true},
		"server ClientCAs":   {len(srv.ClientCAs.Subjects()), 2}, //nolint:staticcheck // counting is all we need
		"client MinVersion":  {cli.MinVersion, uint16(tls.VersionTLS12)},
		"client ServerName":  {cli.ServerName, "api.internal"},
		"client certificate": {cli.GetClientCertificate != nil && len(cli.Certificates) == 0, true},
		"client RootCAs":     {cli.RootCAs != nil, true},
		"client verifies":    {cli.InsecureSkipVerify, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
			}
		})
	}
	// Each call returns its own config.
	srv2, _ := files.ServerConfig()
	if srv2 == srv {
		t.Errorf("ServerConfig returned the same *tls.Config twice")
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	cert, key := f.service(t, f.internal, "api")
	_, otherKey := f.service(t, f.internal, "authn")
	garbage := filepath.Join(f.dir, "garbage.pem")
	writeFile(t, garbage, []byte("not PEM"))
	missing := filepath.Join(f.dir, "missing.crt")

	tests := map[string]struct {
		files   Files
		wantErr []string // each must appear; none means valid
	}{
		"valid":                {files: Files{CertFile: cert, KeyFile: key, CAFiles: []string{f.internalCAFile}}},
		"valid with two CAs":   {files: Files{CertFile: cert, KeyFile: key, CAFiles: []string{f.internalCAFile, f.clientCAFile}}},
		"nothing set":          {files: Files{}, wantErr: []string{"no certificate file", "no key file", "no CA file"}},
		"no key file":          {files: Files{CertFile: cert, CAFiles: []string{f.internalCAFile}}, wantErr: []string{"no key file"}},
		"missing certificate":  {files: Files{CertFile: missing, KeyFile: key, CAFiles: []string{f.internalCAFile}}, wantErr: []string{"missing.crt"}},
		"key of another pair":  {files: Files{CertFile: cert, KeyFile: otherKey, CAFiles: []string{f.internalCAFile}}, wantErr: []string{"does not match"}},
		"key file is garbage":  {files: Files{CertFile: cert, KeyFile: garbage, CAFiles: []string{f.internalCAFile}}, wantErr: []string{"garbage.pem"}},
		"CA file missing":      {files: Files{CertFile: cert, KeyFile: key, CAFiles: []string{f.internalCAFile, missing}}, wantErr: []string{"missing.crt"}},
		"CA file without cert": {files: Files{CertFile: cert, KeyFile: key, CAFiles: []string{key}}, wantErr: []string{"does not contain any valid RSA or ECDSA certificates"}},
		"everything wrong": {
			files:   Files{CertFile: missing, KeyFile: key, CAFiles: []string{garbage}},
			wantErr: []string{"missing.crt", "garbage.pem"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.files.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := tc.files.ServerConfig(); err != nil {
					t.Errorf("ServerConfig of valid files: %v", err)
				}
				if _, err := tc.files.ClientConfig("localhost"); err != nil {
					t.Errorf("ClientConfig of valid files: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate succeeded, want errors %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error %q lacks %q", err, want)
				}
			}
			if _, err := tc.files.ServerConfig(); err == nil {
				t.Errorf("ServerConfig of invalid files succeeded")
			}
			if _, err := tc.files.ClientConfig("localhost"); err == nil {
				t.Errorf("ClientConfig of invalid files succeeded")
			}
		})
	}
}

func TestLoadPool(t *testing.T) {
	f := newFixture(t)
	svcCert, svcKey := f.service(t, f.internal, "api")
	userCert, _ := f.issue(t, f.client, "jane", pki.IssueOptions{CommonName: "jane", Client: true, Validity: time.Hour})
	svc, user := readCert(t, svcCert), readCert(t, userCert)

	bundle := filepath.Join(f.dir, "bundle.pem")
	writeFile(t, bundle, append(append(f.internal.CertPEM(), "comment between blocks\n"...), f.client.CertPEM()...))
	empty := filepath.Join(f.dir, "empty.pem")
	writeFile(t, empty, nil)
	corrupt := filepath.Join(f.dir, "corrupt.pem")
	writeFile(t, corrupt, append(f.internal.CertPEM(), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"...))

	tests := map[string]struct {
		files      []string
		wantErr    string
		trustsSvc  bool
		trustsUser bool
	}{
		"one CA":              {files: []string{f.internalCAFile}, trustsSvc: true},
		"two files merged":    {files: []string{f.internalCAFile, f.clientCAFile}, trustsSvc: true, trustsUser: true},
		"one bundle of two":   {files: []string{bundle}, trustsSvc: true, trustsUser: true},
		"no files":            {wantErr: "no files"},
		"empty name":          {files: []string{""}, wantErr: "empty file name"},
		"empty file":          {files: []string{f.internalCAFile, empty}, wantErr: "does not contain any valid RSA or ECDSA certificates"},
		"key file, no cert":   {files: []string{svcKey}, wantErr: "does not contain any valid RSA or ECDSA certificates"},
		"missing file":        {files: []string{filepath.Join(f.dir, "nope.pem")}, wantErr: "no such file"},
		"corrupt certificate": {files: []string{corrupt}, wantErr: "malformed certificate"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pool, err := LoadPool(tc.files...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LoadPool error = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadPool: %v", err)
			}
			_, err = pki.VerifyChain([]*x509.Certificate{svc}, pool, x509.ExtKeyUsageClientAuth, time.Time{})
			if (err == nil) != tc.trustsSvc {
				t.Errorf("service certificate trusted = %v, want %v", err == nil, tc.trustsSvc)
			}
			_, err = pki.VerifyChain([]*x509.Certificate{user}, pool, x509.ExtKeyUsageClientAuth, time.Time{})
			if (err == nil) != tc.trustsUser {
				t.Errorf("user certificate trusted = %v, want %v", err == nil, tc.trustsUser)
			}
		})
	}
}

func TestServingConfig(t *testing.T) {
	f := newFixture(t)
	servingCert, servingKey := f.service(t, f.internal, "serving")
	userCert, userKey := f.issue(t, f.client, "jane", pki.IssueOptions{CommonName: "jane", Client: true, Validity: time.Hour})
	foreignCert, foreignKey := f.issue(t, f.foreign, "mallory", pki.IssueOptions{CommonName: "mallory", Client: true, Validity: time.Hour})
	r, err := NewReloader(servingCert, servingKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	clientPool, err := LoadPool(f.clientCAFile)
	if err != nil {
		t.Fatal(err)
	}
	rootPool, err := LoadPool(f.internalCAFile)
	if err != nil {
		t.Fatal(err)
	}
	load := func(cert, key string) []tls.Certificate {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	tests := map[string]struct {
		clientCAs    *x509.CertPool
		clientCerts  []tls.Certificate
		maxVersion   uint16
		wantErr      bool
		wantPeerCN   string // "" means no client certificate received
		wantVerified bool   // the received certificate verifies against the client CA
		// forceCert sends clientCerts[0] whatever CAs the server names, as
		// curl does; Go's client only sends a certificate the server's
		// advertised CAs accept.
		forceCert bool
	}{
		"no client certificate":                 {clientCAs: clientPool},
		"user certificate":                      {clientCAs: clientPool, clientCerts: load(userCert, userKey), wantPeerCN: "jane", wantVerified: true},
		"foreign certificate not offered by Go": {clientCAs: clientPool, clientCerts: load(foreignCert, foreignKey)},
		"foreign certificate passed unverified": {clientCAs: clientPool, clientCerts: load(foreignCert, foreignKey), forceCert: true, wantPeerCN: "mallory"},
		"client certificates not requested":     {clientCerts: load(userCert, userKey)},
		"TLS 1.1 refused":                       {clientCAs: clientPool, maxVersion: tls.VersionTLS11, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			serverCfg := ServingConfig(r, tc.clientCAs)
			if serverCfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", serverCfg.MinVersion)
			}
			clientCfg := &tls.Config{RootCAs: rootPool, ServerName: "localhost", Certificates: tc.clientCerts, MaxVersion: tc.maxVersion}
			if tc.maxVersion != 0 {
				clientCfg.MinVersion = tls.VersionTLS10
			}
			if tc.forceCert {
				clientCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return &tc.clientCerts[0], nil
				}
			}
			res := handshake(t, serverCfg, clientCfg)
			if tc.wantErr {
				if res.ok() {
					t.Fatal("handshake succeeded, want failure")
				}
				return
			}
			if !res.ok() {
				t.Fatalf("handshake failed: server: %v; client: %v", res.serverErr, res.clientErr)
			}
			if tc.wantPeerCN == "" {
				if len(res.peerCerts) != 0 {
					t.Errorf("server received %d client certificates, want none", len(res.peerCerts))
				}
				return
			}
			if len(res.peerCerts) == 0 || res.peerCerts[0].Subject.CommonName != tc.wantPeerCN {
				t.Fatalf("server received %v, want CN %q", res.peerCerts, tc.wantPeerCN)
			}
			_, err := pki.VerifyChain(res.peerCerts, clientPool, x509.ExtKeyUsageClientAuth, time.Time{})
			if (err == nil) != tc.wantVerified {
				t.Errorf("received certificate verifies = %v (%v), want %v", err == nil, err, tc.wantVerified)
			}
		})
	}
}

// TestServiceClientConfig: a client dialing one service refuses another
// service's certificate, although the same internal CA signed both and
// both are valid for the address.
func TestServiceClientConfig(t *testing.T) {
	f := newFixture(t)
	apiCert, apiKey := f.service(t, f.internal, "api")
	authzCert, authzKey := f.service(t, f.internal, "authz")
	gwCert, gwKey := f.service(t, f.internal, "gateway")
	userCert, userKey := f.issue(t, f.internal, "user", pki.IssueOptions{
		CommonName: "api", DNSNames: []string{"localhost"}, Server: true, Validity: time.Hour,
	})
	type pair struct{ cert, key string }
	tests := map[string]struct {
		server  pair
		want    string
		wantErr string
	}{
		"api serves api":         {server: pair{apiCert, apiKey}, want: "api"},
		"authz serves authz":     {server: pair{authzCert, authzKey}, want: "authz"},
		"authz poses as api":     {server: pair{authzCert, authzKey}, want: "api", wantErr: `certificate "portico-authz" is not service "api"'s`},
		"api poses as authz":     {server: pair{apiCert, apiKey}, want: "authz", wantErr: `is not service "authz"'s`},
		"CN without the prefix":  {server: pair{userCert, userKey}, want: "api", wantErr: `certificate "api" is not service "api"'s`},
		"gateway poses as authn": {server: pair{gwCert, gwKey}, want: "authn", wantErr: "want CN \"portico-authn\""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			serverCfg, err := Files{CertFile: tc.server.cert, KeyFile: tc.server.key, CAFiles: []string{f.internalCAFile}}.ServerConfig()
			if err != nil {
				t.Fatal(err)
			}
			clientCfg, err := Files{CertFile: gwCert, KeyFile: gwKey, CAFiles: []string{f.internalCAFile}}.ServiceClientConfig("localhost", tc.want)
			if err != nil {
				t.Fatal(err)
			}
			res := handshake(t, serverCfg, clientCfg)
			if tc.wantErr == "" {
				if !res.ok() {
					t.Fatalf("handshake failed: server: %v; client: %v", res.serverErr, res.clientErr)
				}
				return
			}
			if res.clientErr == nil || !strings.Contains(res.clientErr.Error(), tc.wantErr) {
				t.Fatalf("client error = %v, want one containing %q", res.clientErr, tc.wantErr)
			}
		})
	}
	if _, err := (Files{CertFile: gwCert, KeyFile: gwKey, CAFiles: []string{f.internalCAFile}}).ServiceClientConfig("localhost", ""); err == nil {
		t.Error("ServiceClientConfig with no service succeeded")
	}
}
