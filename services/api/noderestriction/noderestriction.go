// Package noderestriction is kube-apiserver's NodeRestriction admission
// plug-in: what a kubelet (system:node:<name> in system:nodes) may write,
// beyond what authorization lets it. A kubelet
//   - creates and updates only its own Node, never setting or changing
//     node-role.kubernetes.io/*, node-restriction.kubernetes.io/* or any
//     other kubernetes.io / k8s.io label but the kubelet's own, never
//     changing its taints after registration or setting a configSource;
//   - creates only mirror pods bound to itself, owned by its Node, that
//     name no service account, secret, config map or claim; deletes, and
//     writes the status of, only pods bound to itself;
//   - asks for service-account tokens only bound to a pod of its own.
//
// Every other user is let through. The refusals are 403 in kube's words:
// `<resource> "<name>" is forbidden: <reason>`.
package noderestriction

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/podrefs"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// MirrorPodAnnotation marks a pod the kubelet runs from a static manifest.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// Getter reads the current objects the rules check against. A missing
// object is a NotFound error (apierrors).
type Getter interface {
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// Admission applies the rules to the user of a request's context.
type Admission struct {
	get Getter
}

// New returns the admission over g.
func New(g Getter) *Admission { return &Admission{get: g} }

// nodeOf is the node the requester is the kubelet of. isNode is false for
// every other user; a kubelet whose name is empty is refused.
func nodeOf(ctx context.Context, resource, name string) (node string, isNode bool, err error) {
	u, ok := identity.UserFrom(ctx)
	if !ok {
		return "", false, nil
	}
	node, isNode = identity.NodeName(u)
	if isNode && node == "" {
		return "", true, forbidden(resource, name, fmt.Sprintf("could not determine node from user %q", u.GetUsername()))
	}
	return node, isNode, nil
}

// forbidden is kube's admission refusal.
func forbidden(resource, name, why string) error {
	msg := fmt.Sprintf("%s %q is forbidden: %s", resource, name, why)
	if name == "" {
		msg = fmt.Sprintf("%s is forbidden: %s", resource, why)
	}
	return apierrors.Forbidden("", resource, name, msg)
}

// lookupErr is a failed lookup as kube answers it: NotFound as it is,
// anything else a refusal.
func lookupErr(resource, name string, err error) error {
	if apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
		return err
	}
	return forbidden(resource, name, err.Error())
}

// Pod admits a pod's create (old nil) or update.
func (a *Admission) Pod(ctx context.Context, pod, old *corev1.Pod) error {
	name := pod.GetMetadata().GetName()
	node, isNode, err := nodeOf(ctx, podrefs.Pods, name)
	if !isNode || err != nil {
		return err
	}
	if old != nil {
		return forbidden(podrefs.Pods, name, fmt.Sprintf("unexpected operation %q, node %q can only create and delete mirror pods", "UPDATE", node))
	}
	return a.podCreate(ctx, node, pod)
}

func (a *Admission) podCreate(ctx context.Context, node string, pod *corev1.Pod) error {
	name := pod.GetMetadata().GetName()
	refuse := func(format string, args ...any) error {
		return forbidden(podrefs.Pods, name, fmt.Sprintf(format, args...))
	}
	if _, mirror := pod.GetMetadata().GetAnnotations()[MirrorPodAnnotation]; !mirror {
		return refuse("pod does not have %q annotation, node %q can only create mirror pods", MirrorPodAnnotation, node)
	}
	if pod.GetSpec().GetNodeName() != node {
		return refuse("node %q can only create pods with spec.nodeName set to itself", node)
	}
	owners := pod.GetMetadata().GetOwnerReferences()
	switch {
	case len(owners) > 1:
		return refuse("node %q can only create pods with a single owner reference set to itself", node)
	case len(owners) == 0:
		return refuse("node %q can only create pods with an owner reference set to itself", node)
	}
	owner := owners[0]
	switch {
	case owner.GetApiVersion() != "v1" || owner.GetKind() != "Node" || owner.GetName() != node:
		return refuse("node %q can only create pods with an owner reference set to itself", node)
	case !owner.GetController():
		return refuse("node %q can only create pods with a controller owner reference set to itself", node)
	case owner.GetBlockOwnerDeletion():
		return refuse("node %q must not set blockOwnerDeletion on an owner reference", node)
	}
	n, err := a.get.GetNode(ctx, node)
	if err != nil {
		if apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
			return err
		}
		return refuse("error looking up node %s to verify uid: %v", node, err)
	}
	if uid := n.GetMetadata().GetUid(); owner.GetUid() != uid {
		return refuse("node %s UID mismatch: expected %s got %s", node, owner.GetUid(), uid)
	}
	if pod.GetSpec().GetServiceAccountName() != "" || pod.GetSpec().GetServiceAccount() != "" {
		return refuse("node %q can not create pods that reference a service account", node)
	}
	var secrets, configMaps bool
	for _, r := range podrefs.Of(pod) {
		secrets = secrets || r.Resource == podrefs.Secrets
		configMaps = configMaps || r.Resource == podrefs.ConfigMaps
	}
	if secrets {
		return refuse("node %q can not create pods that reference secrets", node)
	}
	if configMaps {
		return refuse("node %q can not create pods that reference configmaps", node)
	}
	for _, v := range pod.GetSpec().GetVolumes() {
		for _, src := range v.GetVolumeSource().GetProjected().GetSources() {
			if src.GetClusterTrustBundle() != nil {
				return refuse("node %q can not create pods that reference clustertrustbundles", node)
			}
		}
	}
	for _, v := range pod.GetSpec().GetVolumes() {
		if v.GetVolumeSource().GetPersistentVolumeClaim() != nil {
			return refuse("node %q can not create pods that reference persistentvolumeclaims", node)
		}
	}
	return nil
}

