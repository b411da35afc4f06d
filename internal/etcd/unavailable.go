package etcd

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnavailableError is etcd unable to answer now: no leader, no quorum,
// a proposal or read that timed out, no member reachable. Whether a
// write took effect is unknown. It is also context.DeadlineExceeded, so
// storage's callers answer it as kube-apiserver answers a request that
// did not finish in time (504 Timeout), never as an internal error (500)
// that would suggest the request itself was at fault.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "etcd cannot answer now: " + e.Err.Error() }

// Unwrap is the cause and context.DeadlineExceeded.
func (e *UnavailableError) Unwrap() []error { return []error{e.Err, context.DeadlineExceeded} }

// classify wraps the errors that mean etcd cannot answer now in an
// UnavailableError; every other error (a compacted revision, permission
// denied, a cancelled caller) is returned as is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var u *UnavailableError
	if errors.As(err, &u) || errors.Is(err, context.Canceled) {
		return err
	}
	switch rpctypes.Error(err) {
	case rpctypes.ErrNoLeader, rpctypes.ErrLeaderChanged, rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail,
		rpctypes.ErrTimeoutDueToConnectionLost, rpctypes.ErrTimeoutWaitAppliedIndex:
		return &UnavailableError{Err: err}
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return &UnavailableError{Err: err}
	}
	return err
}

// classifyingKV is a KV whose errors pass through classify, wrapped
// around the client's as etcd's own namespace.NewKV is.
type classifyingKV struct{ clientv3.KV }

func (k classifyingKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	r, err := k.KV.Put(ctx, key, val, opts...)
	return r, classify(err)
}

func (k classifyingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	r, err := k.KV.Get(ctx, key, opts...)
	return r, classify(err)
}

func (k classifyingKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	r, err := k.KV.Delete(ctx, key, opts...)
	return r, classify(err)
}

func (k classifyingKV) Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error) {
	r, err := k.KV.Compact(ctx, rev, opts...)
	return r, classify(err)
}

func (k classifyingKV) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	r, err := k.KV.Do(ctx, op)
	return r, classify(err)
}

func (k classifyingKV) Txn(ctx context.Context) clientv3.Txn { return classifyingTxn{k.KV.Txn(ctx)} }

type classifyingTxn struct{ clientv3.Txn }

func (t classifyingTxn) If(cs ...clientv3.Cmp) clientv3.Txn { return classifyingTxn{t.Txn.If(cs...)} }

func (t classifyingTxn) Then(ops ...clientv3.Op) clientv3.Txn {
	return classifyingTxn{t.Txn.Then(ops...)}
}

func (t classifyingTxn) Else(ops ...clientv3.Op) clientv3.Txn {
	return classifyingTxn{t.Txn.Else(ops...)}
}

func (t classifyingTxn) Commit() (*clientv3.TxnResponse, error) {
	r, err := t.Txn.Commit()
	return r, classify(err)
}
