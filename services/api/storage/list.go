package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// maxListBatch bounds the keys read from etcd in one request, so a large
// list never needs one huge gRPC message.
const maxListBatch = 10000

// ListOptions selects and pages a List.
type ListOptions[T Object] struct {
	// Limit is the most items to return; 0 (or negative) means all.
	Limit int64
	// Continue is the token of the previous page's ListResult. The page is
	// read at the same revision as the first page.
	Continue string
	// ResourceVersion "" reads the latest state, "0" any state (the
	// Store reads the latest, a Cache what it holds); a revision reads
	// the state exactly at that revision (ErrGone when compacted). It must
	// be empty or "0" with Continue.
	ResourceVersion string
	// Filter, when set, keeps only the objects it returns true for; Limit
	// counts kept objects.
	Filter func(T) bool
	// ReadOnly says the caller only reads the items (encodes them for an
	// answer) and never modifies them: a Cache then hands out the objects
	// it holds, uncopied, which are never modified once held. Without it
	// every item is the caller's own.
	ReadOnly bool
}

// ListResult is one page of a List.
type ListResult[T Object] struct {
	Items []T
	// ResourceVersion is the revision the list was read at.
	ResourceVersion string
	// Continue is set when more items may follow; pass it in
	// ListOptions.Continue for the next page.
	Continue string
	// RemainingItemCount is the number of items after this page, known
	// only for a paged list without Filter.
	RemainingItemCount *int64
}

// continueToken is what an opaque continue string holds (the same shape as
// kube-apiserver's).
type continueToken struct {
	APIVersion string `json:"v"`
	// ResourceVersion is the revision of the first page.
	ResourceVersion int64 `json:"rv"`
	// StartKey is the key to resume at, relative to the list's prefix.
	StartKey string `json:"start"`
}

const continueAPIVersion = "meta.k8s.io/v1"

func encodeContinue(rev int64, startKey string) string {
	b, _ := json.Marshal(continueToken{APIVersion: continueAPIVersion, ResourceVersion: rev, StartKey: startKey})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	switch {
	case t.APIVersion != continueAPIVersion:
		return t, fmt.Errorf("%w: unknown version %q", ErrInvalidContinue, t.APIVersion)
	case t.ResourceVersion <= 0:
		return t, fmt.Errorf("%w: no resource version", ErrInvalidContinue)
	case t.StartKey == "" || strings.HasPrefix(t.StartKey, "/"):
		return t, fmt.Errorf("%w: bad start key", ErrInvalidContinue)
	}
	return t, nil
}

// List returns the objects in namespace ("" = every namespace, and the only
// choice for cluster-scoped resources), in key order, read at one revision.
// All pages of a paged list are read at the revision of the first page, so
// writes between pages do not show; ErrGone once that revision has been
// compacted.
func (s *Store[T]) List(ctx context.Context, namespace string, o ListOptions[T]) (ListResult[T], error) {
	var res ListResult[T]
	prefix, err := s.listPrefix(namespace)
	if err != nil {
		return res, err
	}
	start, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	var rev int64 // 0: the latest, learnt from the first response
	switch {
	case o.Continue != "":
		if o.ResourceVersion != "" && o.ResourceVersion != "0" {
			return res, fmt.Errorf("%w: a resourceVersion may not be given with continue", ErrInvalidContinue)
		}
		t, err := decodeContinue(o.Continue)
		if err != nil {
			return res, err
		}
		start, rev = prefix+t.StartKey, t.ResourceVersion
	case o.ResourceVersion != "" && o.ResourceVersion != "0":
		if rev, err = parseRV(o.ResourceVersion); err != nil {
			return res, err
		}
	}

	paging := o.Limit > 0
	batch := int64(maxListBatch)
	if paging && o.Limit < batch {
		batch = o.Limit
	}
	res.Items = make([]T, 0, min(batch, 1024))
	var (
		lastKey    []byte
		hasMore    bool
		firstCount int64 = -1
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(batch)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, start, opts...)
		if err != nil {
			return ListResult[T]{}, etcdErr(err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		if firstCount < 0 {
			firstCount = resp.Count
		}
		full := false
		for _, kv := range resp.Kvs {
			if paging && int64(len(res.Items)) >= o.Limit {
				full = true
				break
			}
			lastKey = kv.Key
			obj, err := s.decode(kv, kv.ModRevision)
			if err != nil {
				return ListResult[T]{}, err
			}
			if o.Filter == nil || o.Filter(obj) {
				res.Items = append(res.Items, obj)
			}
		}
		if full {
			hasMore = true
			break
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		if paging && int64(len(res.Items)) >= o.Limit {
			hasMore = true
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if o.Filter != nil && batch < maxListBatch {
			// A selective filter: read more at a time, as kube-apiserver does.
			batch = min(batch*2, maxListBatch)
		}
	}

	res.ResourceVersion = strconv.FormatInt(rev, 10)
	if hasMore {
		res.Continue = encodeContinue(rev, strings.TrimPrefix(string(lastKey), prefix)+"\x00")
		if o.Filter == nil {
			n := firstCount - int64(len(res.Items))
			res.RemainingItemCount = &n
		}
	}
	return res, nil
}
