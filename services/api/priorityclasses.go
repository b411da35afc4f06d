package api

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	schedulingv1 "github.com/portico-dev/portico/proto/portico/scheduling/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// storageListGlobalDefault lists the priority classes marked the global
// default.
var storageListGlobalDefault = storage.ListOptions[storage.Object]{Filter: func(o storage.Object) bool {
	return o.(*schedulingv1.PriorityClass).GetGlobalDefault()
}}

// systemCriticalPriority is kube's scheduling.SystemCriticalPriority.
const systemCriticalPriority = 2_000_000_000

// systemPriorityClasses are the priority classes kube-apiserver makes at
// start (k8s.io/kubernetes pkg/apis/scheduling SystemPriorityClasses).
func systemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{Metadata: &corev1.ObjectMeta{Name: "system-node-critical"}, Value: systemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node."},
		{Metadata: &corev1.ObjectMeta{Name: "system-cluster-critical"}, Value: systemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	}
}

// EnsureSystemPriorityClasses creates the system priority classes that
// are missing; one that exists is left as it is, as kube-apiserver does.
func (s *Service) EnsureSystemPriorityClasses(ctx context.Context) error {
	if s.priorityClasses == nil {
		return nil
	}
	ctx = context.WithValue(ctx, bootstrapKey{}, true)
	for _, pc := range systemPriorityClasses() {
		_, err := s.priorityClasses.create(ctx, "", pc, writeOptions{manager: managerAPIServer})
		if err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			return fmt.Errorf("creating priority class %s: %w", pc.GetMetadata().GetName(), err)
		}
	}
	return nil
}

// admitPodPriority is kube's Priority admission on a new pod: its
// priority (and preemption policy) are its PriorityClass's, or the
// global default class's when it names none, else 0; a class that does
// not exist is refused.
func (s *Service) admitPodPriority(ctx context.Context, p, old *corev1.Pod) error {
	if old != nil || s.priorityClasses == nil {
		return nil
	}
	sp := p.GetSpec()
	var class *schedulingv1.PriorityClass
	if name := sp.GetPriorityClassName(); name != "" {
		obj, err := s.priorityClasses.get(ctx, "", name)
		if apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
			return apierrors.Forbidden("", "pods", p.GetMetadata().GetName(),
				fmt.Sprintf("pods %q is forbidden: no PriorityClass with name %s was found", p.GetMetadata().GetName(), name))
		}
		if err != nil {
			return err
		}
		class = obj.(*schedulingv1.PriorityClass)
	} else {
		res, err := s.priorityClasses.store.List(ctx, "", storageListGlobalDefault)
		if err != nil {
			return s.priorityClasses.err(err, "")
		}
		for _, obj := range res.Items {
			// kube takes the lowest-valued of several defaults.
			if pc := obj.(*schedulingv1.PriorityClass); class == nil || pc.GetValue() < class.GetValue() {
				class = pc
			}
		}
		if class != nil {
			sp.PriorityClassName = class.GetMetadata().GetName()
		}
	}
	if class == nil {
		return nil
	}
	v := class.GetValue()
	sp.Priority = &v
	if pol := class.GetPreemptionPolicy(); pol != "" {
		sp.PreemptionPolicy = &pol
	}
	return nil
}
