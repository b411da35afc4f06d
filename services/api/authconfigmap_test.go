package api

import (
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestEnsureAuthenticationConfigMap: the client CA is published in
// kube-system as kube-apiserver does, a second start with the same CA
// writes nothing, and a new CA replaces the old.
func TestEnsureAuthenticationConfigMap(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	get := func() *corev1.ConfigMap {
		t.Helper()
		out, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: "kube-system", Name: AuthenticationConfigMap})
		if err != nil {
			t.Fatal(err)
		}
		return out.GetConfigMap()
	}
	ensure := func(ca string) *corev1.ConfigMap {
		t.Helper()
		if err := c.svc.EnsureAuthenticationConfigMap(ctx, []byte(ca)); err != nil {
			t.Fatal(err)
		}
		return get()
	}
	first := ensure("first CA")
	if d := first.GetData(); len(d) != 1 || d["client-ca-file"] != "first CA" {
		t.Fatalf("published: %v", d)
	}
	if again := ensure("first CA"); again.GetMetadata().GetResourceVersion() != first.GetMetadata().GetResourceVersion() {
		t.Errorf("the same CA again was written: resourceVersion %s, was %s", again.GetMetadata().GetResourceVersion(), first.GetMetadata().GetResourceVersion())
	}
	if d := ensure("rotated CA").GetData(); len(d) != 1 || d["client-ca-file"] != "rotated CA" {
		t.Fatalf("after a rotation: %v", d)
	}
	if err := c.svc.EnsureAuthenticationConfigMap(ctx, nil); err != nil || get().GetData()["client-ca-file"] != "rotated CA" {
		t.Fatalf("no CA: %v, data %v", err, get().GetData())
	}
}
