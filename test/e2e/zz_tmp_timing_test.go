package e2e

import (
	"net/http"
	"crypto/tls"
	"testing"
	"time"
)

func TestZZTmpStopTiming(t *testing.T) {
	p := startPortico(t, "--token-auth-file", writePortsTokens(t))
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	resp, _ := sendAs(t, h2, "GET", p.secureURL()+"/metrics", aliceToken, "")
	t.Log(resp.StatusCode)
	r := run(t, "", "kubectl", "--server", p.secureURL(), "--insecure-skip-tls-verify", "--token", aliceToken, "--cache-dir", t.TempDir(), "get", "namespaces")
	t.Log(r.err)
	s := time.Now()
	p.stop()
	t.Logf("stop took %s", time.Since(s))
	s = time.Now()
	p.args = append(p.args, "--anonymous-auth")
	p.start()
	t.Logf("start took %s", time.Since(s))
	t.Logf("%s", p.logs.String())
}