// PodDelete admits the delete of pod (as stored).
func (a *Admission) PodDelete(ctx context.Context, pod *corev1.Pod) error {
	name := pod.GetMetadata().GetName()
	node, isNode, err := nodeOf(ctx, podrefs.Pods, name)
	if !isNode || err != nil {
		return err
	}
	if pod.GetSpec().GetNodeName() != node {
		return forbidden(podrefs.Pods, name, fmt.Sprintf("node %q can only delete pods with spec.nodeName set to itself", node))
	}
	return nil
}

// PodStatus admits a write of pods/status: pod is the result, old the
// stored pod.
func (a *Admission) PodStatus(ctx context.Context, pod, old *corev1.Pod) error {
	name := old.GetMetadata().GetName()
	node, isNode, err := nodeOf(ctx, podrefs.Pods, name)
	if !isNode || err != nil {
		return err
	}
	if old.GetSpec().GetNodeName() != node {
		return forbidden(podrefs.Pods, name, fmt.Sprintf("node %q can only update pod status for pods with spec.nodeName set to itself", node))
	}
	if !maps.Equal(pod.GetMetadata().GetLabels(), old.GetMetadata().GetLabels()) {
		return forbidden(podrefs.Pods, name, fmt.Sprintf("node %q cannot update labels through pod status", node))
	}
	return nil
}

// Node admits a Node's create (old nil), update, or status write.
func (a *Admission) Node(ctx context.Context, obj, old *corev1.Node) error {
	name := obj.GetMetadata().GetName()
	node, isNode, err := nodeOf(ctx, "nodes", name)
	if !isNode || err != nil {
		return err
	}
	if name != node {
		return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to modify node %q", node, name))
	}
	if old == nil {
		if obj.GetSpec().GetConfigSource() != nil {
			return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to create pods with a non-nil configSource", node))
		}
		if bad := forbiddenLabels(obj.GetMetadata().GetLabels(), nil); len(bad) > 0 {
			return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", ")))
		}
		return nil
	}
	if cs := obj.GetSpec().GetConfigSource(); cs != nil && !proto.Equal(cs, old.GetSpec().GetConfigSource()) {
		return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to update configSource to a new non-nil configSource", node))
	}
	if !slices.EqualFunc(obj.GetSpec().GetTaints(), old.GetSpec().GetTaints(), func(x, y *corev1.Taint) bool { return proto.Equal(x, y) }) {
		return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to modify taints", node))
	}
	if bad := forbiddenLabels(obj.GetMetadata().GetLabels(), old.GetMetadata().GetLabels()); len(bad) > 0 {
		return forbidden("nodes", name, "is not allowed to modify labels: "+strings.Join(bad, ", "))
	}
	return nil
}

// NodeDelete admits the delete of a Node: a kubelet's own only.
func (a *Admission) NodeDelete(ctx context.Context, obj *corev1.Node) error {
	name := obj.GetMetadata().GetName()
	node, isNode, err := nodeOf(ctx, "nodes", name)
	if !isNode || err != nil {
		return err
	}
	if name != node {
		return forbidden("nodes", name, fmt.Sprintf("node %q is not allowed to modify node %q", node, name))
	}
	return nil
}

// NodeLeaseNamespace is where kubelets keep their heartbeat leases.
const NodeLeaseNamespace = "kube-node-lease"

// Lease admits a kubelet's write of a Lease (create, update, delete): only
// its own, named as the node, in kube-node-lease.
func (a *Admission) Lease(ctx context.Context, namespace, name string) error {
	const resource = "leases.coordination.k8s.io"
	node, isNode, err := nodeOf(ctx, resource, name)
	if !isNode || err != nil {
		return err
	}
	if namespace != NodeLeaseNamespace {
		return forbidden(resource, name, fmt.Sprintf("can only access leases in the %q system namespace", NodeLeaseNamespace))
	}
	if name != node {
		return forbidden(resource, name, "can only access node lease with the same name as the requesting node")
	}
	return nil
}

// TokenRequest admits a serviceaccounts/token create for the account
// name in namespace: a kubelet's token must be bound to one of its pods,
// named with its UID.
func (a *Admission) TokenRequest(ctx context.Context, namespace, name string, spec *corev1.TokenRequestSpec) error {
	const resource = "serviceaccounts"
	node, isNode, err := nodeOf(ctx, resource, name)
	if !isNode || err != nil {
		return err
	}
	ref := spec.GetBoundObjectRef()
	if ref == nil || ref.GetApiVersion() != "v1" || ref.GetKind() != "Pod" || ref.GetName() == "" {
		return forbidden(resource, name, "node requested token not bound to a pod")
	}
	if ref.GetUid() == "" {
		return forbidden(resource, name, "node requested token with a pod binding without a uid")
	}
	pod, err := a.get.GetPod(ctx, namespace, ref.GetName())
	if err != nil {
		return lookupErr(resource, name, err)
	}
	if ref.GetUid() != pod.GetMetadata().GetUid() {
		return forbidden(resource, name, fmt.Sprintf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.GetUid()))
	}
	if pod.GetSpec().GetNodeName() != node {
		return forbidden(resource, name, "node requested token bound to a pod scheduled on a different node")
	}
	return nil
}
