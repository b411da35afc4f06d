package accounts

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/testwait"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

// fakeAPI serves a list, then the events pushed on its channel.
type fakeAPI struct {
	mu     sync.Mutex
	items  []*corev1.ServiceAccount // what List and Get see
	events chan *corev1.WatchServiceAccountsResponse
	down   bool
	gets   int
	lists  int
}

func sa(ns, name, uid string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{Metadata: &corev1.ObjectMeta{Namespace: ns, Name: name, Uid: uid}}
}

func (f *fakeAPI) set(items ...*corev1.ServiceAccount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = items
}

func (f *fakeAPI) GetServiceAccount(_ context.Context, in *corev1.GetServiceAccountRequest, _ ...grpc.CallOption) (*corev1.GetServiceAccountResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	for _, it := range f.items {
		if it.Metadata.Namespace == in.Namespace && it.Metadata.Name == in.Name {
			return &corev1.GetServiceAccountResponse{ServiceAccount: it}, nil
		}
	}
	return nil, status.Error(codes.NotFound, "not found")
}

func (f *fakeAPI) ListServiceAccounts(context.Context, *corev1.ListServiceAccountsRequest, ...grpc.CallOption) (*corev1.ListServiceAccountsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	return &corev1.ListServiceAccountsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "7"}, Items: slices.Clone(f.items)}, nil
}

func (f *fakeAPI) WatchServiceAccounts(ctx context.Context, _ *corev1.WatchServiceAccountsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchServiceAccountsResponse], error) {
	return &fakeStream{ctx: ctx, events: f.events}, nil
}

type fakeStream struct {
	grpc.ClientStream
	ctx    context.Context
	events chan *corev1.WatchServiceAccountsResponse
}

func (s *fakeStream) Recv() (*corev1.WatchServiceAccountsResponse, error) {
	select {
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	case ev, ok := <-s.events:
		if !ok || ev == nil {
			return nil, io.EOF
		}
		return ev, nil
	}
}

// goneLog records the invalidations.
type goneLog struct {
	mu    sync.Mutex
	all   int
	users []string
}

func (g *goneLog) record(all bool, users ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if all {
		g.all++
	}
	g.users = append(g.users, users...)
}

func (g *goneLog) snapshot() (int, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.all, slices.Clone(g.users)
}

func start(t *testing.T, f *fakeAPI) (*Index, *goneLog) {
	t.Helper()
	g := &goneLog{}
	ix := New(Clients{ServiceAccounts: f}, slog.New(slog.DiscardHandler), g.record)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go ix.Run(ctx)
	testwait.Until(t, 5*time.Second, "the index to sync", ix.Synced)
	return ix, g
}

