package api

import (
	"context"

	coordinationv1 "github.com/portico-dev/portico/proto/portico/coordination/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/noderestriction"
)

// nodeRestrictionHooks puts kube's NodeRestriction admission on the
// writes of pods and nodes: every create, update, patch, status write
// and delete by a kubelet passes it (serviceaccounts/token too, in
// createServiceAccountToken).
func (s *Service) nodeRestrictionHooks(pods *resource[*corev1.Pod], nodes *resource[*corev1.Node], leases *resource[*coordinationv1.Lease]) {
	s.nodeRestriction = noderestriction.New(storedObjects{pods: pods, nodes: nodes})
	pods.admit = s.nodeRestriction.Pod
	pods.admitDelete = s.nodeRestriction.PodDelete
	pods.admitStatus = s.nodeRestriction.PodStatus
	nodes.admit = s.nodeRestriction.Node
	nodes.admitDelete = s.nodeRestriction.NodeDelete
	nodes.admitStatus = s.nodeRestriction.Node
	leases.admit = func(ctx context.Context, l, _ *coordinationv1.Lease) error {
		return s.nodeRestriction.Lease(ctx, l.GetMetadata().GetNamespace(), l.GetMetadata().GetName())
	}
	leases.admitDelete = func(ctx context.Context, l *coordinationv1.Lease) error {
		return s.nodeRestriction.Lease(ctx, l.GetMetadata().GetNamespace(), l.GetMetadata().GetName())
	}
}

// storedObjects reads pods and nodes from storage for the admission
// checks (noderestriction.Getter).
type storedObjects struct {
	pods  *resource[*corev1.Pod]
	nodes *resource[*corev1.Node]
}

func (o storedObjects) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return o.pods.get(ctx, namespace, name)
}

func (o storedObjects) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	return o.nodes.get(ctx, "", name)
}
