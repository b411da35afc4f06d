package api

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/testwait"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers"
)

// runControllers runs the built-in controllers of c until the test ends.
func runControllers(t *testing.T, c clients) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		enabled, _ := controllers.Parse(controllers.All())
		if err := c.svc.RunControllers(ctx, enabled); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestGarbageCollection: dependents of an owner deleted with each
// propagation policy.
func TestGarbageCollection(t *testing.T) {
	c := newAPI(t)
	runControllers(t, c)
	ctx := t.Context()
	ns := newNamespace(t, c)
	get := func(name string) (*corev1.ConfigMap, bool) {
		out, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: name})
		return out.GetConfigMap(), reason(err) != apierrors.ReasonNotFound
	}
	mk := func(name string, owner *corev1.ConfigMap, finalizers ...string) *corev1.ConfigMap {
		cm := configMap(name, nil)
		cm.Metadata.Finalizers = finalizers
		if owner != nil {
			yes := true
			cm.Metadata.OwnerReferences = []*corev1.OwnerReference{{ApiVersion: "v1", Kind: "ConfigMap", Name: owner.Metadata.Name, Uid: owner.Metadata.Uid, BlockOwnerDeletion: &yes}}
		}
		out, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm})
		if err != nil {
			t.Fatal(err)
		}
		return out.GetConfigMap()
	}
	del := func(name, policy string) {
		if _, err := c.cm.DeleteConfigMap(ctx, &corev1.DeleteConfigMapRequest{Namespace: ns, Name: name, PropagationPolicy: policy}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("background", func(t *testing.T) {
		owner := mk("bg", nil)
		mk("bg-dep", owner)
		del("bg", "Background")
		if _, ok := get("bg"); ok {
			t.Fatal("the owner stays")
		}
		testwait.Until(t, 10*time.Second, "the dependent collected", func() bool { _, ok := get("bg-dep"); return !ok })
	})
	t.Run("dangling at creation", func(t *testing.T) {
		mk("ghost-dep", &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "ghost", Uid: "00000000-0000-0000-0000-000000000001"}})
		testwait.Until(t, 10*time.Second, "a dependent of a missing owner collected", func() bool { _, ok := get("ghost-dep"); return !ok })
	})
	t.Run("foreground", func(t *testing.T) {
		owner := mk("fg", nil)
		dep := mk("fg-dep", owner)
		mk("fg-grand", dep)
		// The hold keeps the grandchild, so the owner must wait.
		held := mk("fg-held", owner, "example.com/hold")
		del("fg", "Foreground")
		testwait.Until(t, 10*time.Second, "the free dependents deleted", func() bool {
			_, a := get("fg-dep")
			_, b := get("fg-grand")
			return !a && !b
		})
		if o, ok := get("fg"); !ok || !slices.Contains(o.GetMetadata().GetFinalizers(), "foregroundDeletion") {
			t.Fatalf("the owner went before a blocking dependent: %v", o)
		}
		h, _ := get("fg-held")
		h.Metadata.Finalizers = nil
		if _, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: held.Metadata.Name, ConfigMap: h}); err != nil {
			t.Fatal(err)
		}
		testwait.Until(t, 10*time.Second, "the owner deleted after its dependents", func() bool { _, ok := get("fg"); return !ok })
	})
	t.Run("orphan", func(t *testing.T) {
		owner := mk("or", nil)
		mk("or-dep", owner)
		del("or", "Orphan")
		testwait.Until(t, 10*time.Second, "the owner deleted", func() bool { _, ok := get("or"); return !ok })
		d, ok := get("or-dep")
		if !ok || len(d.GetMetadata().GetOwnerReferences()) != 0 {
			t.Fatalf("orphan: dependent %v (there: %v)", d, ok)
		}
	})
	t.Run("a live owner keeps it", func(t *testing.T) {
		a, b := mk("two-a", nil), mk("two-b", nil)
		dep := configMap("two-dep", nil)
		dep.Metadata.OwnerReferences = []*corev1.OwnerReference{
			{ApiVersion: "v1", Kind: "ConfigMap", Name: "two-a", Uid: a.Metadata.Uid},
			{ApiVersion: "v1", Kind: "ConfigMap", Name: "two-b", Uid: b.Metadata.Uid},
		}
		if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: dep}); err != nil {
			t.Fatal(err)
		}
		del("two-a", "")
		testwait.Until(t, 10*time.Second, "the reference to the gone owner removed", func() bool {
			d, ok := get("two-dep")
			return ok && len(d.GetMetadata().GetOwnerReferences()) == 1 && d.GetMetadata().GetOwnerReferences()[0].GetName() == "two-b"
		})
	})
}

// TestNamespaceCleaner: a deleted namespace is emptied (pods on a node
// without a kubelet included) and then gone; a finalizer holds it.
func TestNamespaceCleaner(t *testing.T) {
	c := newAPI(t)
	runControllers(t, c)
	ctx := t.Context()
	ns := newNamespace(t, c)
	for _, name := range []string{"a", "held"} {
		cm := configMap(name, nil)
		if name == "held" {
			cm.Metadata.Finalizers = []string{"example.com/hold"}
		}
		if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm}); err != nil {
			t.Fatal(err)
		}
	}
	p := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{NodeName: "no-such-node", Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := c.pods.CreatePod(ctx, &corev1.CreatePodRequest{Namespace: ns, Pod: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ns.DeleteNamespace(ctx, &corev1.DeleteNamespaceRequest{Name: ns}); err != nil {
		t.Fatal(err)
	}
	gone := func(err error) bool { return reason(err) == apierrors.ReasonNotFound }
	testwait.Until(t, 10*time.Second, "the content deleted", func() bool {
		_, errA := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "a"})
		_, errP := c.pods.GetPod(ctx, &corev1.GetPodRequest{Namespace: ns, Name: "p"})
		return gone(errA) && gone(errP)
	})
	out, err := c.ns.GetNamespace(ctx, &corev1.GetNamespaceRequest{Name: ns})
	if err != nil || out.GetNamespace().GetStatus().GetPhase() != "Terminating" {
		t.Fatalf("a finalizer in it keeps the namespace Terminating: %v %v", out, err)
	}
	held, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "held"})
	if err != nil {
		t.Fatal(err)
	}
	h := held.GetConfigMap()
	h.Metadata.Finalizers = nil
	if _, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "held", ConfigMap: h}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the namespace gone", func() bool {
		_, err := c.ns.GetNamespace(ctx, &corev1.GetNamespaceRequest{Name: ns})
		return gone(err)
	})
}
