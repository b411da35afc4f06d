package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// next returns the next event or fails after a few seconds.
func next(t *testing.T, ch <-chan Event[*corev1.ConfigMap]) (Event[*corev1.ConfigMap], bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event within 5s")
		return Event[*corev1.ConfigMap]{}, false
	}
}

func describe(ev Event[*corev1.ConfigMap]) string {
	if ev.Err != nil {
		return fmt.Sprintf("%s(%v)", ev.Type, ev.Err)
	}
	m := ev.Object.GetMetadata()
	return fmt.Sprintf("%s %s/%s@%s k=%s", ev.Type, m.GetNamespace(), m.GetName(), m.GetResourceVersion(), ev.Object.GetData()["k"])
}

func TestWatchFromRevision(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	start := mustCreate(t, s, "ns", "before") // not seen: at fromRV

	a := mustCreate(t, s, "ns", "a")
	aRV := a.Metadata.ResourceVersion
	x := mustCreate(t, s, "other", "x") // other namespace
	a.Data = map[string]string{"k": "v2"}
	a2, err := s.Update(ctx, "ns", "a", a)
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.Delete(ctx, "ns", "a", Preconditions{})
	if err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		namespace string
		want      []string
	}{
		"one namespace": {namespace: "ns", want: []string{
			"ADDED ns/a@" + aRV + " k=v",
			"MODIFIED ns/a@" + a2.Metadata.ResourceVersion + " k=v2",
			"DELETED ns/a@" + del.Metadata.ResourceVersion + " k=v2",
		}},
		"all namespaces": {namespace: "", want: []string{
			"ADDED ns/a@" + aRV + " k=v",
			"ADDED other/x@" + x.Metadata.ResourceVersion + " k=v",
			"MODIFIED ns/a@" + a2.Metadata.ResourceVersion + " k=v2",
			"DELETED ns/a@" + del.Metadata.ResourceVersion + " k=v2",
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			ch, err := s.Watch(wctx, tc.namespace, start.Metadata.ResourceVersion)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.want {
				ev, ok := next(t, ch)
				if !ok {
					t.Fatalf("channel closed before event %d", i)
				}
				if got := describe(ev); got != want {
					t.Fatalf("event %d = %s, want %s", i, got, want)
				}
			}
			cancel()
			for ev := range ch { // must close once ctx ends
				if ev.Type != Bookmark {
					t.Fatalf("unexpected event after the last one: %s", describe(ev))
				}
			}
		})
	}
}

func TestWatchFromNow(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "ns", "old")
	for _, from := range []string{"", "0"} {
		t.Run("fromRV="+from, func(t *testing.T) {
			ch, err := s.Watch(t.Context(), "ns", from)
			if err != nil {
				t.Fatal(err)
			}
			// A bookmark proves the watch is registered with etcd.
			if err := testClient.RequestProgress(clientv3.WithRequireLeader(t.Context())); err != nil {
				t.Fatal(err)
			}
			if ev, _ := next(t, ch); ev.Type != Bookmark {
				t.Fatalf("event %s, want BOOKMARK", describe(ev))
			}
			created := mustCreate(t, s, "ns", "new"+from)
			ev, _ := next(t, ch)
			if got, want := describe(ev), "ADDED ns/new"+from+"@"+created.Metadata.ResourceVersion+" k=v"; got != want {
				t.Fatalf("event %s, want %s", got, want)
			}
		})
	}
}

func TestWatchCompacted(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	old := mustCreate(t, s, "ns", "a")
	mustCreate(t, s, "ns", "b")
	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testClient.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "ns", fmt.Sprint(rvOf(t, old)-1))
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := next(t, ch)
	if !ok || ev.Type != Error || !errors.Is(ev.Err, ErrGone) {
		t.Fatalf("event %s (open %v), want an Error event with ErrGone", describe(ev), ok)
	}
	if _, ok := next(t, ch); ok {
		t.Fatal("channel still open after the Error event")
	}

	// From the compaction revision itself everything after it is there.
	ch, err = s.Watch(ctx, "ns", fmt.Sprint(rev))
	if err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, s, "ns", "c")
	if ev, _ := next(t, ch); ev.Type != Added || ev.Object.Metadata.ResourceVersion != c.Metadata.ResourceVersion {
		t.Fatalf("event %s, want ADDED ns/c", describe(ev))
	}
}

func TestWatchBookmark(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := mustCreate(t, s, "ns", "a")
	ch, err := s.Watch(ctx, "ns", a.Metadata.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	b := mustCreate(t, s, "ns", "b")
	if ev, _ := next(t, ch); ev.Type != Added {
		t.Fatalf("event %s, want ADDED", describe(ev))
	}
	// Ask etcd for progress on the watch stream Watch uses.
	if err := testClient.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		t.Fatal(err)
	}
	ev, _ := next(t, ch)
	if ev.Type != Bookmark || rvOf(t, ev.Object) < rvOf(t, b) {
		t.Fatalf("event %s, want a BOOKMARK at or after %s", describe(ev), b.Metadata.ResourceVersion)
	}
}

func TestWatchInvalid(t *testing.T) {
	s := newStore(t)
	tests := map[string]struct {
		namespace, fromRV string
		wantErr           error
	}{
		"invalid rv":        {fromRV: "x", wantErr: ErrInvalidResourceVersion},
		"negative rv":       {fromRV: "-1", wantErr: ErrInvalidResourceVersion},
		"invalid namespace": {namespace: "a/b", wantErr: ErrInvalidKey},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Watch(t.Context(), tc.namespace, tc.fromRV); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Watch error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
