// Package accounts keeps authn's view of the live objects tokens name:
// the service accounts, and the pods, secrets and nodes tokens are bound
// to. Each kind is a list and then a watch through the api (as authn's own
// service identity, which may read every resource), kept in memory as
// name → UID and whether it is being deleted (nothing else of the
// object), so that a token is checked against memory, and so that a
// deletion reaches authn, and from there every client's cache, within
// milliseconds.
//
// It fails closed: until the first list, and whenever a watch is broken,
// lookups of that kind ask the api directly, and an api that does not
// answer makes the lookup fail (the token is then refused as unavailable,
// never accepted).
package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

// Client is what the index needs of the api's ServiceAccountService.
type Client interface {
	GetServiceAccount(ctx context.Context, in *corev1.GetServiceAccountRequest, opts ...grpc.CallOption) (*corev1.GetServiceAccountResponse, error)
	ListServiceAccounts(ctx context.Context, in *corev1.ListServiceAccountsRequest, opts ...grpc.CallOption) (*corev1.ListServiceAccountsResponse, error)
	WatchServiceAccounts(ctx context.Context, in *corev1.WatchServiceAccountsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchServiceAccountsResponse], error)
}

// PodClient is what the index needs of the api's PodService.
type PodClient interface {
	GetPod(ctx context.Context, in *corev1.GetPodRequest, opts ...grpc.CallOption) (*corev1.GetPodResponse, error)
	ListPods(ctx context.Context, in *corev1.ListPodsRequest, opts ...grpc.CallOption) (*corev1.ListPodsResponse, error)
	WatchPods(ctx context.Context, in *corev1.WatchPodsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchPodsResponse], error)
}

// SecretClient is what the index needs of the api's SecretService.
type SecretClient interface {
	GetSecret(ctx context.Context, in *corev1.GetSecretRequest, opts ...grpc.CallOption) (*corev1.GetSecretResponse, error)
	ListSecrets(ctx context.Context, in *corev1.ListSecretsRequest, opts ...grpc.CallOption) (*corev1.ListSecretsResponse, error)
	WatchSecrets(ctx context.Context, in *corev1.WatchSecretsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchSecretsResponse], error)
}

// NodeClient is what the index needs of the api's NodeService.
type NodeClient interface {
	GetNode(ctx context.Context, in *corev1.GetNodeRequest, opts ...grpc.CallOption) (*corev1.GetNodeResponse, error)
	ListNodes(ctx context.Context, in *corev1.ListNodesRequest, opts ...grpc.CallOption) (*corev1.ListNodesResponse, error)
	WatchNodes(ctx context.Context, in *corev1.WatchNodesRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[corev1.WatchNodesResponse], error)
}

// Clients are the api services the index reads; a nil one is a kind
// not followed: its lookups fail (tokens bound to it are refused as
// unavailable).
type Clients struct {
	ServiceAccounts Client
	Pods            PodClient
	Secrets         SecretClient
	Nodes           NodeClient
}

// Defaults.
const (
	// LookupTimeout bounds a direct lookup, waiting for the connection to
	// the api included.
	LookupTimeout = 3 * time.Second
	// ListPageSize is the page size of a (re)list.
	ListPageSize = 500
	// maxPending bounds the objects looked up ahead of their watch event.
	maxPending = 10000
)

// Index is the in-memory view. It implements serviceaccount.ObjectGetter.
type Index struct {
	kinds map[serviceaccount.Kind]*kindIndex
	order []*kindIndex
}

// New returns an index over the clients. gone (may be nil) is told the
// users whose cached answers must go: those of one account deleted or
// replaced, or of a bound object (names), or everyone's (all).
func New(c Clients, log *slog.Logger, gone func(all bool, usernames ...string)) *Index {
	if gone == nil {
		gone = func(bool, ...string) {}
	}
	ix := &Index{kinds: map[serviceaccount.Kind]*kindIndex{}}
	add := func(s source) {
		k := &kindIndex{src: s, log: log, gone: gone, objects: map[string]*entry{}, pending: map[string]string{}}
		ix.kinds[s.kind] = k
		ix.order = append(ix.order, k)
	}
	if c.ServiceAccounts != nil {
		add(serviceAccountSource(c.ServiceAccounts))
	}
	if c.Pods != nil {
		add(podSource(c.Pods))
	}
	if c.Secrets != nil {
		add(secretSource(c.Secrets))
	}
	if c.Nodes != nil {
		add(nodeSource(c.Nodes))
	}
	return ix
}

