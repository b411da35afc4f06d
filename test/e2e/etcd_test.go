package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestExternalEtcd: --etcd-servers points the same storage code at an
// etcd Portico did not start. The first instance's embedded etcd plays
// the external cluster; what the second writes, the first reads.
func TestExternalEtcd(t *testing.T) {
	first := startPortico(t)
	endpoint := etcdEndpoint(t, first)
	second := startPortico(t,
		"--etcd-servers", endpoint,
		"--etcd-cafile", first.pki("ca.crt"),
		"--etcd-certfile", first.pki("api.crt"),
		"--etcd-keyfile", first.pki("api.key"),
	)
	if strings.Contains(second.logs.String(), "embedded etcd serving") {
		t.Fatalf("the second instance started its own etcd:\n%s", second.logs.String())
	}
	second.mustKubectl(t, "create", "namespace", "written-by-second")
	if out := first.mustKubectl(t, "get", "namespace", "written-by-second"); !strings.Contains(out, "written-by-second") {
		t.Fatalf("the first instance does not see the write: %s", out)
	}
}

var endpointLine = regexp.MustCompile(`embedded etcd serving.*endpoints=(https://127\.0\.0\.1:\d+)`)

// etcdEndpoint is the client URL of an instance's embedded etcd, from its log.
func etcdEndpoint(t *testing.T, p *portico) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := endpointLine.FindStringSubmatch(p.logs.String()); m != nil {
			return m[1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no embedded etcd endpoint in the log:\n%s", p.logs.String())
	return ""
}
