package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end tests of authentication (issue 4): every kind of user
// through the real kubectl, service-account tokens from `kubectl create
// token` to their revocation, and authn's failure modes.

// user is one way of calling the secure port with kubectl.
type user struct {
	token      string // bearer token
	cert, key  string // client certificate files
	kubeconfig string // a whole kubeconfig instead
}

// kubectlAs runs kubectl against the secure port as u.
func (p *portico) kubectlAs(t *testing.T, u user, args ...string) result {
	t.Helper()
	base := []string{"--cache-dir", t.TempDir()}
	switch {
	case u.kubeconfig != "":
		base = append(base, "--kubeconfig", u.kubeconfig)
	default:
		base = append(base, "--server", p.secureURL(), "--certificate-authority", filepath.Join(p.dataDir, "certs", "apiserver.crt"))
		if u.token != "" {
			base = append(base, "--token", u.token)
		}
		if u.cert != "" {
			base = append(base, "--client-certificate", u.cert, "--client-key", u.key)
		}
	}
	return run(t, "", "kubectl", append(base, args...)...)
}

// whoamiResult is what `kubectl auth whoami -o json` prints: the
// SelfSubjectReview.
type whoamiResult struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		CreationTimestamp string `json:"creationTimestamp"`
	} `json:"metadata"`
	Status struct {
		UserInfo struct {
			Username string              `json:"username"`
			UID      string              `json:"uid"`
			Groups   []string            `json:"groups"`
			Extra    map[string][]string `json:"extra"`
		} `json:"userInfo"`
	} `json:"status"`
}

func (p *portico) whoami(t *testing.T, u user, args ...string) whoamiResult {
	t.Helper()
	r := p.kubectlAs(t, u, append([]string{"auth", "whoami", "-o", "json"}, args...)...)
	if r.err != nil {
		t.Fatalf("kubectl auth whoami: %s\nportico logs:\n%s", r, p.logs.String())
	}
	var w whoamiResult
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil {
		t.Fatalf("whoami output %q: %v", r.stdout, err)
	}
	if w.Kind != "SelfSubjectReview" || w.APIVersion != "authentication.k8s.io/v1" {
		t.Fatalf("whoami kind = %s %s", w.APIVersion, w.Kind)
	}
	if _, err := time.Parse(time.RFC3339, w.Metadata.CreationTimestamp); err != nil {
		t.Fatalf("creationTimestamp %q: %v", w.Metadata.CreationTimestamp, err)
	}
	return w
}

func checkUser(t *testing.T, who string, w whoamiResult, name, uid string, groups ...string) {
	t.Helper()
	u := w.Status.UserInfo
	if u.Username != name || u.UID != uid || strings.Join(u.Groups, ",") != strings.Join(groups, ",") {
		t.Errorf("%s: whoami = %+v, want %s uid=%q %v", who, u, name, uid, groups)
	}
}

