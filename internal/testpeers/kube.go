package testpeers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/peerbin"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// KubeAPIServerReadyTimeout bounds how long StartKubeAPIServer waits for
// /readyz (it bootstraps its RBAC policy and priority levels first).
const KubeAPIServerReadyTimeout = 120 * time.Second

// ServiceClusterIPRange is the kube-apiserver's Service IP range: only
// allocated from, never sent to (no kube-proxy runs).
const ServiceClusterIPRange = "10.0.0.0/24"

// AdminUser is the token file's user in system:masters.
const AdminUser = "testpeers-admin"

// KubeAPIServer is a running real kube-apiserver.
type KubeAPIServer struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// Token is the admin's bearer token (user AdminUser, group
	// system:masters).
	Token string
	// CAFile is the CA of the serving certificate.
	CAFile string
	// Kubeconfig is a kubeconfig file for the admin.
	Kubeconfig string
	// ServiceAccountKeyFile is the private key that signs service account
	// tokens (kube-controller-manager's --service-account-private-key-file).
	ServiceAccountKeyFile string
	// Dir holds its certificates, keys and token file.
	Dir string
	*Process
}

// StartKubeAPIServer starts a real kube-apiserver against etcd on a free
// loopback port, with a token file (the admin's token), a service
// account key pair and a serving certificate made here, Node and RBAC
// authorization, and waits until /readyz is ok. extra flags go last, so
// they may override these.
func StartKubeAPIServer(tb testing.TB, etcd *Etcd, extra ...string) *KubeAPIServer {
	tb.Helper()
	bin := Binary(tb, peerbin.KubeAPIServer)
	dir := tb.TempDir()
	s := &KubeAPIServer{Dir: dir, CAFile: filepath.Join(dir, "ca.crt"), Token: randomToken(tb)}
	ca := newCA(tb, dir, "testpeers-kube-apiserver-ca")
	certFile, keyFile := issue(tb, ca, dir, "apiserver", pki.IssueOptions{
		CommonName:  "kube-apiserver",
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)},
		Server:      true,
	})
	tokenFile := filepath.Join(dir, "tokens.csv")
	writeFile(tb, tokenFile, fmt.Sprintf("%s,%s,%s,system:masters\n", s.Token, AdminUser, AdminUser))
	s.ServiceAccountKeyFile = filepath.Join(dir, "sa.key")
	saPub := filepath.Join(dir, "sa.pub")
	writeServiceAccountKeys(tb, s.ServiceAccountKeyFile, saPub)

	for attempt := 1; ; attempt++ {
		port := FreePort(tb)
		s.URL = loopbackURL("https", port)
		args := []string{
			"--etcd-servers", strings.Join(etcd.Endpoints(), ","),
			"--etcd-prefix", fmt.Sprintf("/registry-%d", attempt),
			"--bind-address", "127.0.0.1",
			"--advertise-address", "127.0.0.1",
			// The endpoints of the kubernetes Service may not be
			// loopback; nothing in these tests dials that Service.
			"--endpoint-reconciler-type", "none",
			"--secure-port", fmt.Sprint(port),
			"--tls-cert-file", certFile,
			"--tls-private-key-file", keyFile,
			"--cert-dir", filepath.Join(dir, "cert-dir"),
			"--token-auth-file", tokenFile,
			"--authorization-mode", "Node,RBAC",
			"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file", saPub,
			"--service-account-signing-key-file", s.ServiceAccountKeyFile,
			"--service-cluster-ip-range", ServiceClusterIPRange,
			"--profiling=false",
		}
		if etcd.TLS != nil {
			args = append(args, "--etcd-cafile", etcd.TLS.CAFile, "--etcd-certfile", etcd.TLS.CertFile, "--etcd-keyfile", etcd.TLS.KeyFile)
		}
		s.Process = Start(tb, "kube-apiserver", bin, append(args, extra...)...)
		if s.waitReady(tb) {
			break
		}
		s.Stop()
		if !s.bindClash() || attempt == startAttempts {
			tb.Fatalf("kube-apiserver did not become ready; logs (tail):\n%s", s.Tail())
		}
		tb.Logf("a port was taken before kube-apiserver bound it; trying a fresh port")
	}
	s.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	writeFile(tb, s.Kubeconfig, TokenKubeconfig(tb, s.URL, s.CAFile, s.Token))
	return s
}

