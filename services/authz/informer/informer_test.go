package informer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/portico-dev/portico/internal/testwait"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// fakePods lists a fixed set, then streams the events sent on events; a
// closed stream (end) makes the informer list again.
type fakePods struct {
	corev1.UnimplementedPodServiceServer
	mu     sync.Mutex
	items  []*corev1.Pod
	lists  int
	events chan *corev1.WatchPodsResponse
	end    chan struct{}
	rv     string
}

func (f *fakePods) ListPods(context.Context, *corev1.ListPodsRequest) (*corev1.ListPodsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return &corev1.ListPodsResponse{Metadata: &corev1.ListMeta{ResourceVersion: "7"}, Items: f.items}, nil
}

func (f *fakePods) WatchPods(req *corev1.WatchPodsRequest, s grpc.ServerStreamingServer[corev1.WatchPodsResponse]) error {
	f.mu.Lock()
	f.rv = req.GetResourceVersion()
	f.mu.Unlock()
	for {
		select {
		case ev := <-f.events:
			if err := s.Send(ev); err != nil {
				return err
			}
		case <-f.end:
			return nil
		case <-s.Context().Done():
			return nil
		}
	}
}

// recorder is a Handler keeping the current set.
type recorder struct {
	mu   sync.Mutex
	pods map[string]string // key → node
}

func (r *recorder) Replace(items []*corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pods = map[string]string{}
	for _, p := range items {
		r.pods[Key(p)] = p.GetSpec().GetNodeName()
	}
}

func (r *recorder) Upsert(p *corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pods[Key(p)] = p.GetSpec().GetNodeName()
}

func (r *recorder) Delete(p *corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pods, Key(p))
}

func (r *recorder) node(key string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.pods[key]
	return n, ok
}

func pod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{Metadata: &corev1.ObjectMeta{Namespace: ns, Name: name}, Spec: &corev1.PodSpec{NodeName: node}}
}

func TestRun(t *testing.T) {
	fake := &fakePods{items: []*corev1.Pod{pod("a", "web", "n1")}, events: make(chan *corev1.WatchPodsResponse), end: make(chan struct{})}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	corev1.RegisterPodServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	src, err := NewSource[*corev1.Pod](conn, "portico.core.v1.PodService", "Pods")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	synced := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, src, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { close(synced) })
		close(done)
	}()
	<-synced
	if n, ok := rec.node("a/web"); !ok || n != "n1" {
		t.Fatalf("listed: %q %v", n, ok)
	}
	// Events apply in order, from the list's resourceVersion.
	fake.events <- &corev1.WatchPodsResponse{Type: "ADDED", Object: pod("a", "db", "n2")}
	fake.events <- &corev1.WatchPodsResponse{Type: "MODIFIED", Object: pod("a", "web", "n3")}
	fake.events <- &corev1.WatchPodsResponse{Type: "BOOKMARK", Object: &corev1.Pod{Metadata: &corev1.ObjectMeta{ResourceVersion: "9"}}}
	fake.events <- &corev1.WatchPodsResponse{Type: "DELETED", Object: pod("a", "db", "n2")}
	testwait.Until(t, 5*time.Second, "the events", func() bool {
		n, _ := rec.node("a/web")
		_, db := rec.node("a/db")
		return n == "n3" && !db
	})
	fake.mu.Lock()
	if fake.rv != "7" {
		t.Errorf("watched from %q, want the list's 7", fake.rv)
	}
	// A closed watch lists again: the new list replaces everything.
	fake.items = []*corev1.Pod{pod("b", "new", "n9")}
	fake.mu.Unlock()
	close(fake.end)
	testwait.Until(t, 5*time.Second, "a new list", func() bool {
		_, old := rec.node("a/web")
		n, ok := rec.node("b/new")
		return !old && ok && n == "n9"
	})
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

func TestNewSourceUnknownKind(t *testing.T) {
	if _, err := NewSource[*corev1.Pod](nil, "portico.core.v1.PodService", "Widgets"); err == nil {
		t.Fatal("a kind without messages was accepted")
	}
}