// mustUnauthorized checks kubectl's answer to a 401.
func mustUnauthorized(t *testing.T, what string, r result) {
	t.Helper()
	if r.err == nil || !strings.Contains(r.stderr, "You must be logged in to the server") {
		t.Errorf("%s: want Unauthorized, got %s", what, r)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientCA loads the client CA `portico up` made.
func (p *portico) clientCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.LoadCA(p.pki("client-ca.crt"), p.pki("client-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue writes a client certificate from ca and returns its files.
func issue(t *testing.T, ca *pki.CA, o pki.IssueOptions) (string, string) {
	t.Helper()
	o.Client = true
	certPEM, keyPEM, err := ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return writeFile(t, filepath.Join(dir, "user.crt"), string(certPEM)), writeFile(t, filepath.Join(dir, "user.key"), string(keyPEM))
}

func credentialID(t *testing.T, certFile string) string {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	sum := sha256.Sum256(block.Bytes)
	return "X509SHA256=" + hex.EncodeToString(sum[:])
}

// TestAuthnUsers: admin by client certificate, users by static token
// (with whoami for each), the Kubernetes 401, and the token file's
// reload.
func TestAuthnUsers(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	writeFile(t, tokens, "tok-admin-0123456789,admin,uid-admin,system:masters\ntok-bob-0123456789,bob,uid-bob,dev\n")
	p := startPortico(t, "--token-auth-file", tokens)
	admin := user{kubeconfig: p.kubeconfig()}
	bob := user{token: "tok-bob-0123456789"}

	// Admin by the client certificate of the admin kubeconfig.
	if r := p.kubectlAs(t, admin, "get", "namespaces"); r.err != nil || !strings.Contains(r.stdout, "kube-system") {
		t.Fatalf("admin get namespaces: %s", r)
	}
	w := p.whoami(t, admin)
	checkUser(t, "admin cert", w, "admin", "", "system:masters", "system:authenticated")
	if got := w.Status.UserInfo.Extra["authentication.kubernetes.io/credential-id"]; len(got) != 1 || got[0] != credentialID(t, p.pki("admin.crt")) {
		t.Errorf("admin credential-id = %v", got)
	}
	// The table kubectl prints, as kube-apiserver's answer makes it.
	r := p.kubectlAs(t, admin, "auth", "whoami")
	if r.err != nil || !strings.Contains(r.stdout, "Username") || !strings.Contains(r.stdout, "[system:masters system:authenticated]") ||
		!strings.Contains(r.stdout, "Extra: authentication.kubernetes.io/credential-id") {
		t.Errorf("whoami table: %s", r)
	}

	// Users by token.
	checkUser(t, "admin token", p.whoami(t, user{token: "tok-admin-0123456789"}), "admin", "uid-admin", "system:masters", "system:authenticated")
	checkUser(t, "bob token", p.whoami(t, bob), "bob", "uid-bob", "dev", "system:authenticated")
	if r := p.kubectlAs(t, user{token: "tok-admin-0123456789"}, "get", "namespaces"); r.err != nil {
		t.Errorf("admin by token: %s", r)
	}
	// bob is authenticated: refused by authorization (403), not 401.
	if r := p.kubectlAs(t, bob, "get", "namespaces"); r.err == nil || !strings.Contains(r.stderr, "Forbidden") || strings.Contains(r.stderr, "logged in") {
		t.Errorf("bob get namespaces: %s", r)
	}
	mustUnauthorized(t, "wrong token", p.kubectlAs(t, user{token: "not-a-token"}, "get", "namespaces"))
	mustUnauthorized(t, "wrong token, whoami", p.kubectlAs(t, user{token: "not-a-token"}, "auth", "whoami"))

	// The 401 body is kube-apiserver's.
	c := p.secureClient(t, "", "")
	for name, auth := range map[string]string{"no credential": "", "bad token": "Bearer nope"} {
		req, _ := http.NewRequest("GET", p.secureURL()+"/api/v1/namespaces", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		want := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`
		if resp.StatusCode != 401 || strings.TrimSpace(body) != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %q", name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}

	// The token file is re-read when it changes: bob's token goes, carol
	// arrives, without a restart.
	writeFile(t, tokens, "tok-admin-0123456789,admin,uid-admin,system:masters\ntok-carol-0123456789,carol,uid-carol,\"qa,ops\"\n")
	start := time.Now()
	testwait.Until(t, 10*time.Second, "bob's removed token to be refused", func() bool {
		return p.kubectlAs(t, bob, "auth", "whoami").err != nil
	})
	t.Logf("token file reload took effect within %v (poll interval 1s)", time.Since(start).Round(time.Millisecond))
	checkUser(t, "carol after reload", p.whoami(t, user{token: "tok-carol-0123456789"}), "carol", "uid-carol", "qa", "ops", "system:authenticated")
	// A bad new file keeps the tokens in force and says why in the log.
	writeFile(t, tokens, "tok-dave-0123456789,dave,uid-dave\nbroken-line\n")
	testwait.Until(t, 10*time.Second, "the bad file to be reported", func() bool {
		return strings.Contains(p.logs.String(), "token file changed but is invalid: keeping the tokens loaded before")
	})
	checkUser(t, "carol after a bad file", p.whoami(t, user{token: "tok-carol-0123456789"}), "carol", "uid-carol", "qa", "ops", "system:authenticated")
	if !strings.Contains(p.logs.String(), "line 2: want at least 3 columns") {
		t.Errorf("the log does not name the bad line")
	}
	for _, secret := range []string{"tok-admin-0123456789", "tok-bob-0123456789", "tok-carol-0123456789", "tok-dave-0123456789"} {
		if strings.Contains(p.logs.String(), secret) {
			t.Errorf("a token reached the log: %s", secret)
		}
	}
}

// getAs GETs path on the secure port with a bearer token ("" for none).
func (p *portico) getAs(t *testing.T, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.secureURL()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.secureClient(t, "", "").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(t, resp)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestAuthnMalformedTokenFileStopsStart: the start fails, naming the line.
func TestAuthnMalformedTokenFileStopsStart(t *testing.T) {
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"), "tok-ok-0123456789,alice,1\n\ntok-bad-0123456789,bob\n")
	dir := t.TempDir()
	r := run(t, "", bins.portico, "up", "--data-dir", dir, "--token-auth-file", tokens,
		"--insecure-port", fmt.Sprint(freePort(t)), "--secure-port", fmt.Sprint(freePort(t)), "--bind-address", "127.0.0.1",
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if r.err == nil || !strings.Contains(r.stderr, "line 3: want at least 3 columns") || strings.Contains(r.stderr, "tok-bad") {
		t.Fatalf("portico up with a malformed token file: %s", r)
	}
}

// TestAuthnKubeconfigCommand: `portico kubeconfig` issues a user
// certificate from the client CA and writes a kubeconfig that works.
func TestAuthnKubeconfigCommand(t *testing.T) {
	p := startPortico(t)
	out := filepath.Join(t.TempDir(), "alice.kubeconfig")
	r := run(t, "", bins.portico, "kubeconfig", "--data-dir", p.dataDir, "--user", "alice", "--group", "dev", "--group", "ops", "--out", out)
	if r.err != nil {
		t.Fatalf("portico kubeconfig: %s", r)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig file: %v %v", fi, err)
	}
	checkUser(t, "alice", p.whoami(t, user{kubeconfig: out}), "alice", "", "dev", "ops", "system:authenticated")
	// To standard out, for a system:masters user, with the server given.
	r = run(t, "", bins.portico, "kubeconfig", "--data-dir", p.dataDir, "--user", "root", "--group", "system:masters", "--server", p.secureURL())
	if r.err != nil || !strings.Contains(r.stdout, "client-certificate-data:") {
		t.Fatalf("portico kubeconfig to stdout: %s", r)
	}
	kc := writeFile(t, filepath.Join(t.TempDir(), "root.kubeconfig"), r.stdout)
	if r := p.kubectlAs(t, user{kubeconfig: kc}, "create", "namespace", "by-root"); r.err != nil {
		t.Fatalf("root create namespace: %s", r)
	}
	if r := run(t, "", bins.portico, "kubeconfig", "--data-dir", p.dataDir); r.err == nil || !strings.Contains(r.stderr, "--user is required") {
		t.Errorf("no --user: %s", r)
	}
}

// intermediate makes an intermediate CA under ca and a leaf under it, and
// writes the leaf with the intermediate after it (what a client sends).
func intermediate(t *testing.T, ca *pki.CA, cn string, orgs ...string) (chainFile, keyFile string) {
	t.Helper()
	ikey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Add(-time.Minute)
	itmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "portico-intermediate-ca"},
		NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	ider, err := x509.CreateCertificate(rand.Reader, itmpl, ca.Cert, &ikey.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	icert, _ := x509.ParseCertificate(ider)
	lkey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ltmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 1), Subject: pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore: now, NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	lder, err := x509.CreateCertificate(rand.Reader, ltmpl, icert, &lkey.PublicKey, ikey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(lkey)
	dir := t.TempDir()
	chain := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lder})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ider}))
	return writeFile(t, filepath.Join(dir, "chain.crt"), chain),
		writeFile(t, filepath.Join(dir, "leaf.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
}

// TestAuthnCertificates: expired, not-yet-valid and foreign-CA
// certificates are 401 even with anonymous on; intermediates sent by the
// client are used, over REST and over gRPC; anonymous requests.
func TestAuthnCertificates(t *testing.T) {
	p := startPortico(t, "--anonymous-auth")
	ca := p.clientCA(t)
	// Same subject as the client CA, so kubectl offers its certificate.
	foreignCA, err := pki.NewCA(pki.ClientCACommonName, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := issue(t, foreignCA, pki.IssueOptions{CommonName: "mallory", Organizations: []string{"system:masters"}})
	mustUnauthorized(t, "foreign CA", p.kubectlAs(t, user{cert: cert, key: key}, "get", "namespaces"))
	cert, key = issue(t, ca, pki.IssueOptions{CommonName: "old", NotBefore: time.Now().Add(-2 * time.Hour), Validity: time.Hour})
	mustUnauthorized(t, "expired", p.kubectlAs(t, user{cert: cert, key: key}, "auth", "whoami"))
	cert, key = issue(t, ca, pki.IssueOptions{CommonName: "future", NotBefore: time.Now().Add(time.Hour), Validity: time.Hour})
	mustUnauthorized(t, "not yet valid", p.kubectlAs(t, user{cert: cert, key: key}, "auth", "whoami"))
	mustUnauthorized(t, "bad token with anonymous on", p.kubectlAs(t, user{token: "nope"}, "auth", "whoami"))

	// No credential at all: anonymous. (kubectl with no credential asks
	// for a password on the terminal, so the review is posted directly.)
	req, _ := http.NewRequest("POST", p.secureURL()+"/apis/authentication.k8s.io/v1/selfsubjectreviews",
		strings.NewReader(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`))
	resp, err := p.secureClient(t, "", "").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var anon whoamiResult
	if body := readAll(t, resp); resp.StatusCode != 201 || json.Unmarshal([]byte(body), &anon) != nil {
		t.Fatalf("anonymous SelfSubjectReview: %d %s", resp.StatusCode, body)
	}
	checkUser(t, "anonymous", anon, "system:anonymous", "", "system:unauthenticated")
	if code, body := p.getAs(t, "", "/api/v1/namespaces"); code != 403 || !strings.Contains(body, `User \"system:anonymous\" cannot list resource \"namespaces\"`) {
		t.Errorf("anonymous list namespaces: %d %s", code, body)
	}

	// A certificate from an intermediate CA: refused when the client sends
	// the leaf alone (first, before any answer about this leaf is cached),
	// accepted when it sends the intermediate along.
	chain, leafKey := intermediate(t, ca, "ivan", "system:masters")
	leafOnly := writeFile(t, filepath.Join(t.TempDir(), "leaf.crt"), strings.SplitAfter(readFile(t, chain), "-----END CERTIFICATE-----\n")[0])
	mustUnauthorized(t, "leaf without its intermediate", p.kubectlAs(t, user{cert: leafOnly, key: leafKey}, "auth", "whoami"))
	checkUser(t, "via intermediate", p.whoami(t, user{cert: chain, key: leafKey}), "ivan", "", "system:masters", "system:authenticated")
	// The same chain calling the api's gRPC port directly is judged by
	// the same authn code.
	r := p.grpcurl(t, chain, leafKey, "-d", `{"name":"default"}`, p.apiAddr(), "portico.core.v1.NamespaceService/GetNamespace")
	if r.err != nil || !strings.Contains(r.stdout, `"name": "default"`) {
		t.Errorf("gRPC via intermediate: %s", r)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwtPart decodes one part of a JWT.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAuthnServiceAccounts: `kubectl create token` then the token's use,
// TokenRequest's limits, TokenReview, the OpenID documents, and the
// token's refusal once its service account is deleted (the delay is
// measured and logged).
func TestAuthnServiceAccounts(t *testing.T) {
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"), "tok-bob-0123456789,bob,uid-bob,dev\n")
	p := startPortico(t, "--token-auth-file", tokens)
	admin := user{kubeconfig: p.kubeconfig()}
	mustAdmin := func(args ...string) string {
		t.Helper()
		r := p.kubectlAs(t, admin, args...)
		if r.err != nil {
			t.Fatalf("kubectl %s: %s\nportico logs:\n%s", strings.Join(args, " "), r, p.logs.String())
		}
		return r.stdout
	}
	mustAdmin("create", "namespace", "demo")
	// Every namespace gets its default service account.
	mustAdmin("get", "serviceaccount", "default", "-n", "demo")
	mustAdmin("get", "serviceaccount", "default", "-n", "kube-system")
	mustAdmin("create", "serviceaccount", "app", "-n", "demo")
	uid := strings.TrimSpace(mustAdmin("get", "serviceaccount", "app", "-n", "demo", "-o", "jsonpath={.metadata.uid}"))

	tok := strings.TrimSpace(mustAdmin("create", "token", "app", "-n", "demo"))
	hdr, claims := jwtPart(t, tok, 0), jwtPart(t, tok, 1)
	if hdr["alg"] != "ES256" || hdr["kid"] == "" {
		t.Errorf("header = %v", hdr)
	}
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	if claims["iss"] != "https://kubernetes.default.svc.cluster.local" || claims["sub"] != "system:serviceaccount:demo:app" ||
		fmt.Sprint(claims["aud"]) != "[https://kubernetes.default.svc.cluster.local]" ||
		claims["exp"].(float64)-claims["iat"].(float64) != 3600 || k8s["namespace"] != "demo" || sa["name"] != "app" || sa["uid"] != uid {
		t.Errorf("claims = %v", claims)
	}
	w := p.whoami(t, user{token: tok})
	checkUser(t, "service account", w, "system:serviceaccount:demo:app", uid, "system:serviceaccounts", "system:serviceaccounts:demo", "system:authenticated")
	if got := w.Status.UserInfo.Extra["authentication.kubernetes.io/credential-id"]; len(got) != 1 || got[0] != "JTI="+claims["jti"].(string) {
		t.Errorf("credential-id = %v", got)
	}
	// The token of the default account works too; used against a resource
	// it is authenticated (403 from authorization, not 401).
	def := strings.TrimSpace(mustAdmin("create", "token", "default", "-n", "demo"))
	if code, body := p.getAs(t, def, "/api/v1/namespaces/demo/pods"); code != 403 || !strings.Contains(body, `User \"system:serviceaccount:demo:default\" cannot list`) {
		t.Errorf("default token list pods: %d %s", code, body)
	}

	// TokenRequest's limits and options.
	if r := p.kubectlAs(t, admin, "create", "token", "app", "-n", "demo", "--duration", "5m"); r.err == nil ||
		!strings.Contains(r.stderr, "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes") {
		t.Errorf("5 minute token: %s", r)
	}
	c20 := jwtPart(t, mustAdmin("create", "token", "app", "-n", "demo", "--duration", "20m"), 1)
	if c20["exp"].(float64)-c20["iat"].(float64) != 1200 {
		t.Errorf("20 minute token: %v", c20)
	}
	vault := strings.TrimSpace(mustAdmin("create", "token", "app", "-n", "demo", "--audience", "vault"))
	if fmt.Sprint(jwtPart(t, vault, 1)["aud"]) != "[vault]" {
		t.Errorf("vault token aud = %v", jwtPart(t, vault, 1)["aud"])
	}
	mustUnauthorized(t, "token for another audience", p.kubectlAs(t, user{token: vault}, "auth", "whoami"))
	if r := p.kubectlAs(t, admin, "create", "token", "nope", "-n", "demo"); r.err == nil || !strings.Contains(r.stderr, `serviceaccounts "nope" not found`) {
		t.Errorf("token of a missing account: %s", r)
	}

	// TokenReview, for a caller allowed to (admin) and one not (bob).
	adminHTTP := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	review := func(c *http.Client, auth, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", p.secureURL()+"/apis/authentication.k8s.io/v1/tokenreviews", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(readAll(t, resp)), &m)
		return resp.StatusCode, m
	}
	code, m := review(adminHTTP, "", `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"`+vault+`","audiences":["vault"]}}`)
	st, _ := m["status"].(map[string]any)
	if code != 201 || st["authenticated"] != true || fmt.Sprint(st["audiences"]) != "[vault]" ||
		st["user"].(map[string]any)["username"] != "system:serviceaccount:demo:app" {
		t.Errorf("TokenReview: %d %v", code, m)
	}
	code, m = review(adminHTTP, "", `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"garbage"}}`)
	if st, _ := m["status"].(map[string]any); code != 201 || st["authenticated"] != nil || st["error"] == nil {
		t.Errorf("TokenReview of garbage: %d %v", code, m)
	}
	if code, m = review(p.secureClient(t, "", ""), "tok-bob-0123456789", `{"spec":{"token":"x"}}`); code != 403 {
		t.Errorf("TokenReview by bob: %d %v", code, m)
	}

	// The OpenID documents verify the token.
	code, _, body := httpDo(t, adminHTTP, "GET", p.secureURL()+"/.well-known/openid-configuration", "", "")
	var oidc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal([]byte(body), &oidc); code != 200 || err != nil || oidc.Issuer != "https://kubernetes.default.svc.cluster.local" ||
		!strings.HasSuffix(oidc.JWKSURI, "/openid/v1/jwks") || fmt.Sprint(oidc.Algs) != "[ES256]" {
		t.Errorf("openid-configuration: %d %s", code, body)
	}
	code, hdrs, body := httpDo(t, adminHTTP, "GET", p.secureURL()+"/openid/v1/jwks", "", "")
	if code != 200 || hdrs.Get("Content-Type") != "application/jwk-set+json" || !verifyWithJWKS(t, tok, body) {
		t.Errorf("jwks: %d %s %s", code, hdrs.Get("Content-Type"), body)
	}

	// Deletion: the token is refused from the moment the account is gone.
	// It was answered a moment ago, so the gateway has it cached: the
	// delay measured includes the invalidation reaching the gateway.
	bearer := p.secureClient(t, "", "")
	whoami := func() int {
		req, _ := http.NewRequest("POST", p.secureURL()+"/apis/authentication.k8s.io/v1/selfsubjectreviews", strings.NewReader(`{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := bearer.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := whoami(); c != 201 {
		t.Fatalf("whoami before deletion: %d", c)
	}
	code, _, body = httpDo(t, adminHTTP, "DELETE", p.secureURL()+"/api/v1/namespaces/demo/serviceaccounts/app", "", "")
	deleted := time.Now()
	if code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	testwait.Until(t, 5*time.Second, "the deleted account's token refused", func() bool {
		c := whoami()
		if c != 401 && c != 201 {
			t.Fatalf("whoami after deletion: %d", c)
		}
		return c == 401
	})
	delay := time.Since(deleted)
	t.Logf("service-account token refused %v after the delete was answered", delay)
	if delay > time.Second {
		t.Errorf("revocation took %v, want under 1 s", delay)
	}
	mustUnauthorized(t, "kubectl with the deleted account's token", p.kubectlAs(t, user{token: tok}, "auth", "whoami"))
	// Recreated under the same name: a new UID, the old token stays dead.
	mustAdmin("create", "serviceaccount", "app", "-n", "demo")
	mustUnauthorized(t, "old token after re-creation", p.kubectlAs(t, user{token: tok}, "auth", "whoami"))

	// The development key survives a restart: tokens stay valid.
	p.stop()
	p.start()
	if w := p.whoami(t, user{token: def}); w.Status.UserInfo.Username != "system:serviceaccount:demo:default" {
		t.Errorf("default's token after a restart: %+v", w.Status.UserInfo)
	}
	if strings.Contains(p.logs.String(), tok) || strings.Contains(p.logs.String(), def) {
		t.Error("a token reached the log")
	}
}

// verifyWithJWKS checks an ES256 token's signature with the key of its
// kid in a JWKS document.
func verifyWithJWKS(t *testing.T, token, jwks string) bool {
	t.Helper()
	var set struct {
		Keys []struct{ Kid, Kty, Crv, Alg, X, Y string } `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return false
	}
	kid := jwtPart(t, token, 0)["kid"]
	parts := strings.Split(token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "EC" || k.Crv != "P-256" || len(sig) != 64 {
			continue
		}
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		return ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	return false
}

// TestAuthnServiceAccountKeyRotation: RSA and ECDSA keys, a custom issuer,
// and a rotation: tokens of the old key work while its public key is in
// --service-account-key-file, and stop when it leaves.
func TestAuthnServiceAccountKeyRotation(t *testing.T) {
	dir := t.TempDir()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	oldKey := writeFile(t, filepath.Join(dir, "old.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})))
	oldPub := writeFile(t, filepath.Join(dir, "old.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub})))
	newKey := writeFile(t, filepath.Join(dir, "new.key"), string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})))
	const issuer = "https://issuer.portico.example"

	p := startPortico(t, "--service-account-signing-key-file", oldKey, "--service-account-issuer", issuer)
	admin := user{kubeconfig: p.kubeconfig()}
	create := func() string {
		t.Helper()
		r := p.kubectlAs(t, admin, "create", "token", "default", "-n", "default")
		if r.err != nil {
			t.Fatalf("create token: %s\n%s", r, p.logs.String())
		}
		return strings.TrimSpace(r.stdout)
	}
	before := create()
	if h, c := jwtPart(t, before, 0), jwtPart(t, before, 1); h["alg"] != "ES256" || c["iss"] != issuer || fmt.Sprint(c["aud"]) != "["+issuer+"]" {
		t.Fatalf("token of the old key: %v %v", h, c)
	}
	saUser := "system:serviceaccount:default:default"

	// Rotation: sign with the new RSA key, still accept the old one.
	p.stop()
	p.args = append(p.args, "--service-account-signing-key-file", newKey, "--service-account-key-file", oldPub, "--service-account-key-file", newKey)
	p.start()
	after := create()
	if h := jwtPart(t, after, 0); h["alg"] != "RS256" {
		t.Fatalf("token of the new key: %v", h)
	}
	for name, tok := range map[string]string{"old key": before, "new key": after} {
		if w := p.whoami(t, user{token: tok}); w.Status.UserInfo.Username != saUser {
			t.Errorf("%s during rotation: %+v", name, w.Status.UserInfo)
		}
	}
	// The old key is retired.
	p.stop()
	p.args = append(p.args[:len(p.args)-6], "--service-account-signing-key-file", newKey, "--service-account-key-file", newKey)
	p.start()
	mustUnauthorized(t, "token of a retired key", p.kubectlAs(t, user{token: before}, "auth", "whoami"))
	if w := p.whoami(t, user{token: after}); w.Status.UserInfo.Username != saUser {
		t.Errorf("new key after rotation: %+v", w.Status.UserInfo)
	}
}

// TestAuthnUnavailable503: with the services in separate processes,
// killing authn makes authenticated requests fail with 503 (never pass),
// and they work again once it is back.
func TestAuthnUnavailable503(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, "", bins.portico, "certs", "--data-dir", dir); r.err != nil {
		t.Fatalf("portico certs: %s", r)
	}
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"), "tok-admin-0123456789,admin,uid-admin,system:masters\n")
	api, authn, authz := freePort(t), freePort(t), freePort(t)
	secure := freePort(t)
	common := []string{"--data-dir", dir, "--client-ca-file", filepath.Join(dir, "pki", "client-ca.crt"),
		"--grpc-api-address", fmt.Sprintf("127.0.0.1:%d", api), "--grpc-authn-address", fmt.Sprintf("127.0.0.1:%d", authn),
		"--grpc-authz-address", fmt.Sprintf("127.0.0.1:%d", authz)}
	procs := map[string]*exec.Cmd{}
	logs := map[string]*strings.Builder{}
	startProc := func(name string, extra ...string) {
		t.Helper()
		cmd := exec.Command(bins.portico, append(append([]string{name}, common...), extra...)...)
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name], logs[name] = cmd, &b
	}
	stopProc := func(name string, sig syscall.Signal) {
		if cmd := procs[name]; cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(sig)
			_ = cmd.Wait()
			procs[name] = nil
		}
	}
	t.Cleanup(func() {
		for name := range procs {
			stopProc(name, syscall.SIGTERM)
		}
	})
	startProc("authn", "--token-auth-file", tokens)
	startProc("authz")
	startProc("api")
	startProc("gateway", "--secure-port", fmt.Sprint(secure), "--bind-address", "127.0.0.1", "--insecure-port", "0")
	p := &portico{t: t, dataDir: dir, securePort: secure}
	testwait.Until(t, 60*time.Second, "the gateway's serving certificate", func() bool {
		_, err := os.Stat(filepath.Join(dir, "certs", "apiserver.crt"))
		return err == nil
	})
	c := p.secureClient(t, "", "")
	get := func() (int, string) {
		req, _ := http.NewRequest("GET", p.secureURL()+"/api/v1/namespaces/default", nil)
		req.Header.Set("Authorization", "Bearer tok-admin-0123456789")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		return resp.StatusCode, readAll(t, resp)
	}
	testwait.Until(t, 60*time.Second, "the multi-process deployment to serve", func() bool { code, _ := get(); return code == 200 })

	stopProc("authn", syscall.SIGKILL)
	killed := time.Now()
	// The gateway stops using its cache as soon as its stream to authn
	// breaks (the kernel closes the dead process's sockets at once).
	served := 0
	testwait.Until(t, 2*time.Second, "503 after authn was killed", func() bool {
		if code, _ := get(); code == 503 {
			return true
		}
		served++
		return false
	})
	t.Logf("first 503 %v after authn was killed (%d requests answered from the cache before the gateway saw the stream break)",
		time.Since(killed).Round(time.Microsecond), served)
	code, body := get()
	var st struct {
		Kind, Status, Reason string
		Code                 int
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 503 || st.Kind != "Status" || st.Reason != "ServiceUnavailable" || st.Code != 503 {
		t.Fatalf("authn killed: %d %s", code, body)
	}
	// A client certificate is no way around it either.
	certClient := p.secureClient(t, filepath.Join(dir, "pki", "admin.crt"), filepath.Join(dir, "pki", "admin.key"))
	if code, _, body := httpDo(t, certClient, "GET", p.secureURL()+"/api/v1/namespaces/default", "", ""); code != 503 {
		t.Fatalf("authn killed, client certificate: %d %s", code, body)
	}
	startProc("authn", "--token-auth-file", tokens)
	testwait.Until(t, 30*time.Second, "authn to be back", func() bool { code, _ := get(); return code == 200 })
}
