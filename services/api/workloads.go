package api

import (
	"maps"

	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	batchv1 "github.com/portico-dev/portico/proto/portico/batch/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// The workload kinds' defaults, as kube-apiserver's (k8s.io/kubernetes
// pkg/apis/apps/v1 and batch/v1 SetDefaults_*): the controllers that run
// them read these fields without checking them (a Deployment without a
// strategy type is never rolled out). Their pod templates get a pod's
// defaults. genericKinds runs them.

func setDefault[V any](p **V, v V) {
	if *p == nil {
		*p = &v
	}
}

func percent(s string) *corev1.IntOrString { return &corev1.IntOrString{Type: 1, StrVal: s} }
func count(n int32) *corev1.IntOrString    { return &corev1.IntOrString{IntVal: n} }

func defaultReplicationController(rc *corev1.ReplicationController) {
	if rc.Spec == nil {
		rc.Spec = &corev1.ReplicationControllerSpec{}
	}
	setDefault(&rc.Spec.Replicas, 1)
	defaultTemplate(rc.Spec.Template)
	// An RC without labels or a selector takes its template's labels
	// (kube's SetDefaults_ReplicationController).
	if labels := rc.Spec.GetTemplate().GetMetadata().GetLabels(); len(labels) > 0 {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = maps.Clone(labels)
		}
		if m := metaOf(rc); len(m.Labels) == 0 {
			m.Labels = maps.Clone(labels)
		}
	}
}

// defaultTemplate gives a pod template a pod spec's defaults.
func defaultTemplate(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	if t.Spec == nil {
		t.Spec = &corev1.PodSpec{}
	}
	defaultPodSpec(t.Spec)
}

func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	s := d.Spec
	setDefault(&s.Replicas, 1)
	if s.Strategy == nil {
		s.Strategy = &appsv1.DeploymentStrategy{}
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = "RollingUpdate"
	}
	if s.Strategy.Type == "RollingUpdate" {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.Strategy.RollingUpdate.MaxUnavailable == nil {
			s.Strategy.RollingUpdate.MaxUnavailable = percent("25%")
		}
		if s.Strategy.RollingUpdate.MaxSurge == nil {
			s.Strategy.RollingUpdate.MaxSurge = percent("25%")
		}
	}
	setDefault(&s.RevisionHistoryLimit, 10)
	setDefault(&s.ProgressDeadlineSeconds, 600)
	defaultTemplate(s.Template)
}

func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec == nil {
		rs.Spec = &appsv1.ReplicaSetSpec{}
	}
	setDefault(&rs.Spec.Replicas, 1)
	defaultTemplate(rs.Spec.Template)
}

func defaultStatefulSet(ss *appsv1.StatefulSet) {
	if ss.Spec == nil {
		ss.Spec = &appsv1.StatefulSetSpec{}
	}
	s := ss.Spec
	setDefault(&s.Replicas, 1)
	if s.PodManagementPolicy == "" {
		s.PodManagementPolicy = "OrderedReady"
	}
	if s.UpdateStrategy == nil {
		s.UpdateStrategy = &appsv1.StatefulSetUpdateStrategy{}
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = "RollingUpdate"
	}
	if s.UpdateStrategy.Type == "RollingUpdate" {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
		setDefault(&s.UpdateStrategy.RollingUpdate.Partition, 0)
	}
	if s.PersistentVolumeClaimRetentionPolicy == nil {
		s.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := s.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = "Retain"
	}
	if p := s.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = "Retain"
	}
	setDefault(&s.RevisionHistoryLimit, 10)
	defaultTemplate(s.Template)
}

func defaultDaemonSet(ds *appsv1.DaemonSet) {
	if ds.Spec == nil {
		ds.Spec = &appsv1.DaemonSetSpec{}
	}
	s := ds.Spec
	if s.UpdateStrategy == nil {
		s.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{}
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = "RollingUpdate"
	}
	if s.UpdateStrategy.Type == "RollingUpdate" {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if s.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			s.UpdateStrategy.RollingUpdate.MaxUnavailable = count(1)
		}
		if s.UpdateStrategy.RollingUpdate.MaxSurge == nil {
			s.UpdateStrategy.RollingUpdate.MaxSurge = count(0)
		}
	}
	setDefault(&s.RevisionHistoryLimit, 10)
	defaultTemplate(s.Template)
}

func defaultJob(s *batchv1.JobSpec) {
	if s == nil {
		return
	}
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = new(int32(1))
	}
	setDefault(&s.Parallelism, 1)
	if s.BackoffLimitPerIndex == nil {
		setDefault(&s.BackoffLimit, 6)
	} else {
		setDefault(&s.BackoffLimit, 1<<31-1)
	}
	setDefault(&s.CompletionMode, "NonIndexed")
	setDefault(&s.Suspend, false)
	if s.PodFailurePolicy != nil {
		setDefault(&s.PodReplacementPolicy, "Failed")
	} else {
		setDefault(&s.PodReplacementPolicy, "TerminatingOrFailed")
	}
	setDefault(&s.ManualSelector, false)
	defaultTemplate(s.Template)
}

func defaultCronJob(cj *batchv1.CronJob) {
	if cj.Spec == nil {
		cj.Spec = &batchv1.CronJobSpec{}
	}
	s := cj.Spec
	if s.ConcurrencyPolicy == "" {
		s.ConcurrencyPolicy = "Allow"
	}
	setDefault(&s.Suspend, false)
	setDefault(&s.SuccessfulJobsHistoryLimit, 3)
	setDefault(&s.FailedJobsHistoryLimit, 1)
	if s.JobTemplate != nil {
		defaultJob(s.JobTemplate.Spec)
	}
}

// jobSelector is kube's generateSelector for a Job created without
// manualSelector: a selector on the Job's uid, and the labels it selects
// on the pod template.
func jobSelector(j *batchv1.Job) {
	s := j.GetSpec()
	if s == nil || s.GetManualSelector() {
		return
	}
	uid, name := j.GetMetadata().GetUid(), j.GetMetadata().GetName()
	if s.Template == nil {
		s.Template = &corev1.PodTemplateSpec{}
	}
	if s.Template.Metadata == nil {
		s.Template.Metadata = &corev1.ObjectMeta{}
	}
	labels := s.Template.Metadata.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range map[string]string{
		"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
		"controller-uid": uid, "job-name": name,
	} {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	s.Template.Metadata.Labels = labels
	if s.Selector == nil {
		s.Selector = &corev1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": uid}}
	}
}
