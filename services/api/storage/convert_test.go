package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// secretOf and configMapOf are a toy conversion: a ConfigMap's data as a
// Secret's.
func secretOf(c *corev1.ConfigMap) *corev1.Secret {
	s := &corev1.Secret{Metadata: c.GetMetadata(), Data: map[string][]byte{}}
	for k, v := range c.GetData() {
		s.Data[k] = []byte(v)
	}
	return s
}

func configMapOf(s *corev1.Secret) *corev1.ConfigMap {
	c := &corev1.ConfigMap{Metadata: s.GetMetadata(), Data: map[string]string{}}
	for k, v := range s.GetData() {
		c.Data[k] = string(v)
	}
	return c
}

// TestConverted: the objects of one store read, written, listed and
// watched in a second form, with the inner store's resourceVersions.
func TestConverted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	inner := newStore(t)
	conv := NewConverted[*corev1.Secret, *corev1.ConfigMap](inner, secretOf, configMapOf)

	created, err := conv.Create(ctx, "ns", "a", &corev1.Secret{Metadata: &corev1.ObjectMeta{Name: "a", Namespace: "ns"}, Data: map[string][]byte{"k": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := inner.Get(ctx, "ns", "a")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Data["k"] != "v" || stored.GetMetadata().GetResourceVersion() != created.GetMetadata().GetResourceVersion() {
		t.Errorf("inner holds %v (rv %s), created rv %s", stored.Data, stored.GetMetadata().GetResourceVersion(), created.GetMetadata().GetResourceVersion())
	}
	if _, err := inner.Create(ctx, "ns", "b", cm("ns", "b", map[string]string{"x": "y"})); err != nil {
		t.Fatal(err)
	}
	got, err := conv.Get(ctx, "ns", "b")
	if err != nil || string(got.Data["x"]) != "y" {
		t.Fatalf("Get b = %v, %v", got, err)
	}
	if _, err := conv.Get(ctx, "ns", "none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get none: %v, want ErrNotFound", err)
	}

	list, err := conv.List(ctx, "ns", ListOptions[*corev1.Secret]{Filter: func(s *corev1.Secret) bool { return string(s.Data["x"]) == "y" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].GetMetadata().GetName() != "b" || list.ResourceVersion == "" {
		t.Errorf("filtered list = %v (rv %q), want b alone", list.Items, list.ResourceVersion)
	}

	wctx, stop := context.WithCancel(ctx)
	events, err := conv.Watch(wctx, "ns", list.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	up := cm("ns", "b", map[string]string{"x": "z"})
	up.Metadata.ResourceVersion = got.GetMetadata().GetResourceVersion()
	if _, err := inner.Update(ctx, "ns", "b", up); err != nil {
		t.Fatal(err)
	}
	if _, err := conv.Delete(ctx, "ns", "a", Preconditions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		typ  EventType
		name string
		x    string
	}{{Modified, "b", "z"}, {Deleted, "a", ""}} {
		select {
		case ev := <-events:
			if ev.Type != want.typ || ev.Object.GetMetadata().GetName() != want.name || string(ev.Object.Data["x"]) != want.x {
				t.Errorf("event %v %s %v, want %v %s x=%q", ev.Type, ev.Object.GetMetadata().GetName(), ev.Object.Data, want.typ, want.name, want.x)
			}
		case <-ctx.Done():
			t.Fatalf("no %v event for %s", want.typ, want.name)
		}
	}
	stop()
	for range events {
		// The channel closes once the watch's context ends.
	}
}
