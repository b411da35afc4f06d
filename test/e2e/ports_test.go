package e2e

// Issue 3: the two ports of "Configuring APIserver ports", one test per
// numbered point of the issue (points 6-9 in ports_*_test.go and
// nginx_test.go). Only loopback addresses are ever connected to.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestPortsTLSFlags (point 1): --tls-min-version, --tls-cipher-suites,
// certificates reloaded from --tls-cert-file/--tls-private-key-file
// without a restart, --secure-port 0. (--bind-address's default is in
// TestPortsSelfSignedCert, the other flags' defaults in cmd/portico's
// unit tests.)
func TestPortsTLSFlags(t *testing.T) {
	t.Run("refused at start", func(t *testing.T) {
		tests := map[string]struct {
			args []string
			want []string
		}{
			"TLS 1.0":         {[]string{"--tls-min-version", "VersionTLS10"}, []string{"--tls-min-version: VersionTLS10 is refused", "VersionTLS12"}},
			"TLS 1.1":         {[]string{"--tls-min-version", "VersionTLS11"}, []string{"--tls-min-version: VersionTLS11 is refused"}},
			"unknown version": {[]string{"--tls-min-version", "1.2"}, []string{"use VersionTLS12 or VersionTLS13"}},
			"RC4": {
				[]string{"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
				[]string{"--tls-cipher-suites: TLS_ECDHE_RSA_WITH_RC4_128_SHA is an insecure cipher suite and is refused"},
			},
			"3DES": {
				[]string{"--tls-cipher-suites", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
				[]string{"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA is an insecure cipher suite"},
			},
			"OpenSSL name": {[]string{"--tls-cipher-suites", "ECDHE-ECDSA-AES128-GCM-SHA256"}, []string{`"ECDHE-ECDSA-AES128-GCM-SHA256" is not a cipher suite Go knows`}},
			"no suite HTTP/2 can use": {
				[]string{"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
				[]string{"HTTP/2 over TLS 1.2 requires one of them"},
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) { mustFailToStart(t, upArgs(t, tc.args...), tc.want...) })
		}
	})

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeCertPair(t, certFile, keyFile, "127.0.0.1", "localhost")
	p := startPorticoQuickStop(t, "--tls-cert-file", certFile, "--tls-private-key-file", keyFile,
		"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
	addr := fmt.Sprintf("127.0.0.1:%d", p.securePort)

	t.Run("cipher suites", func(t *testing.T) {
		st, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(first), MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatalf("TLS 1.2 with a listed suite: %v", err)
		}
		if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 || st.NegotiatedProtocol != "h2" {
			t.Errorf("version %x suite %s protocol %q", st.Version, tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol)
		}
		if _, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(first), MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}); err == nil {
			t.Errorf("TLS 1.2 with a suite not listed: handshake succeeded")
		}
		if _, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(first), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
			t.Errorf("TLS 1.1: handshake succeeded")
		}
		if st, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(first)}); err != nil || st.Version != tls.VersionTLS13 {
			t.Errorf("TLS 1.3: %v, version %x", err, st.Version)
		}
	})

	t.Run("certificate reloaded without a restart", func(t *testing.T) {
		second := writeCertPair(t, certFile, keyFile, "127.0.0.1", "localhost")
		took := testwait.Until(t, 10*time.Second, "a new connection gets the new certificate", func() bool {
			st, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(first, second)})
			return err == nil && st.PeerCertificates[0].SerialNumber.Cmp(second.SerialNumber) == 0
		})
		t.Logf("new certificate served %s after the files changed", took.Round(time.Millisecond))
		// kubectl trusting only the new certificate.
		r := run(t, "", "kubectl", "--server", p.secureURL(), "--certificate-authority", certFile,
			"--client-certificate", p.pki("admin.crt"), "--client-key", p.pki("admin.key"), "--cache-dir", t.TempDir(), "get", "namespace", "default")
		if r.err != nil || !strings.Contains(r.stdout, "default") {
			t.Errorf("kubectl with the new certificate: %s", r)
		}
		p.stop()
		if logs := p.logs.String(); !strings.Contains(logs, "reloaded certificate") {
			t.Errorf("the reload is not logged:\n%s", logs)
		}
	})

	t.Run("TLS 1.3 minimum", func(t *testing.T) {
		p.args = append(p.args, "--tls-min-version", "VersionTLS13")
		p.start()
		if _, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(readCertFile(t, certFile)), MaxVersion: tls.VersionTLS12}); err == nil {
			t.Errorf("TLS 1.2 client: handshake succeeded")
		}
		st, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(readCertFile(t, certFile)), NextProtos: []string{"h2"}})
		if err != nil || st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
			t.Errorf("TLS 1.3 client: %v, version %x, protocol %q", err, st.Version, st.NegotiatedProtocol)
		}
		p.stop()
	})

	t.Run("secure port 0 disables it", func(t *testing.T) {
		p.args = append(p.args, "--secure-port", "0")
		p.start() // ready on the insecure port
		if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("something listens on %s", addr)
		}
		p.stop()
		logs := p.logs.String()
		if !strings.Contains(logs, "secure port disabled (--secure-port 0)") || strings.Contains(logs, `msg="secure port listening"`) {
			t.Errorf("logs:\n%s", logs)
		}
	})
}

func readCertFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, _ := readCert(t, path)
	return c
}

// TestPortsInsecureRemote (point 2): the insecure port refuses a
// non-loopback address unless --insecure-allow-remote, then warns loudly;
// it does no authentication or authorization, every request being
// system:unsecured in system:masters and system:authenticated. It binds
// 0.0.0.0 but the test connects to 127.0.0.1 only.
func TestPortsInsecureRemote(t *testing.T) {
	mustFailToStart(t, upArgs(t, "--insecure-bind-address", "0.0.0.0"),
		"--insecure-bind-address 0.0.0.0 is not a loopback address", "add --insecure-allow-remote")

	audit := filepath.Join(t.TempDir(), "audit.log")
	p := startPorticoQuickStop(t, "--insecure-bind-address", "0.0.0.0", "--insecure-allow-remote", "--audit-log-path", audit)
	if !listensOnAllInterfaces(t, p.insecurePort) {
		t.Errorf("the insecure port %d is not bound to every interface", p.insecurePort)
	}
	// No credentials, --authorization-mode AlwaysDeny: still allowed.
	code, _, body := httpDo(t, http.DefaultClient, "POST", p.insecureURL()+"/api/v1/namespaces", "application/json", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"from-insecure"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create on the insecure port: %d %s", code, body)
	}
	p.stop()
	if logs := p.logs.String(); !regexp.MustCompile(`level=WARN msg="WARNING: THE INSECURE PORT IS BOUND TO A NON-LOOPBACK ADDRESS.*protected only by host and network access.*address=0\.0\.0\.0:`).MatchString(logs) {
		t.Errorf("no loud warning in the logs:\n%s", logs)
	}
	_, evs := readAuditLog(t, audit)
	found := false
	for _, ev := range evs {
		if ev.User.Username != "system:unsecured" || !slices.Equal(ev.User.Groups, []string{"system:masters", "system:authenticated"}) {
			t.Errorf("insecure-port request by %+v", ev.User)
		}
		if ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "namespaces" && ev.ResponseStatus.Code == 201 {
			found = true
		}
	}
	if !found {
		t.Errorf("the create is not in the audit log")
	}
}

