package api

import (
	autoscalingv2 "github.com/portico-dev/portico/proto/portico/autoscaling/v2"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	flowcontrolv1 "github.com/portico-dev/portico/proto/portico/flowcontrol/v1"
	schedulingv1 "github.com/portico-dev/portico/proto/portico/scheduling/v1"
	storagev1 "github.com/portico-dev/portico/proto/portico/storage/v1"
)

// The defaults of the storage, scheduling, autoscaling and flow-control
// kinds, as kube-apiserver's SetDefaults_* (k8s.io/kubernetes
// pkg/apis/<group>/<version>/defaults.go) set them on every create and
// update: the controllers and the scheduler read these fields as set.
// genericKinds runs them.

func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	if pv.Spec == nil {
		pv.Spec = &corev1.PersistentVolumeSpec{}
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = "Retain"
	}
	setDefault(&pv.Spec.VolumeMode, "Filesystem")
	if pv.Status == nil {
		pv.Status = &corev1.PersistentVolumeStatus{}
	}
	if pv.Status.Phase == "" {
		pv.Status.Phase = "Pending"
	}
}

func defaultPersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec == nil {
		pvc.Spec = &corev1.PersistentVolumeClaimSpec{}
	}
	setDefault(&pvc.Spec.VolumeMode, "Filesystem")
	if pvc.Status == nil {
		pvc.Status = &corev1.PersistentVolumeClaimStatus{}
	}
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = "Pending"
	}
}

func defaultPriorityClass(pc *schedulingv1.PriorityClass) {
	setDefault(&pc.PreemptionPolicy, "PreemptLowerPriority")
}

func defaultStorageClass(sc *storagev1.StorageClass) {
	setDefault(&sc.ReclaimPolicy, "Delete")
	setDefault(&sc.VolumeBindingMode, "Immediate")
}

// defaultCSIDriver sets what kube's does with its default feature gates
// (SELinuxMountReadWriteOncePod on, VolumeLimitScaling off).
func defaultCSIDriver(d *storagev1.CSIDriver) {
	if d.Spec == nil {
		d.Spec = &storagev1.CSIDriverSpec{}
	}
	s := d.Spec
	setDefault(&s.AttachRequired, true)
	setDefault(&s.PodInfoOnMount, false)
	setDefault(&s.StorageCapacity, false)
	setDefault(&s.FsGroupPolicy, "ReadWriteOnceWithFSType")
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []string{"Persistent"}
	}
	setDefault(&s.RequiresRepublish, false)
	setDefault(&s.SeLinuxMount, false)
}

// defaultHorizontalPodAutoscaler: at least one replica, and 80% CPU when
// no metric is named. (kube also fills the scaling rules of a behavior
// that names some; not ported.)
func defaultHorizontalPodAutoscaler(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec == nil {
		h.Spec = &autoscalingv2.HorizontalPodAutoscalerSpec{}
	}
	setDefault(&h.Spec.MinReplicas, 1)
	if len(h.Spec.Metrics) == 0 {
		cpu := int32(80)
		h.Spec.Metrics = []*autoscalingv2.MetricSpec{{Type: "Resource", Resource: &autoscalingv2.ResourceMetricSource{
			Name: "cpu", Target: &autoscalingv2.MetricTarget{Type: "Utilization", AverageUtilization: &cpu},
		}}}
	}
}

func defaultFlowSchema(fs *flowcontrolv1.FlowSchema) {
	if fs.Spec == nil {
		fs.Spec = &flowcontrolv1.FlowSchemaSpec{}
	}
	if fs.Spec.MatchingPrecedence == 0 {
		fs.Spec.MatchingPrecedence = 1000
	}
}

func defaultPriorityLevelConfiguration(plc *flowcontrolv1.PriorityLevelConfiguration) {
	s := plc.GetSpec()
	if l := s.GetLimited(); l != nil {
		setDefault(&l.NominalConcurrencyShares, 30)
		setDefault(&l.LendablePercent, 0)
		if q := l.GetLimitResponse().GetQueuing(); q != nil {
			if q.HandSize == 0 {
				q.HandSize = 8
			}
			if q.Queues == 0 {
				q.Queues = 64
			}
			if q.QueueLengthLimit == 0 {
				q.QueueLengthLimit = 50
			}
		}
	}
	if e := s.GetExempt(); e != nil {
		setDefault(&e.NominalConcurrencyShares, 0)
		setDefault(&e.LendablePercent, 0)
	}
}