func lookup(t *testing.T, ix *Index, ns, name string) (string, bool) {
	t.Helper()
	acct, found, err := ix.GetServiceAccount(context.Background(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	return acct.UID, found
}

func TestIndexFollowsWatch(t *testing.T) {
	f := &fakeAPI{events: make(chan *corev1.WatchServiceAccountsResponse)}
	f.set(sa("demo", "default", "u1"), sa("demo", "app", "u2"))
	ix, g := start(t, f)

	if uid, ok := lookup(t, ix, "demo", "app"); !ok || uid != "u2" {
		t.Fatalf("app = %q %v", uid, ok)
	}
	if f.gets != 0 {
		t.Fatalf("a known account was fetched from the api (%d gets)", f.gets)
	}
	// Created a moment ago, not delivered by the watch yet: asked directly.
	f.set(sa("demo", "default", "u1"), sa("demo", "app", "u2"), sa("demo", "new", "u3"))
	if uid, ok := lookup(t, ix, "demo", "new"); !ok || uid != "u3" {
		t.Fatalf("new = %q %v", uid, ok)
	}

	steps := []struct {
		name      string
		event     *corev1.WatchServiceAccountsResponse
		apiAfter  []*corev1.ServiceAccount
		wantGone  []string
		lookupApp string // uid, "" = not found
	}{
		{name: "deleted", event: &corev1.WatchServiceAccountsResponse{Type: "DELETED", Object: sa("demo", "app", "u2")},
			apiAfter: []*corev1.ServiceAccount{sa("demo", "default", "u1")}, wantGone: []string{"system:serviceaccount:demo:app"}},
		{name: "recreated", event: &corev1.WatchServiceAccountsResponse{Type: "ADDED", Object: sa("demo", "app", "u9")},
			lookupApp: "u9", wantGone: []string{"system:serviceaccount:demo:app"}},
		{name: "replaced under the same name", event: &corev1.WatchServiceAccountsResponse{Type: "MODIFIED", Object: sa("demo", "app", "u10")},
			lookupApp: "u10", wantGone: []string{"system:serviceaccount:demo:app", "system:serviceaccount:demo:app"}},
	}
	for _, st := range steps {
		f.events <- st.event
		if st.apiAfter != nil {
			f.set(st.apiAfter...)
		}
		testwait.Until(t, 5*time.Second, st.name, func() bool {
			_, users := g.snapshot()
			uid, ok := lookup(t, ix, "demo", "app")
			return len(users) == len(st.wantGone) && uid == st.lookupApp && ok == (st.lookupApp != "")
		})
		if _, users := g.snapshot(); !slices.Equal(users, st.wantGone) {
			t.Fatalf("%s: gone = %v, want %v", st.name, users, st.wantGone)
		}
	}
	// Being deleted (a deletionTimestamp) counts as gone.
	deleting := sa("demo", "default", "u1")
	deleting.Metadata.DeletionTimestamp = timestamppb.Now()
	f.events <- &corev1.WatchServiceAccountsResponse{Type: "MODIFIED", Object: deleting}
	testwait.Until(t, 5*time.Second, "deleting", func() bool { _, u := g.snapshot(); return len(u) == 3 })
	acct, found, _ := ix.GetServiceAccount(context.Background(), "demo", "default")
	if !found || !acct.Deleting {
		t.Fatalf("default = %+v %v", acct, found)
	}
}

func TestIndexFailsClosed(t *testing.T) {
	f := &fakeAPI{events: make(chan *corev1.WatchServiceAccountsResponse)}
	f.set(sa("demo", "app", "u2"))
	ix, g := start(t, f)
	// The watch breaks and the api is down: nothing is answered from a
	// stale memory, every client drops its cache, lookups fail.
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	close(f.events)
	testwait.Until(t, 5*time.Second, "unsync", func() bool { return !ix.Synced() })
	if all, _ := g.snapshot(); all != 1 {
		t.Fatalf("invalidate-all sent %d times, want 1", all)
	}
	_, _, err := ix.GetServiceAccount(context.Background(), "demo", "app")
	if err == nil {
		t.Fatal("lookup with the api down answered")
	}
	// Back up, with app deleted while the watch was down: the relist
	// reports it gone.
	f.mu.Lock()
	f.down = false
	f.items = nil
	f.events = make(chan *corev1.WatchServiceAccountsResponse)
	f.mu.Unlock()
	testwait.Until(t, 5*time.Second, "resync", ix.Synced)
	testwait.Until(t, 5*time.Second, "app reported gone", func() bool {
		_, u := g.snapshot()
		return slices.Contains(u, "system:serviceaccount:demo:app")
	})
	if _, ok := lookup(t, ix, "demo", "app"); ok {
		t.Fatal("deleted account still found")
	}
}

func TestLookupErrorsAreNotNotFound(t *testing.T) {
	f := &fakeAPI{down: true}
	ix := New(Clients{ServiceAccounts: f}, slog.New(slog.DiscardHandler), nil)
	_, found, err := ix.GetServiceAccount(context.Background(), "demo", "app")
	if err == nil || found || errors.Is(err, context.Canceled) {
		t.Fatalf("found=%v err=%v", found, err)
	}
}

// fakePods serves a list of pods, then the events pushed on its channel.
type fakePods struct {
	items  []*corev1.Pod
	events chan *corev1.WatchPodsResponse
}

func (f *fakePods) GetPod(_ context.Context, in *corev1.GetPodRequest, _ ...grpc.CallOption) (*corev1.GetPodResponse, error) {
	for _, p := range f.items {
		if p.Metadata.Namespace == in.Namespace && p.Metadata.Name == in.Name {
			return &corev1.GetPodResponse{Pod: p}, nil
		}
	}
	return nil, status.Error(codes.NotFound, "not found")
}

func (f *fakePods) ListPods(context.Context, *corev1.ListPodsRequest, ...grpc.CallOption) (*corev1.ListPodsResponse, error) {
	return &corev1.ListPodsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "3"}, Items: f.items}, nil
}

