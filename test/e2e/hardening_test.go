package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
	_ "github.com/portico-dev/portico/proto/portico/authn/v1"
	_ "github.com/portico-dev/portico/proto/portico/authz/v1"
	_ "github.com/portico-dev/portico/proto/portico/core/v1"
	_ "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// copyBombPatch is the security review's JSON patch: every operation
// copies the configmap's data into itself, doubling the object.
func copyBombPatch(ops int) string {
	parts := make([]string, ops)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"op":"copy","from":"/data","path":"/data/k%d"}`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// peakRSS is the process's high-water resident set, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestHardeningBadInput: the review's amplifying and malformed requests
// get kube-apiserver's fast answers, the process stays small, and other
// requests are still served.
func TestHardeningBadInput(t *testing.T) {
	p := startPortico(t)
	base := p.insecureURL() + "/api/v1/namespaces/default/configmaps"
	if code, _, body := httpDo(t, http.DefaultClient, "POST", base, "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"0123456789abcdef0123456789abcdef"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	tests := map[string]struct {
		method, url, contentType, body string
		code                           int
		reason                         string
	}{
		// 24 doublings of this object would be over 1 GB.
		"json patch copy amplification": {"PATCH", base + "/c", "application/json-patch+json", copyBombPatch(24), 413, "RequestEntityTooLarge"},
		"deep merge patch":              {"PATCH", base + "/c", "application/merge-patch+json", strings.Repeat(`{"a":`, 9990) + "1" + strings.Repeat("}", 9990), 400, "BadRequest"},
		"deep strategic patch":          {"PATCH", base + "/c", "application/strategic-merge-patch+json", strings.Repeat(`{"a":`, 9990) + "1" + strings.Repeat("}", 9990), 400, "BadRequest"},
		"json patch unknown op":         {"PATCH", base + "/c", "application/json-patch+json", `[{"op":"frobnicate","path":"/data/a"}]`, 422, "Invalid"},
		"watch from a bad version":      {"GET", base + "?watch=true&resourceVersion=abc", "", "", 400, "BadRequest"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, _, body := httpDo(t, http.DefaultClient, tc.method, tc.url, tc.contentType, tc.body)
			if code != tc.code {
				t.Fatalf("%d %.300s, want %d", code, body, tc.code)
			}
			if st := parseStatus(t, body); st.Reason != tc.reason || st.Code != tc.code {
				t.Fatalf("Status %+v, want %s", st, tc.reason)
			}
		})
	}
	if code, _, body := httpDo(t, http.DefaultClient, "GET", base+"/c", "", ""); code != 200 || strings.Contains(body, `"k0"`) {
		t.Fatalf("the configmap after the refused patches: %d %s", code, body)
	}
	if rss := peakRSS(t, p.cmd.Process.Pid); rss > 512<<20 {
		t.Fatalf("peak RSS %d MiB after the refused patches", rss>>20)
	}

	t.Run("no method override", func(t *testing.T) {
		req, err := http.NewRequest("POST", base+"/c", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-HTTP-Method-Override", "DELETE")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a POST with X-HTTP-Method-Override answered %d", resp.StatusCode)
		}
		if code, _, body := httpDo(t, http.DefaultClient, "GET", base+"/c", "", ""); code != 200 {
			t.Fatalf("the configmap is gone after the override: %d %s", code, body)
		}
	})
}

// TestHardeningReservedGroup: a client certificate from the client CA
// claiming system:portico:services (the group authz trusts to read
// everything) is refused, as is a token file line that claims it.
func TestHardeningReservedGroup(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte("mallory-token,mallory,1,system:portico:services\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startPortico(t, "--token-auth-file", tokens)
	ca, err := pki.LoadCA(p.pki("client-ca.crt"), p.pki("client-ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: "mallory", Organizations: []string{"system:portico:services"}, Client: true, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "m.crt"), filepath.Join(dir, "m.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url := p.secureURL() + "/api/v1/secrets"
	if code, _, body := httpDo(t, p.secureClient(t, certFile, keyFile), "GET", url, "", ""); code != http.StatusUnauthorized {
		t.Errorf("certificate claiming system:portico:services: %d %.200s", code, body)
	}
	resp, body := sendAs(t, p.secureClient(t, "", ""), "GET", url, "mallory-token", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token claiming system:portico:services: %d %.200s", resp.StatusCode, body)
	}
	if !strings.Contains(p.logs.String(), "reserved name") {
		t.Errorf("no warning about the token file's reserved group in the logs")
	}
}

// TestEveryRPCValidatesInput calls every method of every Portico gRPC
// service, on each service's port, as an admin and as the api's service
// certificate, with an empty request and with one whose name, namespace
// and nested messages are set but empty. None may fail as Internal or
// Unknown (a recovered panic is Internal): bad input is InvalidArgument,
// or the error that input deserves.
func TestEveryRPCValidatesInput(t *testing.T) {
	p := startPortico(t)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(p.pki("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	dial := func(addr, cert, key string) *grpc.ClientConn {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12,
		})))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	var services []protoreflect.ServiceDescriptor
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(string(fd.Package()), "portico.") {
			for i := 0; i < fd.Services().Len(); i++ {
				services = append(services, fd.Services().Get(i))
			}
		}
		return true
	})
	if len(services) < 10 {
		t.Fatalf("only %d services registered", len(services))
	}
	ports := map[string]string{"api": p.apiAddr(), "authn": fmt.Sprintf("127.0.0.1:%d", p.authnPort), "authz": fmt.Sprintf("127.0.0.1:%d", p.authzPort)}
	callers := map[string][2]string{"admin": {p.pki("admin.crt"), p.pki("admin.key")}, "api service": {p.pki("api.crt"), p.pki("api.key")}}
	calls := 0
	for portName, addr := range ports {
		for callerName, c := range callers {
			conn := dial(addr, c[0], c[1])
			for _, sd := range services {
				for i := 0; i < sd.Methods().Len(); i++ {
					md := sd.Methods().Get(i)
					if md.IsStreamingClient() {
						continue
					}
					for _, filled := range []bool{false, true} {
						req := dynamicpb.NewMessage(md.Input())
						if filled {
							fill(req, 0)
						}
						code, msg := invoke(conn, sd, md, req)
						calls++
						if code == codes.Internal || code == codes.Unknown {
							t.Errorf("%s as %s: %s (filled %v) = %v %s", portName, callerName, md.FullName(), filled, code, msg)
						}
					}
				}
			}
		}
	}
	if calls < 100 {
		t.Fatalf("only %d calls made", calls)
	}
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(line, "panic in handler") {
			t.Errorf("a handler panicked: %.600s", line)
		}
	}
}

// fill sets a request's name and namespace and gives each of its message
// fields an empty message, two levels deep: the inputs that find a
// handler reading a field it never checked.
func fill(m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.IsList() || fd.IsMap() || fd.ContainingOneof() != nil:
		case fd.Kind() == protoreflect.StringKind && (fd.Name() == "name" || fd.Name() == "namespace"):
			m.Set(fd, protoreflect.ValueOfString("default"))
		case fd.Kind() == protoreflect.MessageKind && depth < 2:
			child := m.Mutable(fd).Message()
			fill(child, depth+1)
		}
	}
}

// invoke calls one method with req and returns its code; a server stream
// is read until its first message or error.
func invoke(conn *grpc.ClientConn, sd protoreflect.ServiceDescriptor, md protoreflect.MethodDescriptor, req *dynamicpb.Message) (codes.Code, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	method := "/" + string(sd.FullName()) + "/" + string(md.Name())
	resp := dynamicpb.NewMessage(md.Output())
	var err error
	if md.IsStreamingServer() {
		var s grpc.ClientStream
		if s, err = conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method); err == nil {
			if err = s.SendMsg(req); err == nil {
				if err = s.CloseSend(); err == nil {
					// Headers mean the stream started: its input was
					// accepted. Without them the stream has ended, and
					// RecvMsg returns how.
					var md map[string][]string
					if md, err = s.Header(); err == nil && md != nil {
						return codes.OK, ""
					}
					err = s.RecvMsg(resp)
				}
			}
		}
		if errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
			return codes.OK, "" // a stream that started and had nothing to say
		}
	} else {
		err = conn.Invoke(ctx, method, req, resp)
	}
	st := status.Convert(err)
	return st.Code(), st.Message()
}

// TestHardeningAdminKubeconfigWithForeignClientCA: with a --client-ca-file
// that does not trust the development client CA, no admin kubeconfig that
// would get 401 is written; start says how to make one, and one made that
// way works.
func TestHardeningAdminKubeconfigWithForeignClientCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("my-org-client-ca", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caCert := writeFile(t, filepath.Join(dir, "ca.crt"), string(ca.CertPEM()))
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	caKey := writeFile(t, filepath.Join(dir, "ca.key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	p := startPortico(t, "--client-ca-file", caCert)
	testwait.Until(t, 10*time.Second, "the start message", func() bool { return strings.Contains(p.stdout.String(), "Portico is up") })
	if out := p.stdout.String(); !strings.Contains(out, "No admin kubeconfig") || !strings.Contains(out, "portico kubeconfig") {
		t.Fatalf("start did not say the admin kubeconfig cannot work: %s", out)
	}
	if _, err := os.Stat(p.kubeconfig()); !os.IsNotExist(err) {
		t.Fatalf("an admin kubeconfig was written (%v)", err)
	}
	kc := filepath.Join(dir, "admin.kubeconfig")
	if r := run(t, "", bins.portico, "kubeconfig", "--data-dir", p.dataDir, "--user", "root", "--group", "system:masters",
		"--server", p.secureURL(), "--client-ca-cert", caCert, "--client-ca-key", caKey, "--out", kc); r.err != nil {
		t.Fatalf("portico kubeconfig: %s", r)
	}
	if r := run(t, "", "kubectl", "--kubeconfig", kc, "get", "namespace", "default"); r.err != nil {
		t.Fatalf("kubectl with the kubeconfig from the trusted CA: %s", r)
	}
}
