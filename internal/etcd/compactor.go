package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CompactRevKey is the key by which the api replicas (and any
// kube-apiserver on the same etcd, which uses the same key) agree on who
// compacts: its version counts the compactions decided, its value is the
// revision the next one compacts to.
const CompactRevKey = "compact_rev_key"

// DefaultCompactionInterval is kube-apiserver's --etcd-compaction-interval.
const DefaultCompactionInterval = 5 * time.Minute

// Compactor keeps an external etcd's history bounded, as kube-apiserver
// does: every interval, etcd is compacted to the revision it had one
// interval earlier, so a watch may resume from anything newer than one
// interval ago. Several replicas run it at once and etcd is still
// compacted once per interval: each tick is a compare-and-swap on
// CompactRevKey's version, and only the replica whose swap succeeds
// compacts; the others learn the version and try at the next tick.
type Compactor struct {
	client *clientv3.Client
	log    *slog.Logger

	version int64 // of CompactRevKey, as this replica last knew it
	rev     int64 // the revision recorded at the last decided tick
}

// NewCompactor returns a compactor of client; log gets its failures.
func NewCompactor(client *clientv3.Client, log *slog.Logger) *Compactor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Compactor{client: client, log: log}
}

// Run ticks every interval until ctx ends. A failed tick is logged and
// tried again at the next one.
func (c *Compactor) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tctx, cancel := context.WithTimeout(ctx, interval)
			compacted, err := c.Tick(tctx)
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				c.log.Warn("etcd compaction failed; trying again at the next interval", "error", err, "interval", interval)
			case compacted > 0:
				c.log.Debug("etcd compacted", "revision", compacted)
			}
		}
	}
}

// Tick is one interval's step: when this replica wins the swap, it
// records etcd's current revision for the next tick and compacts to
// the one recorded at the previous tick (nothing on the first). It
// returns the revision compacted to, 0 when none.
func (c *Compactor) Tick(ctx context.Context) (int64, error) {
	resp, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(CompactRevKey), "=", c.version)).
		Then(clientv3.OpPut(CompactRevKey, "")).
		Else(clientv3.OpGet(CompactRevKey)).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd compaction: %w", err)
	}
	if !resp.Succeeded {
		// Another replica decided this interval (or this one restarted):
		// take its version, and its recorded revision as ours to compact
		// to next time.
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		c.version, c.rev = 0, 0
		if len(kvs) == 1 {
			c.version = kvs[0].Version
			c.rev = kvs[0].ModRevision
		}
		return 0, nil
	}
	// The put's revision is the current one: the next tick compacts to it.
	prev := c.rev
	c.version++
	c.rev = resp.Header.Revision
	if prev == 0 {
		return 0, nil
	}
	if _, err := c.client.Compact(ctx, prev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return 0, fmt.Errorf("etcd compaction to %d: %w", prev, err)
	}
	return prev, nil
}