// Client is an HTTPS client trusting the serving certificate that sends
// the admin's token.
func (s *KubeAPIServer) Client(tb testing.TB) *http.Client {
	tb.Helper()
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &bearer{token: s.Token, next: &http.Transport{
			TLSClientConfig: (&TLSFiles{CAFile: s.CAFile}).Config(tb),
		}},
	}
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// waitReady waits until /readyz says ok, or the process has exited.
func (s *KubeAPIServer) waitReady(tb testing.TB) bool {
	tb.Helper()
	c := s.Client(tb)
	defer c.CloseIdleConnections()
	ready := false
	testwait.Until(tb, KubeAPIServerReadyTimeout, "kube-apiserver /readyz", func() bool {
		if s.Exited() {
			return true
		}
		ready = getOK(c, s.URL+"/readyz")
		return ready
	})
	return ready
}

// getOK reports whether GET url answers 200 "ok".
func getOK(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok"
}

// ComponentReadyTimeout bounds how long the scheduler and controller
// manager have to answer /healthz.
const ComponentReadyTimeout = 60 * time.Second

// StartKubeScheduler starts the real kube-scheduler with the admin's
// kubeconfig, serving its health on a free loopback port, and waits for
// its /healthz. extra flags go last.
func StartKubeScheduler(tb testing.TB, s *KubeAPIServer, extra ...string) *Process {
	tb.Helper()
	bin := Binary(tb, peerbin.KubeScheduler)
	return startComponent(tb, "kube-scheduler", bin, func(port int) []string {
		return append([]string{
			"--kubeconfig", s.Kubeconfig,
			"--authentication-kubeconfig", s.Kubeconfig,
			"--authorization-kubeconfig", s.Kubeconfig,
			"--bind-address", "127.0.0.1",
			"--secure-port", fmt.Sprint(port),
			"--cert-dir", tb.TempDir(),
			"--leader-elect=false",
		}, extra...)
	})
}

// StartKubeControllerManager starts the real kube-controller-manager
// with the admin's kubeconfig, signing service account tokens with the
// apiserver's key, serving its health on a free loopback port, and waits
// for its /healthz. extra flags go last.
func StartKubeControllerManager(tb testing.TB, s *KubeAPIServer, extra ...string) *Process {
	tb.Helper()
	bin := Binary(tb, peerbin.KubeControllerManager)
	return startComponent(tb, "kube-controller-manager", bin, func(port int) []string {
		return append([]string{
			"--kubeconfig", s.Kubeconfig,
			"--authentication-kubeconfig", s.Kubeconfig,
			"--authorization-kubeconfig", s.Kubeconfig,
			"--bind-address", "127.0.0.1",
			"--secure-port", fmt.Sprint(port),
			"--cert-dir", tb.TempDir(),
			"--leader-elect=false",
			"--service-account-private-key-file", s.ServiceAccountKeyFile,
			"--root-ca-file", s.CAFile,
			"--service-cluster-ip-range", ServiceClusterIPRange,
			"--use-service-account-credentials",
		}, extra...)
	})
}

// KwokNodeSelector is the label kwok's nodes carry in StartKwok: kwok
// manages (heartbeats, runs the pods of) the nodes that have it.
const KwokNodeSelector = "type=kwok"

