package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
)

// TestFailClosedReplicas (issue 13): with every authz replica down, or
// every authn replica, the secure port of both gateways answers 503 with
// a Status (never 200 from a stale decision, never 401 or 403 from a
// guess) and /readyz fails; with the replicas back, the same requests
// succeed again without restarting anything.
func TestFailClosedReplicas(t *testing.T) {
	c := startCluster(t, nil)
	etcdAdmitsOnlyAPI(t, c)
	admin := c.client(t, "", "", 30*time.Second)
	aliceCert, aliceKey := issueUser(t, c, "alice")
	alice := c.client(t, aliceCert, aliceKey, 30*time.Second)
	if code, _, body := httpDo(t, admin, "POST", c.Gateways[0].Address+"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "application/json",
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"alice-view"},
		  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},
		  "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice"}]}`); code != http.StatusCreated {
		t.Fatalf("binding: %d %s", code, body)
	}
	// No client certificate, a bearer token no one issued.
	anonymous := c.client(t, aliceCert, aliceKey, 30*time.Second)
	anonymous.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	const path = "/api/v1/namespaces/default/configmaps"
	// get is one request through gateway g, as alice, the admin, or a
	// bearer token no one issued.
	get := func(who string, g int) (int, string) {
		req, _ := http.NewRequest("GET", c.Gateways[g].Address+path, nil)
		client := alice
		switch who {
		case "admin":
			client = admin
		case "token":
			client = anonymous
			req.Header.Set("Authorization", "Bearer not-a-token-anyone-issued")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s through %s: %v", who, c.Gateways[g].Name, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	allSucceed := func(what string, who ...string) {
		t.Helper()
		for g := range c.Gateways {
			for _, w := range who {
				// The bad token is refused again as it should be: 401.
				want := http.StatusOK
				if w == "token" {
					want = http.StatusUnauthorized
				}
				testwait.Until(t, 60*time.Second, fmt.Sprintf("%s through %s %s: %d", w, c.Gateways[g].Name, what, want), func() bool {
					code, _ := get(w, g)
					return code == want
				})
			}
		}
	}
	allSucceed("before any fault", "alice", "admin", "token")

	for _, fault := range []struct {
		role     string
		replicas []*cluster.Process
		// who must get 503 while they are down; masters are decided by
		// the gateway itself, so they are served with authz down.
		refused, served []string
	}{
		{role: "authz", replicas: c.Authzs, refused: []string{"alice"}, served: []string{"admin"}},
		{role: "authn", replicas: c.Authns, refused: []string{"alice", "admin", "token"}},
	} {
		var wg sync.WaitGroup
		for _, p := range fault.replicas {
			wg.Go(func() {
				if err := p.Kill(); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		down := time.Now()
		for g := range c.Gateways {
			for _, who := range fault.refused {
				// The break of the decision cache's stream is noticed
				// within moments; from the first 503 on, only 503.
				first := testwait.Until(t, 5*time.Second, fmt.Sprintf("503 for %s through %s with every %s down", who, c.Gateways[g].Name, fault.role), func() bool {
					code, body := get(who, g)
					if code == http.StatusUnauthorized || code == http.StatusForbidden {
						t.Errorf("every %s down: %s got %d %s, want 503", fault.role, who, code, body)
					}
					return code == http.StatusServiceUnavailable
				})
				start := time.Now()
				code, body := get(who, g)
				took := time.Since(start)
				if code != http.StatusServiceUnavailable {
					t.Fatalf("every %s down: %s got %d %s after a 503", fault.role, who, code, body)
				}
				if st := parseStatus(t, body); st.Code != 503 || st.Reason != "ServiceUnavailable" {
					t.Errorf("every %s down: Status %+v", fault.role, st)
				}
				// The callers wait a moment for a replica to come back
				// (a rolling restart), never longer.
				if took > 5*time.Second {
					t.Errorf("every %s down: the 503 took %s", fault.role, took)
				}
				t.Logf("every %s down: %s through %s refused with 503 (first after %s), each in %s", fault.role, who, c.Gateways[g].Name, first, took.Round(time.Millisecond))
			}
			for _, who := range fault.served {
				if code, body := get(who, g); code != http.StatusOK {
					t.Errorf("every %s down: %s got %d %s, want 200", fault.role, who, code, body)
				}
			}
			code, _, body := httpDo(t, http.DefaultClient, "GET", c.Gateways[g].InsecureURL+"/readyz?verbose", "", "")
			if code != http.StatusInternalServerError || !strings.Contains(body, "[-]"+fault.role+" failed") ||
				len(regexp.MustCompile(`(?m)^  backend `+fault.role+` 127\.0\.0\.1:\d+ failed: reason withheld$`).FindAllString(body, -1)) != len(fault.replicas) {
				t.Errorf("every %s down: %s /readyz %d\n%s", fault.role, c.Gateways[g].Name, code, body)
			}
		}
		for _, p := range fault.replicas {
			wg.Go(func() {
				if err := c.Restart(t.Context(), p); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		ready := time.Now()
		allSucceed("with every "+fault.role+" back", append(fault.refused, fault.served...)...)
		t.Logf("every %s down for %s (restart included); served again %s after the replicas were ready, without a restart of anything else",
			fault.role, ready.Sub(down).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	}
}

// issueUser writes a client certificate for user (no groups) from the
// cluster's client CA.
func issueUser(t *testing.T, c *testCluster, user string) (certFile, keyFile string) {
	t.Helper()
	ca, err := pki.LoadCA(c.PKI().ClientCACert(), c.PKI().ClientCAKey())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: user, Client: true, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, user+".crt"), filepath.Join(dir, user+".key")
	for f, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// etcdAdmitsOnlyAPI: the cluster's etcd members trust the internal CA,
// which signs every service, but admit only the api's certificate (its
// portico-api name): the gateway's, authn's and authz's cannot read.
func etcdAdmitsOnlyAPI(t *testing.T, c *testCluster) {
	t.Helper()
	for _, service := range []string{"api", "gateway", "authn", "authz"} {
		cfg, err := c.ClientTLS(service, "")
		if err != nil {
			t.Fatal(err)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Etcd[0].Address}, TLS: cfg, DialTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		_, err = cli.Get(ctx, "/registry/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		cli.Close()
		if (err == nil) != (service == "api") {
			t.Errorf("etcd read with the %s certificate: %v", service, err)
		}
	}
}