// GetServiceAccount looks a service account up (GetObject).
func (ix *Index) GetServiceAccount(ctx context.Context, namespace, name string) (serviceaccount.Account, bool, error) {
	return ix.GetObject(ctx, serviceaccount.KindServiceAccount, namespace, name)
}

// GetObject answers from memory when the kind's index is current and
// knows the object; otherwise (not synced yet, or an object created a
// moment ago that the watch has not delivered) it asks the api.
func (ix *Index) GetObject(ctx context.Context, kind serviceaccount.Kind, namespace, name string) (serviceaccount.Object, bool, error) {
	k, ok := ix.kinds[kind]
	if !ok {
		return serviceaccount.Object{}, false, fmt.Errorf("%s objects are not followed", kind)
	}
	return k.get(ctx, namespace, name)
}

// Synced reports whether every kind's lookups are answered from memory.
func (ix *Index) Synced() bool {
	for _, k := range ix.order {
		if !k.isSynced() {
			return false
		}
	}
	return true
}

// Run lists and watches every kind until ctx ends.
func (ix *Index) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, k := range ix.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.run(ctx)
		}()
	}
	wg.Wait()
}

// item is one object as a source reads it.
type item struct {
	key string // "namespace/name", "/name" for a node
	obj serviceaccount.Object
	// users are whose cached answers go when the object goes; all means
	// everyone's (the object does not say whose tokens name it).
	users []string
	all   bool
}

// event is one watch event.
type event struct {
	typ string
	it  item
}

// source is one kind's reads through the api.
type source struct {
	kind serviceaccount.Kind
	// always: a change invalidates even if no token named the object
	// (service accounts: every token names its account).
	always bool
	get    func(ctx context.Context, namespace, name string) (item, error)
	list   func(ctx context.Context, cont string) (items []item, rv, next string, err error)
	watch  func(ctx context.Context, rv string) (recv func() (event, error), err error)
}

// entry is what the index keeps of one object.
type entry struct {
	item
	// named: a token bound to it was looked up, so its going matters to
	// the clients' caches.
	named bool
}

// kindIndex follows one kind.
type kindIndex struct {
	src  source
	log  *slog.Logger
	gone func(all bool, usernames ...string)

	mu      sync.RWMutex
	objects map[string]*entry
	// pending are objects looked up from the api before the watch
	// delivered them (key → UID): named once it does.
	pending map[string]string
	synced  bool // a list succeeded and the watch after it runs
}

func (k *kindIndex) get(ctx context.Context, namespace, name string) (serviceaccount.Object, bool, error) {
	key := namespace + "/" + name
	k.mu.RLock()
	e, known := k.objects[key]
	synced := k.synced
	named := known && e.named
	k.mu.RUnlock()
	if synced && known {
		if !named {
			k.mu.Lock()
			if k.objects[key] == e {
				e.named = true
			}
			k.mu.Unlock()
		}
		return e.obj, true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	it, err := k.src.get(ctx, namespace, name)
	if status.Code(err) == codes.NotFound {
		return serviceaccount.Object{}, false, nil
	}
	if err != nil {
		return serviceaccount.Object{}, false, fmt.Errorf("getting %s %s: %w", k.src.kind, key, err)
	}
	k.mu.Lock()
	if cur, ok := k.objects[key]; ok && cur.obj.UID == it.obj.UID {
		cur.named = true
	} else if k.synced && len(k.pending) < maxPending {
		// The watch has not delivered it yet: named when it does.
		k.pending[key] = it.obj.UID
	}
	k.mu.Unlock()
	return it.obj, true, nil
}

func (k *kindIndex) isSynced() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.synced
}

