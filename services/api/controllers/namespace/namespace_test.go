package namespace

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
	"github.com/portico-dev/portico/services/api/controllers/metaclient/fake"
)

// namespaces is a fake Namespaces holding one namespace.
type namespaces struct {
	*fake.Resource
	ns        *corev1.Namespace
	finalized [][]string
}

func (n *namespaces) GetNamespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if n.ns == nil || n.ns.Metadata.Name != name {
		return nil, metaclient.ErrNotFound
	}
	return n.ns, nil
}

func (n *namespaces) Finalize(_ context.Context, ns *corev1.Namespace) error {
	n.finalized = append(n.finalized, ns.GetSpec().GetFinalizers())
	return nil
}

var pods = metaclient.Kind{Version: "v1", Kind: "Pod", Resource: "pods", Namespaced: true}

func TestClean(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i64 := func(v int64) *int64 { return &v }
	terminating := &corev1.Namespace{
		Metadata: &corev1.ObjectMeta{Name: "ns", DeletionTimestamp: timestamppb.New(now)},
		Spec:     &corev1.NamespaceSpec{Finalizers: []string{"kubernetes", "example.com/other"}},
	}
	pod := func(name string, grace int64, deleteAt time.Duration) *corev1.ObjectMeta {
		m := &corev1.ObjectMeta{Namespace: "ns", Name: name, Uid: name}
		if deleteAt != 0 {
			m.DeletionTimestamp = timestamppb.New(now.Add(deleteAt))
			m.DeletionGracePeriodSeconds = i64(grace)
		}
		return m
	}
	tests := map[string]struct {
		ns        *corev1.Namespace
		content   []*corev1.ObjectMeta
		abandoned bool
		done      bool
		left      []string
		finalized [][]string
	}{
		"active namespace":   {&corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "ns"}}, []*corev1.ObjectMeta{pod("p", 0, 0)}, false, true, []string{"p"}, nil},
		"empty":              {terminating, nil, false, true, nil, [][]string{{"example.com/other"}}},
		"deleted at once":    {terminating, []*corev1.ObjectMeta{pod("p", 0, 0)}, false, true, nil, [][]string{{"example.com/other"}}},
		"grace pending":      {terminating, []*corev1.ObjectMeta{pod("p", 30, 20*time.Second)}, false, false, []string{"p"}, nil},
		"grace run out":      {terminating, []*corev1.ObjectMeta{pod("p", 30, -time.Second)}, false, true, nil, [][]string{{"example.com/other"}}},
		"nobody to confirm":  {terminating, []*corev1.ObjectMeta{pod("p", 30, 20*time.Second)}, true, true, nil, [][]string{{"example.com/other"}}},
		"finalizer holds it": {terminating, []*corev1.ObjectMeta{{Namespace: "ns", Name: "f", Uid: "f", Finalizers: []string{"example.com/hold"}}}, false, false, []string{"f"}, nil},
		"finalized already": {&corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "ns", DeletionTimestamp: timestamppb.New(now)}, Spec: &corev1.NamespaceSpec{}},
			[]*corev1.ObjectMeta{pod("p", 0, 0)}, false, true, []string{"p"}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			content := fake.New(pods, tc.content...)
			nsc := &namespaces{Resource: fake.New(metaclient.Kind{Version: "v1", Kind: "Namespace", Resource: "namespaces"}), ns: tc.ns}
			c, err := New(Options{Namespaces: nsc, Content: []metaclient.Resource{content}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now:       func() time.Time { return now },
				Abandoned: func(context.Context, metaclient.Kind, *corev1.ObjectMeta) bool { return tc.abandoned }})
			if err != nil {
				t.Fatal(err)
			}
			done, err := c.clean(t.Context(), "ns")
			if err != nil || done != tc.done {
				t.Fatalf("clean = %v, %v; want done %v", done, err, tc.done)
			}
			items, _, _ := content.List(t.Context(), "ns")
			var left []string
			for _, m := range items {
				left = append(left, m.GetName())
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left %q, want %q", left, tc.left)
			}
			if !slices.EqualFunc(nsc.finalized, tc.finalized, slices.Equal[[]string]) {
				t.Errorf("finalized %q, want %q", nsc.finalized, tc.finalized)
			}
		})
	}
}
