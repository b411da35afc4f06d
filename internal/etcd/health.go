package etcd

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Healthy is `etcdctl endpoint health`'s probe: a quorum read of the key
// "health". Permission denied still proves the cluster answers and has a
// leader.
func Healthy(ctx context.Context, c *clientv3.Client) error {
	if _, err := c.Get(ctx, "health"); err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		return err
	}
	return nil
}