func (f *fakePods) WatchPods(ctx context.Context, _ *corev1.WatchPodsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchPodsResponse], error) {
	return &podStream{ctx: ctx, events: f.events}, nil
}

type podStream struct {
	grpc.ClientStream
	ctx    context.Context
	events chan *corev1.WatchPodsResponse
}

func (s *podStream) Recv() (*corev1.WatchPodsResponse, error) {
	select {
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	case ev := <-s.events:
		return ev, nil
	}
}

func podOf(name, uid, sa string) *corev1.Pod {
	return &corev1.Pod{Metadata: &corev1.ObjectMeta{Namespace: "demo", Name: name, Uid: uid}, Spec: &corev1.PodSpec{ServiceAccountName: sa}}
}

// TestBoundObjects: a pod a token was bound to takes its account's cached
// answers with it when it goes; a pod no token named takes nothing; a
// kind not followed fails closed.
func TestBoundObjects(t *testing.T) {
	sas := &fakeAPI{events: make(chan *corev1.WatchServiceAccountsResponse)}
	pods := &fakePods{items: []*corev1.Pod{podOf("web", "p1", "app"), podOf("db", "p2", "db")}, events: make(chan *corev1.WatchPodsResponse)}
	g := &goneLog{}
	ix := New(Clients{ServiceAccounts: sas, Pods: pods}, slog.New(slog.DiscardHandler), g.record)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go ix.Run(ctx)
	testwait.Until(t, 5*time.Second, "the index to sync", ix.Synced)

	obj, found, err := ix.GetObject(context.Background(), serviceaccount.KindPod, "demo", "web")
	if err != nil || !found || obj.UID != "p1" {
		t.Fatalf("web = %+v %v %v", obj, found, err)
	}
	tests := []struct {
		name     string
		event    *corev1.WatchPodsResponse
		wantGone []string
	}{
		{"a pod no token named goes", &corev1.WatchPodsResponse{Type: "DELETED", Object: podOf("db", "p2", "db")}, nil},
		{"a named pod goes", &corev1.WatchPodsResponse{Type: "DELETED", Object: podOf("web", "p1", "app")}, []string{"system:serviceaccount:demo:app"}},
	}
	for _, tc := range tests {
		pods.events <- tc.event
		// A bookmark after the event: once it is taken, the event was applied.
		pods.events <- &corev1.WatchPodsResponse{Type: "BOOKMARK", Object: &corev1.Pod{Metadata: &corev1.ObjectMeta{}}}
		pods.events <- &corev1.WatchPodsResponse{Type: "BOOKMARK", Object: &corev1.Pod{Metadata: &corev1.ObjectMeta{}}}
		if all, users := g.snapshot(); all != 0 || !slices.Equal(users, tc.wantGone) {
			t.Fatalf("%s: gone = %d %v, want %v", tc.name, all, users, tc.wantGone)
		}
	}
	pods.items = nil
	if _, found, err := ix.GetObject(context.Background(), serviceaccount.KindPod, "demo", "web"); found || err != nil {
		t.Errorf("deleted pod: found=%v err=%v", found, err)
	}
	if _, _, err := ix.GetObject(context.Background(), serviceaccount.KindSecret, "demo", "s"); err == nil {
		t.Error("a kind not followed answered")
	}
}
