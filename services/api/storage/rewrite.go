package storage

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// rewriteBatch is how many keys RewriteStale reads at a time.
const rewriteBatch = 500

// RewriteStale stores again, with the transformer's current write
// provider and key, every object of the store whose stored value another
// one wrote (an older key, another provider, or none): the last step of an
// encryption key rotation, which kube-apiserver leaves to
// `kubectl get secrets -A -o json | kubectl replace -f -`. The encoding is
// written back byte for byte; only its stored form and its
// resourceVersion change, and watchers see a MODIFIED event.
//
// Each write is a compare-and-swap on the revision just read, so a
// concurrent write is never lost: a key that changed in between is read
// again, and left alone when its new value is current already. It
// returns how many objects it wrote; a store without a transformer has
// nothing to rewrite. A value that cannot be read stops it with an error
// naming the key.
func (s *Store[T]) RewriteStale(ctx context.Context) (int, error) {
	if s.transformer == nil {
		return 0, nil
	}
	n := 0
	start, end := s.prefix, clientv3.GetPrefixRangeEnd(s.prefix)
	for {
		resp, err := s.client.Get(ctx, start, clientv3.WithRange(end), clientv3.WithLimit(rewriteBatch))
		if err != nil {
			return n, etcdErr(err)
		}
		for _, kv := range resp.Kvs {
			wrote, err := s.rewriteKey(ctx, kv)
			if err != nil {
				return n, err
			}
			if wrote {
				n++
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return n, nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// rewriteKey rewrites one key when its value, kv or a newer one, is stale.
func (s *Store[T]) rewriteKey(ctx context.Context, kv *mvccpb.KeyValue) (bool, error) {
	key := string(kv.Key)
	for {
		data, stale, err := s.fromStorage(kv)
		if err != nil {
			return false, err
		}
		if !stale {
			return false, nil
		}
		sv, err := s.toStorage(key, data)
		if err != nil {
			return false, err
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, sv)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return false, etcdErr(err)
		}
		if resp.Succeeded {
			return true, nil
		}
		// Written or deleted in between: look at what is there now.
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return false, nil
		}
		kv = kvs[0]
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("storage: rewrite %s: %w", key, err)
		}
	}
}
