package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// encryptionConfig writes an EncryptionConfiguration that encrypts
// secrets with the aesgcm keys given (name, base64 secret; the first
// writes) and returns its path.
func encryptionConfig(t *testing.T, dir string, keys ...[2]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aesgcm:\n          keys:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "            - name: %s\n              secret: %s\n", k[0], k[1])
	}
	b.WriteString("      - identity: {}\n")
	path := filepath.Join(dir, "encryption.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newAESKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// storedUnder reads every key under prefix from the instance's etcd, with
// the api's certificate.
func storedUnder(t *testing.T, p *portico, prefix string) map[string][]byte {
	t.Helper()
	c := dialEtcd(t, p, "api")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("read etcd: %v", err)
	}
	out := map[string][]byte{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

// waitLog waits until the instance's log holds substr.
func waitLog(t *testing.T, p *portico, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.logs.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log within %s:\n%s", substr, timeout, p.logs.String())
		}
		select {
		case <-p.exited:
			t.Fatalf("portico exited before logging %q:\n%s", substr, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestEncryptionAtRest: with --encryption-provider-config, secrets reach
// etcd only as aesgcm ciphertext and read back as their plaintext;
// configmaps, not configured, stay plaintext. Rotation as kube-apiserver
// documents it: restart with the new key first (the old one still
// reads), rewrite every secret (--encryption-rewrite-stale), and then the
// old key can go.
func TestEncryptionAtRest(t *testing.T) {
	dir := t.TempDir()
	key1, key2 := newAESKey(t), newAESKey(t)
	const plaintext = "s3cr3t-value-only-kubectl-may-see"
	p := startPortico(t, "--encryption-provider-config", encryptionConfig(t, dir, [2]string{"key1", key1}))
	waitLog(t, p, "writes-with=aesgcm:key1", 10*time.Second)

	p.mustKubectl(t, "create", "namespace", "enc")
	for _, s := range [][2]string{{"default", "one"}, {"enc", "two"}, {"enc", "three"}} {
		p.mustKubectl(t, "create", "secret", "generic", s[1], "-n", s[0], "--from-literal=password="+plaintext)
	}
	p.mustKubectl(t, "create", "configmap", "plain", "-n", "enc", "--from-literal=note="+plaintext)

	// checkSecrets asserts every stored secret is under prefix, without
	// the plaintext, and that kubectl still reads it.
	checkSecrets := func(prefix string) {
		t.Helper()
		secrets := storedUnder(t, p, "/registry/secrets/")
		for _, k := range []string{"/registry/secrets/default/one", "/registry/secrets/enc/two", "/registry/secrets/enc/three"} {
			if _, ok := secrets[k]; !ok {
				t.Fatalf("%s not in etcd; have %d secrets", k, len(secrets))
			}
		}
		for k, v := range secrets {
			if !bytes.HasPrefix(v, []byte(prefix)) {
				t.Errorf("%s is stored as %.24q..., want prefix %q", k, v, prefix)
			}
			if bytes.Contains(v, []byte(plaintext)) || bytes.Contains(v, []byte(base64.StdEncoding.EncodeToString([]byte(plaintext)))) {
				t.Errorf("%s holds the plaintext in etcd", k)
			}
		}
		got := p.mustKubectl(t, "get", "secret", "two", "-n", "enc", "-o", "jsonpath={.data.password}")
		if dec, err := base64.StdEncoding.DecodeString(got); err != nil || string(dec) != plaintext {
			t.Fatalf("kubectl get secret: %q (%v), want the plaintext", got, err)
		}
		cms := storedUnder(t, p, "/registry/configmaps/enc/plain")
		if v := cms["/registry/configmaps/enc/plain"]; !bytes.Contains(v, []byte(plaintext)) || bytes.HasPrefix(v, []byte("k8s:enc:")) {
			t.Errorf("the configmap (not configured) is stored as %.24q..., want plaintext", v)
		}
	}
	checkSecrets("k8s:enc:aesgcm:v1:key1:")
	n := len(storedUnder(t, p, "/registry/secrets/"))

	// Rotation: key2 first, key1 still reads; rewrite everything.
	p.stop()
	encryptionConfig(t, dir, [2]string{"key2", key2}, [2]string{"key1", key1})
	p.args = append(p.args, "--encryption-rewrite-stale")
	p.start()
	waitLog(t, p, "encryption rewrite finished", 30*time.Second)
	if want := fmt.Sprintf("resource=secrets rewritten=%d", n); !strings.Contains(p.logs.String(), want) {
		t.Errorf("the rewrite did not report %q:\n%s", want, p.logs.String())
	}
	p.mustKubectl(t, "create", "secret", "generic", "after", "-n", "enc", "--from-literal=password="+plaintext)
	checkSecrets("k8s:enc:aesgcm:v1:key2:")

	// key1 is no longer needed (and nothing is left to rewrite).
	p.stop()
	encryptionConfig(t, dir, [2]string{"key2", key2})
	p.start()
	checkSecrets("k8s:enc:aesgcm:v1:key2:")

	for _, k := range []string{key1, key2} {
		if strings.Contains(p.logs.String(), k) {
			t.Fatalf("a key reached the log")
		}
	}
}
