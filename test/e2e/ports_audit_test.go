package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPortsAudit (point 8): --audit-log-path gets one JSON line per
// request on either port (kube-apiserver's audit Event: user, groups,
// verb, resource, namespace, name, source addresses, code, timestamps,
// latency), with the Audit-Id the response carried, and never a token or
// a key.
func TestPortsAudit(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "logs", "audit.log")
	p := startPorticoQuickStop(t, "--audit-log-path", audit, "--token-auth-file", writePortsTokens(t))
	ca := filepath.Join(p.dataDir, "certs", "apiserver.crt")
	kubectl := func(token string, args ...string) result {
		return run(t, "", "kubectl", append([]string{"--server", p.secureURL(), "--certificate-authority", ca, "--token", token, "--cache-dir", t.TempDir()}, args...)...)
	}
	if r := kubectl(aliceToken, "create", "namespace", "audited"); r.err != nil {
		t.Fatal(r)
	}
	if r := kubectl(aliceToken, "create", "configmap", "app", "-n", "audited", "--from-literal=k=v"); r.err != nil {
		t.Fatal(r)
	}
	if r := kubectl(aliceToken, "get", "configmap", "app", "-n", "audited"); r.err != nil {
		t.Fatal(r)
	}
	c := p.secureClient(t, "", "")
	if resp, body := sendAs(t, c, "GET", p.secureURL()+"/api/v1/namespaces/audited/configmaps/app", bobToken, ""); resp.StatusCode != 403 {
		t.Fatalf("bob may read the configmap: %d %s", resp.StatusCode, body)
	}
	resp, _ := sendAs(t, c, "GET", p.secureURL()+"/api/v1/namespaces/audited", "bogus-token-0123456789", "")
	if resp.StatusCode != 401 || resp.Header.Get("Audit-Id") == "" {
		t.Fatalf("a wrong token: %d, Audit-Id %q", resp.StatusCode, resp.Header.Get("Audit-Id"))
	}
	failedID := resp.Header.Get("Audit-Id")
	resp, _ = sendAs(t, p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key")), "GET", p.secureURL()+"/api/v1/namespaces/audited/configmaps/app", "", "")
	certID := resp.Header.Get("Audit-Id")
	code, hdr, _ := httpDo(t, http.DefaultClient, "DELETE", p.insecureURL()+"/api/v1/namespaces/audited/configmaps/app", "", "")
	if code != 200 {
		t.Fatalf("delete on the insecure port: %d", code)
	}
	insecureID := hdr.Get("Audit-Id")
	p.stop()

	text, evs := readAuditLog(t, audit)
	for _, secret := range []string{aliceToken, bobToken, "bogus-token-0123456789", "PRIVATE KEY"} {
		if strings.Contains(text, secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	adminKey, err := os.ReadFile(p.pki("admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(adminKey), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
			t.Errorf("the audit log holds the admin key")
		}
	}
	if fi, err := os.Stat(audit); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v %v", fi.Mode(), err)
	}

	find := func(what string, match func(auditLine) bool) auditLine {
		t.Helper()
		for _, ev := range evs {
			if match(ev) {
				return ev
			}
		}
		t.Fatalf("no audit line for %s in:\n%s", what, text)
		return auditLine{}
	}
	ref := func(ev auditLine, resource, ns, name string) bool {
		return ev.ObjectRef != nil && ev.ObjectRef.Resource == resource && ev.ObjectRef.Namespace == ns && ev.ObjectRef.Name == name
	}
	alice := []string{"system:masters", "system:authenticated"}
	tests := map[string]struct {
		match     func(auditLine) bool
		user      string
		groups    []string
		code      int
		auditID   string
		uriPrefix string
	}{
		"alice creates a configmap": {
			match: func(ev auditLine) bool { return ev.Verb == "create" && ref(ev, "configmaps", "audited", "") },
			user:  "alice", groups: alice, code: 201, uriPrefix: "/api/v1/namespaces/audited/configmaps",
		},
		"alice gets it": {
			match: func(ev auditLine) bool {
				return ev.Verb == "get" && ev.User.Username == "alice" && ref(ev, "configmaps", "audited", "app")
			},
			user: "alice", groups: alice, code: 200, uriPrefix: "/api/v1/namespaces/audited/configmaps/app",
		},
		"bob is refused": {
			match: func(ev auditLine) bool { return ev.User.Username == "bob" && ref(ev, "configmaps", "audited", "app") },
			user:  "bob", groups: []string{"dev", "system:authenticated"}, code: 403,
		},
		"a wrong token": {
			match: func(ev auditLine) bool { return ev.AuditID == failedID },
			user:  "", code: 401, auditID: failedID, uriPrefix: "/api/v1/namespaces/audited",
		},
		"the admin certificate": {
			match: func(ev auditLine) bool { return ev.AuditID == certID },
			user:  "admin", code: 200, auditID: certID,
		},
		"the insecure port": {
			match: func(ev auditLine) bool { return ev.AuditID == insecureID },
			user:  "system:unsecured", groups: alice, code: 200, auditID: insecureID,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ev := find(name, tc.match)
			if ev.User.Username != tc.user || (tc.groups != nil && !slices.Equal(ev.User.Groups, tc.groups)) {
				t.Errorf("user %+v", ev.User)
			}
			if ev.ResponseStatus.Code != tc.code {
				t.Errorf("code %d, want %d", ev.ResponseStatus.Code, tc.code)
			}
			if !slices.Equal(ev.SourceIPs, []string{"127.0.0.1"}) {
				t.Errorf("sourceIPs %v", ev.SourceIPs)
			}
			if !strings.HasPrefix(ev.RequestURI, tc.uriPrefix) {
				t.Errorf("requestURI %q", ev.RequestURI)
			}
			if ev.APIVersion != "audit.k8s.io/v1" || len(ev.AuditID) != 36 {
				t.Errorf("apiVersion %q auditID %q", ev.APIVersion, ev.AuditID)
			}
			if ev.RequestReceivedTimestamp.IsZero() || ev.StageTimestamp.Before(ev.RequestReceivedTimestamp) || time.Since(ev.StageTimestamp) > 5*time.Minute {
				t.Errorf("timestamps %v %v", ev.RequestReceivedTimestamp, ev.StageTimestamp)
			}
			if d, err := time.ParseDuration(ev.Annotations["portico.dev/latency"]); err != nil || d <= 0 {
				t.Errorf("latency %q", ev.Annotations["portico.dev/latency"])
			}
		})
	}
}
