// Package accounts keeps authn's view of the live service accounts: a list
// and then a watch of ServiceAccounts through the api (as authn's own
// service identity, which may read every resource), so that a token is
// checked against memory, and so that a deletion reaches authn, and from
// there every client's cache, within milliseconds.
//
// It fails closed: until the first list, and whenever the watch is broken,
// lookups ask the api directly, and an api that does not answer makes the
// lookup fail (the token is then refused as unavailable, never accepted).
package accounts

import (
	"context"
	"errors"
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

// Defaults.
const (
	// LookupTimeout bounds a direct lookup, waiting for the connection to
	// the api included.
	LookupTimeout = 3 * time.Second
	// ListPageSize is the page size of a (re)list.
	ListPageSize = 500
)

// Index is the in-memory view. It implements serviceaccount.AccountGetter.
type Index struct {
	client Client
	log    *slog.Logger
	// gone is told the users whose cached answers must go: one account
	// deleted or replaced (names), or everything (all).
	gone func(all bool, usernames ...string)

	mu       sync.RWMutex
	accounts map[string]serviceaccount.Account // "ns/name"
	synced   bool                              // a list succeeded and the watch after it runs
}

// New returns an index over client; gone may be nil.
func New(client Client, log *slog.Logger, gone func(all bool, usernames ...string)) *Index {
	if gone == nil {
		gone = func(bool, ...string) {}
	}
	return &Index{client: client, log: log, gone: gone, accounts: map[string]serviceaccount.Account{}}
}

// GetServiceAccount answers from memory when the index is current and
// knows the account; otherwise (not synced yet, or an account created a
// moment ago that the watch has not delivered) it asks the api.
func (ix *Index) GetServiceAccount(ctx context.Context, namespace, name string) (serviceaccount.Account, bool, error) {
	ix.mu.RLock()
	acct, known := ix.accounts[namespace+"/"+name]
	synced := ix.synced
	ix.mu.RUnlock()
	if synced && known {
		return acct, true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
	defer cancel()
	// WaitForReady: right after a start the connection to the api may be
	// in its reconnect backoff; wait for it (within the timeout) rather
	// than refuse a good token.
	resp, err := ix.client.GetServiceAccount(ctx, &corev1.GetServiceAccountRequest{Namespace: namespace, Name: name}, grpc.WaitForReady(true))
	if status.Code(err) == codes.NotFound {
		return serviceaccount.Account{}, false, nil
	}
	if err != nil {
		return serviceaccount.Account{}, false, fmt.Errorf("getting service account %s/%s: %w", namespace, name, err)
	}
	return accountOf(resp.GetServiceAccount()), true, nil
}

// Synced reports whether lookups are answered from memory.
func (ix *Index) Synced() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.synced
}

func accountOf(sa *corev1.ServiceAccount) serviceaccount.Account {
	m := sa.GetMetadata()
	return serviceaccount.Account{UID: m.GetUid(), Deleting: m.GetDeletionTimestamp() != nil}
}

// Run lists and watches until ctx ends, starting over with backoff when
// the watch breaks.
func (ix *Index) Run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := ix.listAndWatch(ctx)
		ix.unsync()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minBackoff
		}
		ix.log.Debug("service account watch ended: lookups go to the api until it is back", "error", err, "retryIn", backoff)
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
func (ix *Index) unsync() {
	ix.mu.Lock()
	was := ix.synced
	ix.synced = false
	ix.mu.Unlock()
	if was {
		ix.gone(true)
	}
}

func (ix *Index) listAndWatch(ctx context.Context) error {
	fresh := map[string]serviceaccount.Account{}
	var rv, cont string
	for {
		resp, err := ix.client.ListServiceAccounts(ctx, &corev1.ListServiceAccountsRequest{Limit: ListPageSize, Continue: cont}, grpc.WaitForReady(true))
		if err != nil {
			return fmt.Errorf("listing service accounts: %w", err)
		}
		for _, sa := range resp.GetItems() {
			m := sa.GetMetadata()
			fresh[m.GetNamespace()+"/"+m.GetName()] = accountOf(sa)
		}
		if rv == "" {
			rv = resp.GetMetadata().GetResourceVersion()
		}
		if cont = resp.GetMetadata().GetContinue(); cont == "" {
			break
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := ix.client.WatchServiceAccounts(ctx, &corev1.WatchServiceAccountsRequest{ResourceVersion: rv, AllowWatchBookmarks: true}, grpc.WaitForReady(true))
	if err != nil {
		return fmt.Errorf("watching service accounts: %w", err)
	}
	ix.mu.Lock()
	var lost []string
	for key, old := range ix.accounts {
		if cur, ok := fresh[key]; !ok || cur.UID != old.UID {
			lost = append(lost, usernameOf(key))
		}
	}
	ix.accounts, ix.synced = fresh, true
	ix.mu.Unlock()
	if len(lost) > 0 {
		ix.gone(false, lost...)
	}
	ix.log.Debug("service accounts listed", "count", len(fresh), "resourceVersion", rv)
	for {
		ev, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("service account watch: %w", err)
		}
		if err := ix.apply(ev); err != nil {
			return err
		}
	}
}

// apply updates the index with one watch event.
func (ix *Index) apply(ev *corev1.WatchServiceAccountsResponse) error {
	m := ev.GetObject().GetMetadata()
	key := m.GetNamespace() + "/" + m.GetName()
	switch ev.GetType() {
	case "ADDED", "MODIFIED":
		cur := accountOf(ev.GetObject())
		ix.mu.Lock()
		old, had := ix.accounts[key]
		ix.accounts[key] = cur
		ix.mu.Unlock()
		if had && (old.UID != cur.UID || !old.Deleting && cur.Deleting) {
			ix.gone(false, usernameOf(key))
		}
	case "DELETED":
		ix.mu.Lock()
		delete(ix.accounts, key)
		ix.mu.Unlock()
		ix.gone(false, usernameOf(key))
		ix.log.Info("service account deleted: its tokens are refused from now on", "namespace", m.GetNamespace(), "name", m.GetName())
	case "BOOKMARK":
	case "ERROR":
		return errors.New("service account watch: the api sent an error event")
	default:
		return fmt.Errorf("service account watch: unknown event type %q", ev.GetType())
	}
	return nil
}

func usernameOf(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return serviceaccount.Username(key[:i], key[i+1:])
		}
	}
	return key
}