// StartKwok starts the real kwok with the admin's kubeconfig, managing
// the nodes labelled KwokNodeSelector, and waits for its /healthz on a
// free loopback port. extra flags go last.
func StartKwok(tb testing.TB, s *KubeAPIServer, extra ...string) *Process {
	tb.Helper()
	bin := Binary(tb, peerbin.Kwok)
	config := filepath.Join(tb.TempDir(), "kwok.yaml")
	writeFile(tb, config, kwokStages(tb))
	for attempt := 1; ; attempt++ {
		port := FreePort(tb)
		args := append([]string{
			"--kubeconfig", s.Kubeconfig,
			"--config", config,
			"--manage-all-nodes=false",
			"--manage-nodes-with-label-selector", KwokNodeSelector,
			"--server-address", fmt.Sprintf("127.0.0.1:%d", port),
			"--node-ip", "127.0.0.1",
			"--node-name", "127.0.0.1",
			// kwok's flag defaults to 0 (no leases) when --config
			// holds no KwokConfiguration; kwokctl passes 40, the
			// kubelet's default.
			"--node-lease-duration-seconds", "40",
		}, extra...)
		p := Start(tb, "kwok", bin, args...)
		c := &http.Client{Timeout: 2 * time.Second}
		if waitHealthz(tb, p, c, loopbackURL("http", port)+"/healthz") {
			return p
		}
		p.Stop()
		if !p.bindClash() || attempt == startAttempts {
			tb.Fatalf("kwok did not become healthy; logs (tail):\n%s", p.Tail())
		}
	}
}

// kwokStages are the stages of kwok's own "fast" setup
// (kustomize/stage/fast; kwok has none built in): nodes become Ready and
// keep their status fresh while kwok renews their leases in
// kube-node-lease (--node-lease-duration-seconds), as a kubelet does; pods become Ready, complete when a Job owns them and go
// away when deleted. They come from kwok's module.
func kwokStages(tb testing.TB) string {
	tb.Helper()
	dir := ModuleDir(tb, KwokModule)
	var docs []string
	for _, f := range []string{
		"node/fast/node-initialize.yaml",
		"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
		"pod/fast/pod-ready.yaml",
		"pod/fast/pod-complete.yaml",
		"pod/fast/pod-delete.yaml",
	} {
		data, err := os.ReadFile(filepath.Join(dir, "kustomize", "stage", filepath.FromSlash(f)))
		if err != nil {
			tb.Fatal(err)
		}
		docs = append(docs, string(data))
	}
	return strings.Join(docs, "\n---\n")
}

// KwokModule is kwok's module, whose kustomize/ folder holds its stages
// and its RBAC (kustomize/rbac: the kwok-controller service account,
// ClusterRole and binding).
const KwokModule = "sigs.k8s.io/kwok"

// ModuleDir is the folder of a module test/peers requires, in the module
// cache.
func ModuleDir(tb testing.TB, module string) string {
	tb.Helper()
	dir, err := cache(tb).ModuleDir(context.Background(), module)
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// startComponent starts a component serving https health on a port, and
// retries on fresh ports when one was taken.
func startComponent(tb testing.TB, name, bin string, args func(port int) []string) *Process {
	tb.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// The component's serving certificate is the self-signed one it
		// made in --cert-dir; only loopback is dialed.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a loopback health probe
	}}
	defer c.CloseIdleConnections()
	for attempt := 1; ; attempt++ {
		port := FreePort(tb)
		p := Start(tb, name, bin, args(port)...)
		if waitHealthz(tb, p, c, loopbackURL("https", port)+"/healthz") {
			return p
		}
		p.Stop()
		if !p.bindClash() || attempt == startAttempts {
			tb.Fatalf("%s did not become healthy; logs (tail):\n%s", name, p.Tail())
		}
		tb.Logf("a port was taken before %s bound it; trying a fresh port", name)
	}
}

func waitHealthz(tb testing.TB, p *Process, c *http.Client, url string) bool {
	tb.Helper()
	ok := false
	testwait.Until(tb, ComponentReadyTimeout, p.Name+" /healthz", func() bool {
		if p.Exited() {
			return true
		}
		ok = getOK(c, url)
		return ok
	})
	return ok
}

// TokenKubeconfig is a kubeconfig for server with a bearer token.
func TokenKubeconfig(tb testing.TB, server, caFile, token string) string {
	tb.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: peers
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: admin@peers
  context:
    cluster: peers
    user: admin
current-context: admin@peers
`, server, base64.StdEncoding.EncodeToString(caPEM), token)
}

// writeServiceAccountKeys writes an ECDSA P-256 key pair: the private
// key signs service account tokens (ES256), the public key verifies them.
func writeServiceAccountKeys(tb testing.TB, keyFile, pubFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	writeFile(tb, pubFile, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
}

func randomToken(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}