// listensOnAllInterfaces reads /proc/net/tcp{,6} for a listener on the
// wildcard address (0.0.0.0 or [::], which Go uses for "0.0.0.0") and
// port: no packet is sent.
func listensOnAllInterfaces(t *testing.T, port int) bool {
	t.Helper()
	want := map[string]string{
		"/proc/net/tcp":  fmt.Sprintf("00000000:%04X", port),
		"/proc/net/tcp6": fmt.Sprintf("00000000000000000000000000000000:%04X", port),
	}
	for file, local := range want {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && fields[1] == local && fields[3] == "0A" { // 0A: LISTEN
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// TestPortsReadOnlyPortRefused (point 3): the removed read-only port is
// refused at start by every command that serves the ports, with the
// reason and what to use instead.
func TestPortsReadOnlyPortRefused(t *testing.T) {
	for _, args := range [][]string{
		upArgs(t, "--read-only-port", "7080"),
		{"gateway", "--data-dir", t.TempDir(), "--read-only-port=0"},
	} {
		mustFailToStart(t, args, "--read-only-port: the read-only port was removed for security reasons; use service accounts (bearer tokens on the secure port) instead")
	}
}

// TestPortsSelfSignedCert (point 4, and point 1's --bind-address
// default): without --tls-cert-file a self-signed pair for localhost,
// 127.0.0.1, the hostname and the bind address is written to --cert-dir,
// reused as is on restart, and reloaded when its files change.
func TestPortsSelfSignedCert(t *testing.T) {
	p := startPorticoQuickStop(t)
	certPath, keyPath := filepath.Join(p.dataDir, "certs", "apiserver.crt"), filepath.Join(p.dataDir, "certs", "apiserver.key")
	cert, certPEM := readCert(t, certPath)
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, name := range []string{"localhost", host} {
		if err := cert.VerifyHostname(name); err != nil {
			t.Errorf("certificate not valid for %q: %v", name, err)
		}
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate not valid for 127.0.0.1 (the bind address): %v", err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", p.securePort)
	served := func(pool *x509.CertPool) *x509.Certificate {
		st, err := tlsHandshake(addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return st.PeerCertificates[0]
	}
	if !served(poolOf(cert)).Equal(cert) {
		t.Fatalf("the served certificate is not the one in --cert-dir")
	}

	p.stop()
	p.start()
	cert2, certPEM2 := readCert(t, certPath)
	keyPEM2, _ := os.ReadFile(keyPath)
	if string(certPEM2) != string(certPEM) || string(keyPEM2) != string(keyPEM) {
		t.Fatalf("the pair was rewritten on restart")
	}
	if !served(poolOf(cert2)).Equal(cert) {
		t.Fatalf("after restart another certificate is served")
	}

	next := writeCertPair(t, certPath, keyPath, "localhost", "127.0.0.1")
	took := testwait.Until(t, 10*time.Second, "the rewritten pair is served", func() bool {
		st, err := tlsHandshake(addr, &tls.Config{RootCAs: poolOf(cert, next), ServerName: "localhost"})
		return err == nil && st.PeerCertificates[0].Equal(next)
	})
	t.Logf("rewritten pair served after %s", took.Round(time.Millisecond))
	p.stop()

	// No --bind-address: the first non-loopback interface's address (or
	// 0.0.0.0) is picked, said in the log, and named in a new certificate.
	// Nothing connects to it.
	certDir := t.TempDir()
	p.args = append(p.args, "--bind-address", "", "--cert-dir", certDir)
	p.start()
	p.stop()
	m := regexp.MustCompile(`msg="--bind-address not given[^"]*" address=(\S+)`).FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("the picked bind address is not logged:\n%s", p.logs.String())
	}
	picked := m[1]
	t.Logf("picked bind address %s", picked)
	cert3, _ := readCert(t, filepath.Join(certDir, "apiserver.crt"))
	if picked == "0.0.0.0" {
		if !strings.Contains(p.logs.String(), "binding every interface") {
			t.Errorf("0.0.0.0 picked without saying so")
		}
		return
	}
	local := false
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.String() == picked {
			local = true
		}
	}
	if !local || net.ParseIP(picked).IsLoopback() {
		t.Errorf("picked %s, not a non-loopback address of this host (%v)", picked, addrs)
	}
	if err := cert3.VerifyHostname(picked); err != nil {
		t.Errorf("the certificate does not name the bind address: %v", err)
	}
	if !strings.Contains(p.logs.String(), "interface=") {
		t.Errorf("the interface is not named in the log")
	}
}

// TestPortsSecurePort (point 5): client certificates requested, not
// required; bearer tokens; HTTP/2 and HTTP/1.1; every unauthenticated
// request 401 with a Status, /healthz included unless --anonymous-auth,
// then the public-info paths only; plain HTTP gets an error, never data.
func TestPortsSecurePort(t *testing.T) {
	p := startPorticoQuickStop(t, "--token-auth-file", writePortsTokens(t))
	servingCert := readCertFile(t, filepath.Join(p.dataDir, "certs", "apiserver.crt"))
	tlsCfg := func() *tls.Config { return &tls.Config{RootCAs: poolOf(servingCert), MinVersion: tls.VersionTLS12} }
	h2 := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg(), ForceAttemptHTTP2: true}}
	h1 := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg(),
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}

	t.Run("HTTP/2 and HTTP/1.1 with a bearer token", func(t *testing.T) {
		for proto, c := range map[string]*http.Client{"HTTP/2.0": h2, "HTTP/1.1": h1} {
			resp, body := sendAs(t, c, "GET", p.secureURL()+"/api/v1/namespaces/default", aliceToken, "")
			if resp.StatusCode != 200 || resp.Proto != proto || !strings.Contains(body, `"name":"default"`) {
				t.Errorf("want %s: %d %s %s", proto, resp.StatusCode, resp.Proto, body)
			}
		}
		r := run(t, "", "kubectl", "--server", p.secureURL(), "--certificate-authority", filepath.Join(p.dataDir, "certs", "apiserver.crt"),
			"--token", aliceToken, "--cache-dir", t.TempDir(), "get", "namespaces")
		if r.err != nil || !strings.Contains(r.stdout, "kube-system") {
			t.Errorf("kubectl with a token: %s", r)
		}
	})

	t.Run("client certificate requested, not required", func(t *testing.T) {
		requested := false
		var acceptable int
		cfg := tlsCfg()
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			requested, acceptable = true, len(cri.AcceptableCAs)
			return &tls.Certificate{}, nil // none
		}
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, body := sendAs(t, c, "GET", p.secureURL()+"/api/v1/namespaces", "", "")
		if resp.StatusCode != 401 {
			t.Errorf("no certificate, no token: %d %s", resp.StatusCode, body)
		}
		if !requested || acceptable == 0 {
			t.Errorf("the server did not request a client certificate naming the client CA (requested %v, CAs %d)", requested, acceptable)
		}
		code, _, body := httpDo(t, p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key")), "GET", p.secureURL()+"/api/v1/namespaces", "", "")
		if code != 200 || !strings.Contains(body, "kube-system") {
			t.Errorf("admin client certificate: %d %s", code, body)
		}
	})

	const unauthorized = `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`
	t.Run("unauthenticated is 401 everywhere", func(t *testing.T) {
		for _, path := range []string{"/api/v1/namespaces", "/api/v1/namespaces/default/configmaps/x", "/healthz", "/livez", "/readyz", "/version", "/metrics", "/api", "/no/such/path"} {
			for _, auth := range []string{"", "Bearer wrong-token", "Basic YWxpY2U6cGFzcw==", "Bearer"} {
				req, _ := http.NewRequest("GET", p.secureURL()+path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := h1.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
				resp.Body.Close()
				if resp.StatusCode != 401 || strings.TrimSpace(b.String()) != unauthorized || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s with %q: %d %s", path, auth, resp.StatusCode, b.String())
				}
			}
		}
	})

	t.Run("plain HTTP gets an error, never data", func(t *testing.T) {
		plain := strings.Replace(p.secureURL(), "https://", "http://", 1)
		resp, body := sendAs(t, http.DefaultClient, "GET", plain+"/api/v1/namespaces", aliceToken, "")
		if resp.StatusCode != 400 || !strings.Contains(body, "Client sent an HTTP request to an HTTPS server") || strings.Contains(body, "kube-system") {
			t.Errorf("plain HTTP: %d %q", resp.StatusCode, body)
		}
		r := run(t, "", "curl", "-s", "-H", "Authorization: Bearer "+aliceToken, plain+"/api/v1/namespaces")
		if strings.Contains(r.stdout, "kube-system") || !strings.Contains(r.stdout, "HTTPS server") {
			t.Errorf("curl over plain HTTP: %s", r)
		}
	})

	t.Run("metrics need a grant", func(t *testing.T) {
		if resp, body := sendAs(t, h2, "GET", p.secureURL()+"/metrics", aliceToken, ""); resp.StatusCode != 200 || !strings.Contains(body, "apiserver_request_total") {
			t.Errorf("alice (system:masters) /metrics: %d", resp.StatusCode)
		}
		resp, body := sendAs(t, h2, "GET", p.secureURL()+"/metrics", bobToken, "")
		if st := parseStatus(t, body); resp.StatusCode != 403 || !strings.HasPrefix(st.Message, `forbidden: User "bob" cannot get path "/metrics"`) {
			t.Errorf("bob /metrics: %d %s", resp.StatusCode, body)
		}
	})

	// As kube-apiserver with RBAC's system:public-info-viewer: anonymous
	// may read the health and version paths when authorization grants
	// them; /metrics only to whom a policy names.
	t.Run("anonymous: public info only", func(t *testing.T) {
		policy := filepath.Join(t.TempDir(), "policy.jsonl")
		var lines []string
		for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
			lines = append(lines, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"system:unauthenticated","nonResourcePath":"`+path+`","readonly":true}}`)
		}
		lines = append(lines, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"bob","nonResourcePath":"/metrics","readonly":true}}`)
		if err := os.WriteFile(policy, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p.stop()
		p.args = append(p.args, "--anonymous-auth", "--authorization-mode", "ABAC", "--authorization-policy-file", policy)
		p.start()
		for _, path := range []string{"/healthz", "/livez", "/readyz"} {
			if resp, body := sendAs(t, h2, "GET", p.secureURL()+path, "", ""); resp.StatusCode != 200 || body != "ok" {
				t.Errorf("anonymous %s: %d %q", path, resp.StatusCode, body)
			}
		}
		if resp, body := sendAs(t, h2, "GET", p.secureURL()+"/version", "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"gitVersion"`) {
			t.Errorf("anonymous /version: %d %s", resp.StatusCode, body)
		}
		resp, body := sendAs(t, h2, "GET", p.secureURL()+"/metrics", "", "")
		if st := parseStatus(t, body); resp.StatusCode != 403 || !strings.HasPrefix(st.Message, `forbidden: User "system:anonymous" cannot get path "/metrics"`) {
			t.Errorf("anonymous /metrics: %d %s", resp.StatusCode, body)
		}
		if resp, _ := sendAs(t, h2, "GET", p.secureURL()+"/metrics", bobToken, ""); resp.StatusCode != 200 {
			t.Errorf("bob, granted /metrics by the policy: %d", resp.StatusCode)
		}
		if resp, body := sendAs(t, h2, "GET", p.secureURL()+"/api/v1/namespaces", "", ""); resp.StatusCode != 403 {
			t.Errorf("anonymous list namespaces (no grant): %d %s", resp.StatusCode, body)
		}
		if resp, body := sendAs(t, h2, "GET", p.secureURL()+"/healthz", "wrong-token", ""); resp.StatusCode != 401 || strings.TrimSpace(body) != unauthorized {
			t.Errorf("a wrong token is 401 even with anonymous on: %d %s", resp.StatusCode, body)
		}
	})
}
