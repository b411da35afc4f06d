package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-dev/portico/internal/testwait"
)

// nginxBinary is the Debian package's nginx; the test skips without it,
// except in CI, whose .ci/run installs it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed: .ci/run must install the Debian package nginx")
	}
	t.Skip("needs nginx: install the Debian package nginx (apt-get install nginx)")
	return ""
}

// htpasswdSSHA is an htpasswd line with a salted SHA-1 password
// ({SSHA}, which nginx reads): made here rather than with apache2-utils.
func htpasswdSSHA(t *testing.T, user, password string) string {
	t.Helper()
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(append([]byte(password), salt...))
	return user + ":{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)) + "\n"
}

// TestNginxProxy (point 9): deploy/nginx/portico.conf, run by a real
// nginx on a free loopback port with everything under a temp dir, serves
// HTTPS with basic auth and proxies to the insecure port; curl and
// kubectl (a kubeconfig with username and password) work through it,
// watches stream, and a wrong password gets 401 from nginx.
func TestNginxProxy(t *testing.T) {
	nginx := nginxBinary(t)
	p := startPorticoQuickStop(t)

	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cert := writeCertPair(t, certFile, keyFile, "127.0.0.1", "localhost")
	const password = "correct horse battery staple"
	// bob's line is what `htpasswd -B` (bcrypt), which the README
	// advises, writes.
	const bobPassword = "another secret"
	bobHash, err := bcrypt.GenerateFromPassword([]byte(bobPassword), 5)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := htpasswdSSHA(t, "alice", password) + "bob:" + strings.Replace(string(bobHash), "$2a$", "$2y$", 1) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	proxy := fmt.Sprintf("https://127.0.0.1:%d", port)

	// deploy/nginx/portico.conf, with only the listen address, its
	// directory and the upstream replaced.
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "portico.conf"))
	if err != nil {
		t.Fatal(err)
	}
	site := string(conf)
	for old, new := range map[string]string{
		"listen 443 ssl":        fmt.Sprintf("listen 127.0.0.1:%d ssl", port),
		"/etc/nginx/portico/":   dir + "/",
		"http://127.0.0.1:8080": p.insecureURL(),
	} {
		if !strings.Contains(site, old) {
			t.Fatalf("deploy/nginx/portico.conf no longer has %q: update this test", old)
		}
		site = strings.ReplaceAll(site, old, new)
	}
	sitePath := filepath.Join(dir, "portico.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(nginxMainConf(t, nginx, dir, sitePath)), 0o600); err != nil {
		t.Fatal(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	if r := run(t, "", nginx, "-t", "-q", "-e", errorLog, "-c", mainPath); r.err != nil {
		t.Fatalf("nginx -t: %s", r)
	}
	cmd := exec.Command(nginx, "-e", errorLog, "-c", mainPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	testwait.Until(t, 10*time.Second, "nginx listens", func() bool {
		select {
		case <-exited:
			logs, _ := os.ReadFile(errorLog)
			t.Fatalf("nginx exited: %s\n%s", out.String(), logs)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	t.Run("curl", func(t *testing.T) {
		for _, userPass := range []string{"alice:" + password, "bob:" + bobPassword} {
			r := run(t, "", "curl", "-s", "--cacert", certFile, "-u", userPass, proxy+"/api/v1/namespaces")
			if r.err != nil || !strings.Contains(r.stdout, `"kube-system"`) || !strings.Contains(r.stdout, `"kind":"NamespaceList"`) {
				t.Errorf("curl through nginx as %s: %s", strings.Split(userPass, ":")[0], r)
			}
		}
		for name, creds := range map[string][]string{
			"wrong password": {"-u", "alice:wrong"},
			"unknown user":   {"-u", "mallory:" + password},
			"no credentials": nil,
		} {
			args := append([]string{"-s", "-i", "--cacert", certFile}, creds...)
			r := run(t, "", "curl", append(args, proxy+"/api/v1/namespaces")...)
			if !regexp.MustCompile(`^HTTP/\S+ 401`).MatchString(r.stdout) || !strings.Contains(strings.ToLower(r.stdout), `www-authenticate: basic realm="portico"`) ||
				!strings.Contains(r.stdout, "<center>nginx") || strings.Contains(r.stdout, "kube-system") {
				t.Errorf("%s: want nginx's 401:\n%s", name, r)
			}
		}
	})

	kubeconfig := func(pw string) string {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: alice
  user:
    username: alice
    password: %q
contexts:
- name: proxy
  context:
    cluster: proxy
    user: alice
current-context: proxy
`, proxy, certFile, pw)
		if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := kubeconfig(password)
	kubectl := func(kc string, args ...string) result {
		return run(t, "", "kubectl", append([]string{"--kubeconfig", kc, "--cache-dir", t.TempDir()}, args...)...)
	}

	t.Run("kubectl with username and password", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "namespace", "via-nginx"},
			{"create", "configmap", "app", "-n", "via-nginx", "--from-literal=color=green"},
		} {
			if r := kubectl(good, args...); r.err != nil {
				t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
			}
		}
		if r := kubectl(good, "get", "configmap", "app", "-n", "via-nginx", "-o", "jsonpath={.data.color}"); r.err != nil || r.stdout != "green" {
			t.Errorf("get through nginx: %s", r)
		}
		// Seen on the insecure port directly: nginx proxied to it.
		if out := p.mustKubectl(t, "get", "configmap", "app", "-n", "via-nginx"); !strings.Contains(out, "app") {
			t.Errorf("not in Portico: %s", out)
		}
		r := kubectl(kubeconfig("wrong"), "get", "namespaces")
		// kubectl's words for a 401.
		if r.err == nil || !(strings.Contains(r.stderr, "Unauthorized") || strings.Contains(r.stderr, "provide credentials")) {
			t.Errorf("kubectl with a wrong password: %s", r)
		}
	})

	t.Run("HTTP/2, watch streaming, 2 MiB body", func(t *testing.T) {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: poolOf(cert)}, ForceAttemptHTTP2: true}}
		do := func(method, path, body string) *http.Response {
			req, _ := http.NewRequest(method, proxy+path, strings.NewReader(body))
			req.SetBasicAuth("alice", password)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		w := do("GET", "/api/v1/namespaces?watch=true", "")
		defer w.Body.Close()
		if w.StatusCode != 200 || w.Proto != "HTTP/2.0" {
			t.Fatalf("watch: %d %s", w.StatusCode, w.Proto)
		}
		events := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(w.Body)
			for sc.Scan() {
				events <- sc.Text()
			}
			close(events)
		}()
		// 2 MiB of body (nginx's default cap is 1 MiB), a small object:
		// ConfigMaps hold at most 1 MiB.
		big := `{"apiVersion":"v1",` + strings.Repeat(" ", 2<<20) + `"kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"v"}}`
		resp := do("POST", "/api/v1/namespaces/default/configmaps", big)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Errorf("2 MiB body through nginx: %d", resp.StatusCode)
		}
		resp = do("POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"watched"}}`)
		resp.Body.Close()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("the watch ended")
				}
				if strings.Contains(ev, `"type":"ADDED"`) && strings.Contains(ev, `"name":"watched"`) {
					return
				}
			case <-timeout:
				t.Fatal("no ADDED event through nginx: is the proxy buffering?")
			}
		}
	})
}

// nginxMainConf is a top-level nginx.conf that keeps every file nginx
// writes (pid, logs, temp dirs) under dir and includes site.
func nginxMainConf(t *testing.T, nginx, dir, site string) string {
	t.Helper()
	r := run(t, "", nginx, "-V")
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log notice;\n", dir, dir)
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n") // workers read the files in dir, which only root may
	}
	fmt.Fprintf(&b, "events { worker_connections 64; }\nhttp {\n  access_log %s/access.log;\n  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n", dir, dir, dir)
	for _, m := range []string{"fastcgi", "uwsgi", "scgi"} {
		if !strings.Contains(r.stderr+r.stdout, "--without-http_"+m+"_module") {
			fmt.Fprintf(&b, "  %s_temp_path %s/%s;\n", m, dir, m)
		}
	}
	fmt.Fprintf(&b, "  include %s;\n}\n", site)
	return b.String()
}
