package accounts

import (
	"context"

	"google.golang.org/grpc"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

// The sources: each kind's Get, List and Watch, and whose cached answers
// go with an object. Every call waits for the connection to the api
// (WaitForReady): right after a start it may be in its reconnect backoff,
// and a good token should not be refused for that.

func serviceAccountSource(c Client) source {
	itemOf := func(sa *corev1.ServiceAccount) item {
		m := sa.GetMetadata()
		return item{key: keyOf(m), obj: objectOf(m), users: []string{serviceaccount.Username(m.GetNamespace(), m.GetName())}}
	}
	return source{
		kind: serviceaccount.KindServiceAccount, always: true,
		get: func(ctx context.Context, ns, name string) (item, error) {
			resp, err := c.GetServiceAccount(ctx, &corev1.GetServiceAccountRequest{Namespace: ns, Name: name}, grpc.WaitForReady(true))
			return itemOf(resp.GetServiceAccount()), err
		},
		list: func(ctx context.Context, cont string) ([]item, string, string, error) {
			resp, err := c.ListServiceAccounts(ctx, &corev1.ListServiceAccountsRequest{Limit: ListPageSize, Continue: cont}, grpc.WaitForReady(true))
			return itemsOf(resp.GetItems(), itemOf), resp.GetMetadata().GetResourceVersion(), resp.GetMetadata().GetContinue(), err
		},
		watch: func(ctx context.Context, rv string) (func() (event, error), error) {
			stream, err := c.WatchServiceAccounts(ctx, &corev1.WatchServiceAccountsRequest{ResourceVersion: rv, AllowWatchBookmarks: true}, grpc.WaitForReady(true))
			return recvOf(stream, err, (*corev1.WatchServiceAccountsResponse).GetType, (*corev1.WatchServiceAccountsResponse).GetObject, itemOf)
		},
	}
}

// podSource: a pod-bound token's account is the pod's, so only that
// account's cached answers go with the pod.
func podSource(c PodClient) source {
	itemOf := func(p *corev1.Pod) item {
		m := p.GetMetadata()
		it := item{key: keyOf(m), obj: objectOf(m)}
		if sa := p.GetSpec().GetServiceAccountName(); sa != "" {
			it.users = []string{serviceaccount.Username(m.GetNamespace(), sa)}
		}
		return it
	}
	return source{
		kind: serviceaccount.KindPod,
		get: func(ctx context.Context, ns, name string) (item, error) {
			resp, err := c.GetPod(ctx, &corev1.GetPodRequest{Namespace: ns, Name: name}, grpc.WaitForReady(true))
			return itemOf(resp.GetPod()), err
		},
		list: func(ctx context.Context, cont string) ([]item, string, string, error) {
			resp, err := c.ListPods(ctx, &corev1.ListPodsRequest{Limit: ListPageSize, Continue: cont}, grpc.WaitForReady(true))
			return itemsOf(resp.GetItems(), itemOf), resp.GetMetadata().GetResourceVersion(), resp.GetMetadata().GetContinue(), err
		},
		watch: func(ctx context.Context, rv string) (func() (event, error), error) {
			stream, err := c.WatchPods(ctx, &corev1.WatchPodsRequest{ResourceVersion: rv, AllowWatchBookmarks: true}, grpc.WaitForReady(true))
			return recvOf(stream, err, (*corev1.WatchPodsResponse).GetType, (*corev1.WatchPodsResponse).GetObject, itemOf)
		},
	}
}

// secretSource: any account of the namespace may have a token bound to a
// secret, so everyone's cached answers go with a secret tokens named.
func secretSource(c SecretClient) source {
	itemOf := func(s *corev1.Secret) item {
		m := s.GetMetadata()
		return item{key: keyOf(m), obj: objectOf(m), all: true}
	}
	return source{
		kind: serviceaccount.KindSecret,
		get: func(ctx context.Context, ns, name string) (item, error) {
			resp, err := c.GetSecret(ctx, &corev1.GetSecretRequest{Namespace: ns, Name: name}, grpc.WaitForReady(true))
			return itemOf(resp.GetSecret()), err
		},
		list: func(ctx context.Context, cont string) ([]item, string, string, error) {
			resp, err := c.ListSecrets(ctx, &corev1.ListSecretsRequest{Limit: ListPageSize, Continue: cont}, grpc.WaitForReady(true))
			return itemsOf(resp.GetItems(), itemOf), resp.GetMetadata().GetResourceVersion(), resp.GetMetadata().GetContinue(), err
		},
		watch: func(ctx context.Context, rv string) (func() (event, error), error) {
			stream, err := c.WatchSecrets(ctx, &corev1.WatchSecretsRequest{ResourceVersion: rv, AllowWatchBookmarks: true}, grpc.WaitForReady(true))
			return recvOf(stream, err, (*corev1.WatchSecretsResponse).GetType, (*corev1.WatchSecretsResponse).GetObject, itemOf)
		},
	}
}

// nodeSource: like secrets, a node's tokens may be any account's.
func nodeSource(c NodeClient) source {
	itemOf := func(n *corev1.Node) item {
		m := n.GetMetadata()
		return item{key: "/" + m.GetName(), obj: objectOf(m), all: true}
	}
	return source{
		kind: serviceaccount.KindNode,
		get: func(ctx context.Context, _, name string) (item, error) {
			resp, err := c.GetNode(ctx, &corev1.GetNodeRequest{Name: name}, grpc.WaitForReady(true))
			return itemOf(resp.GetNode()), err
		},
		list: func(ctx context.Context, cont string) ([]item, string, string, error) {
			resp, err := c.ListNodes(ctx, &corev1.ListNodesRequest{Limit: ListPageSize, Continue: cont}, grpc.WaitForReady(true))
			return itemsOf(resp.GetItems(), itemOf), resp.GetMetadata().GetResourceVersion(), resp.GetMetadata().GetContinue(), err
		},
		watch: func(ctx context.Context, rv string) (func() (event, error), error) {
			stream, err := c.WatchNodes(ctx, &corev1.WatchNodesRequest{ResourceVersion: rv, AllowWatchBookmarks: true}, grpc.WaitForReady(true))
			return recvOf(stream, err, (*corev1.WatchNodesResponse).GetType, (*corev1.WatchNodesResponse).GetObject, itemOf)
		},
	}
}

func itemsOf[T any](objs []T, itemOf func(T) item) []item {
	out := make([]item, len(objs))
	for i, o := range objs {
		out[i] = itemOf(o)
	}
	return out
}

// recvOf turns a kind's watch stream into events.
func recvOf[R any, T any](stream grpc.ServerStreamingClient[R], err error, typ func(*R) string, obj func(*R) T, itemOf func(T) item) (func() (event, error), error) {
	if err != nil {
		return nil, err
	}
	return func() (event, error) {
		ev, err := stream.Recv()
		if err != nil {
			return event{}, err
		}
		return event{typ: typ(ev), it: itemOf(obj(ev))}, nil
	}, nil
}