// run lists and watches until ctx ends, starting over with backoff when
// the watch breaks.
func (k *kindIndex) run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := k.listAndWatch(ctx)
		k.unsync()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minBackoff
		}
		k.log.Debug("watch ended: lookups go to the api until it is back", "kind", k.src.kind, "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// unsync marks the index stale. A deletion during the gap would go
// unseen, so every client drops its cached answers.
func (k *kindIndex) unsync() {
	k.mu.Lock()
	was := k.synced
	k.synced = false
	k.mu.Unlock()
	if was {
		k.gone(true)
	}
}

// matters reports whether e's going must reach the clients' caches.
func (k *kindIndex) matters(e *entry) bool { return k.src.always || e.named }

// lost tells the clients that e is gone or replaced.
func (k *kindIndex) lost(e *entry) {
	if !k.matters(e) {
		return
	}
	if e.all {
		k.gone(true)
		return
	}
	if len(e.users) > 0 {
		k.gone(false, e.users...)
	}
}

func (k *kindIndex) listAndWatch(ctx context.Context) error {
	fresh := map[string]*entry{}
	var rv, cont string
	for {
		items, listRV, next, err := k.src.list(ctx, cont)
		if err != nil {
			return fmt.Errorf("listing %s objects: %w", k.src.kind, err)
		}
		for _, it := range items {
			fresh[it.key] = &entry{item: it}
		}
		if rv == "" {
			rv = listRV
		}
		if cont = next; cont == "" {
			break
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recv, err := k.src.watch(ctx, rv)
	if err != nil {
		return fmt.Errorf("watching %s objects: %w", k.src.kind, err)
	}
	k.mu.Lock()
	var lost []*entry
	for key, old := range k.objects {
		cur, ok := fresh[key]
		switch {
		case !ok || cur.obj.UID != old.obj.UID:
			lost = append(lost, old)
		default:
			cur.named = old.named
		}
	}
	for key, uid := range k.pending {
		if cur, ok := fresh[key]; ok && cur.obj.UID == uid {
			cur.named = true
		}
	}
	k.objects, k.synced = fresh, true
	k.pending = map[string]string{}
	k.mu.Unlock()
	for _, e := range lost {
		k.lost(e)
	}
	k.log.Debug("objects listed", "kind", k.src.kind, "count", len(fresh), "resourceVersion", rv)
	for {
		ev, err := recv()
		if err != nil {
			return fmt.Errorf("%s watch: %w", k.src.kind, err)
		}
		if err := k.apply(ev); err != nil {
			return err
		}
	}
}

// apply updates the index with one watch event.
func (k *kindIndex) apply(ev event) error {
	key := ev.it.key
	switch ev.typ {
	case "ADDED", "MODIFIED":
		k.mu.Lock()
		old, had := k.objects[key]
		cur := &entry{item: ev.it}
		replaced := had && (old.obj.UID != cur.obj.UID || !old.obj.Deleting && cur.obj.Deleting)
		if had && old.obj.UID == cur.obj.UID {
			cur.named = old.named
		}
		if uid, ok := k.pending[key]; ok {
			cur.named = cur.named || uid == cur.obj.UID
			delete(k.pending, key)
		}
		k.objects[key] = cur
		k.mu.Unlock()
		if replaced {
			k.lost(old)
		}
	case "DELETED":
		k.mu.Lock()
		old, had := k.objects[key]
		delete(k.objects, key)
		uid, wasPending := k.pending[key]
		delete(k.pending, key)
		k.mu.Unlock()
		if !had {
			old = &entry{item: ev.it, named: wasPending && uid == ev.it.obj.UID}
		}
		k.lost(old)
		if k.matters(old) {
			k.log.Info("object deleted: the tokens naming it are refused from now on", "kind", k.src.kind, "key", key)
		}
	case "BOOKMARK":
	case "ERROR":
		return fmt.Errorf("%s watch: the api sent an error event", k.src.kind)
	default:
		return fmt.Errorf("%s watch: unknown event type %q", k.src.kind, ev.typ)
	}
	return nil
}

// objectOf is what the index keeps of an object's metadata.
func objectOf(m *corev1.ObjectMeta) serviceaccount.Object {
	return serviceaccount.Object{UID: m.GetUid(), Deleting: m.GetDeletionTimestamp() != nil}
}

func keyOf(m *corev1.ObjectMeta) string { return m.GetNamespace() + "/" + m.GetName() }
