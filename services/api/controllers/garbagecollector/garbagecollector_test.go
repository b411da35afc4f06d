package garbagecollector

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
	"github.com/portico-dev/portico/services/api/controllers/metaclient/fake"
)

var configMaps = metaclient.Kind{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true}

// cm is a config map in namespace ns, named and uid'd name.
func cm(name string, owners ...*corev1.OwnerReference) *corev1.ObjectMeta {
	return &corev1.ObjectMeta{Namespace: "ns", Name: name, Uid: name, OwnerReferences: owners}
}

func ownedBy(name string, block bool) *corev1.OwnerReference {
	return &corev1.OwnerReference{ApiVersion: "v1", Kind: "ConfigMap", Name: name, Uid: name, BlockOwnerDeletion: &block}
}

func deleting(m *corev1.ObjectMeta, finalizers ...string) *corev1.ObjectMeta {
	m.DeletionTimestamp = timestamppb.Now()
	m.Finalizers = finalizers
	return m
}

func TestCollector(t *testing.T) {
	tests := map[string]struct {
		objects []*corev1.ObjectMeta
		act     action
		uid     string
		writes  []string
		left    []string // names still stored
	}{
		"owner there": {
			[]*corev1.ObjectMeta{cm("owner"), cm("dep", ownedBy("owner", true))}, attemptToDelete, "dep",
			nil, []string{"dep", "owner"},
		},
		"owner gone": {
			[]*corev1.ObjectMeta{cm("dep", ownedBy("owner", true))}, attemptToDelete, "dep",
			[]string{"delete ns/dep Background"}, nil,
		},
		"owner replaced (another uid)": {
			[]*corev1.ObjectMeta{{Namespace: "ns", Name: "owner", Uid: "new"}, cm("dep", ownedBy("owner", true))}, attemptToDelete, "dep",
			[]string{"delete ns/dep Background"}, []string{"owner"},
		},
		"one owner of two gone": {
			[]*corev1.ObjectMeta{cm("a"), cm("dep", ownedBy("a", false), ownedBy("b", false))}, attemptToDelete, "dep",
			[]string{"update ns/dep"}, []string{"a", "dep"},
		},
		"kind not served": {
			[]*corev1.ObjectMeta{cm("dep", &corev1.OwnerReference{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", Uid: "rs"})}, attemptToDelete, "dep",
			nil, []string{"dep"},
		},
		"its own orphan finalizer is honoured": {
			[]*corev1.ObjectMeta{func() *corev1.ObjectMeta {
				m := cm("dep", ownedBy("owner", true))
				m.Finalizers = []string{"orphan"}
				return m
			}()}, attemptToDelete, "dep",
			[]string{"delete ns/dep Orphan"}, []string{"dep"},
		},
		"foreground owner waits for a blocking dependent": {
			[]*corev1.ObjectMeta{deleting(cm("owner"), FinalizerForeground), cm("dep", ownedBy("owner", true))}, attemptToDelete, "owner",
			nil, []string{"dep", "owner"},
		},
		"foreground owner freed": {
			[]*corev1.ObjectMeta{deleting(cm("owner"), FinalizerForeground), cm("dep", ownedBy("owner", false))}, attemptToDelete, "owner",
			[]string{"update ns/owner"}, []string{"dep"},
		},
		"dependent of a foreground owner": {
			[]*corev1.ObjectMeta{deleting(cm("owner"), FinalizerForeground), cm("dep", ownedBy("owner", true))}, attemptToDelete, "dep",
			[]string{"delete ns/dep Background"}, []string{"owner"},
		},
		"dependent with dependents of its own goes in the foreground": {
			[]*corev1.ObjectMeta{deleting(cm("owner"), FinalizerForeground), cm("dep", ownedBy("owner", true)), cm("grand", ownedBy("dep", true))}, attemptToDelete, "dep",
			[]string{"delete ns/dep Foreground"}, []string{"dep", "grand", "owner"},
		},
		"being deleted already": {
			[]*corev1.ObjectMeta{deleting(cm("dep", ownedBy("owner", true)), "example.com/x")}, attemptToDelete, "dep",
			nil, []string{"dep"},
		},
		"orphan": {
			[]*corev1.ObjectMeta{deleting(cm("owner"), FinalizerOrphan), cm("dep", ownedBy("owner", true), ownedBy("other", false))}, attemptToOrphan, "owner",
			[]string{"update ns/dep", "update ns/owner"}, []string{"dep"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := fake.New(configMaps, tc.objects...)
			c, err := New(Options{Resources: []metaclient.Resource{r}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			items, _, _ := r.List(t.Context(), "")
			c.listed(0, items)
			if tc.act == attemptToDelete {
				err = c.attemptToDelete(t.Context(), tc.uid)
			} else {
				err = c.attemptToOrphan(t.Context(), tc.uid)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Writes, tc.writes) {
				t.Errorf("writes = %q, want %q", r.Writes, tc.writes)
			}
			var left []string
			items, _, _ = r.List(t.Context(), "")
			for _, m := range items {
				left = append(left, m.GetName())
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left = %q, want %q", left, tc.left)
			}
			if tc.act == attemptToOrphan {
				if m, err := r.Get(t.Context(), "ns", "dep"); err == nil && slices.ContainsFunc(m.OwnerReferences, func(o *corev1.OwnerReference) bool { return o.GetUid() == "owner" }) {
					t.Errorf("the orphan still refers to its owner: %v", m.OwnerReferences)
				}
			}
		})
	}
}

// TestGraphQueues: what a change queues.
func TestGraphQueues(t *testing.T) {
	r := fake.New(configMaps)
	c, err := New(Options{Resources: []metaclient.Resource{r}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c.listed(0, []*corev1.ObjectMeta{cm("owner"), cm("dep", ownedBy("owner", true))})
	if !c.queue.Add(item{attemptToDelete, "dep"}) || c.queue.Len() != 1 {
		t.Fatalf("a dependent listed is queued once: len %d", c.queue.Len())
	}
	drain := func() {
		for c.queue.Len() > 0 {
			it, _ := c.queue.Get(t.Context())
			c.queue.Done(it)
		}
	}
	drain()
	c.changed(0, metaclient.Event{Type: metaclient.Deleted, Object: cm("owner")})
	if it, _ := c.queue.Get(t.Context()); it != (item{attemptToDelete, "dep"}) {
		t.Errorf("owner deleted: queued %v, want its dependent", it)
	}
	drain()
	c.changed(0, metaclient.Event{Type: metaclient.Modified, Object: deleting(cm("x"), FinalizerOrphan)})
	if it, _ := c.queue.Get(t.Context()); it != (item{attemptToOrphan, "x"}) {
		t.Errorf("orphan finalizer: queued %v", it)
	}
}
