package api

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	autoscalingv2 "github.com/portico-dev/portico/proto/portico/autoscaling/v2"
	certificatesv1 "github.com/portico-dev/portico/proto/portico/certificates/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	flowcontrolv1 "github.com/portico-dev/portico/proto/portico/flowcontrol/v1"
	schedulingv1 "github.com/portico-dev/portico/proto/portico/scheduling/v1"
	storagev1 "github.com/portico-dev/portico/proto/portico/storage/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// TestKindDefaults: each generic kind's defaults, through genericKinds as
// the api runs them, set what kube-apiserver's SetDefaults_* set and keep
// what the object names.
func TestKindDefaults(t *testing.T) {
	never := "Never"
	for _, tc := range []struct {
		key   string
		obj   storage.Object
		check func(storage.Object) bool
	}{
		{"/PersistentVolume", &corev1.PersistentVolume{}, func(o storage.Object) bool {
			pv := o.(*corev1.PersistentVolume)
			return pv.Spec.PersistentVolumeReclaimPolicy == "Retain" && pv.Spec.GetVolumeMode() == "Filesystem" && pv.Status.Phase == "Pending"
		}},
		{"/PersistentVolume", &corev1.PersistentVolume{Spec: &corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: "Delete"}, Status: &corev1.PersistentVolumeStatus{Phase: "Bound"}}, func(o storage.Object) bool {
			pv := o.(*corev1.PersistentVolume)
			return pv.Spec.PersistentVolumeReclaimPolicy == "Delete" && pv.Status.Phase == "Bound"
		}},
		{"/PersistentVolumeClaim", &corev1.PersistentVolumeClaim{}, func(o storage.Object) bool {
			pvc := o.(*corev1.PersistentVolumeClaim)
			return pvc.Spec.GetVolumeMode() == "Filesystem" && pvc.Status.Phase == "Pending"
		}},
		{"scheduling.k8s.io/PriorityClass", &schedulingv1.PriorityClass{}, func(o storage.Object) bool {
			return o.(*schedulingv1.PriorityClass).GetPreemptionPolicy() == "PreemptLowerPriority"
		}},
		{"scheduling.k8s.io/PriorityClass", &schedulingv1.PriorityClass{PreemptionPolicy: &never}, func(o storage.Object) bool {
			return o.(*schedulingv1.PriorityClass).GetPreemptionPolicy() == "Never"
		}},
		{"storage.k8s.io/StorageClass", &storagev1.StorageClass{}, func(o storage.Object) bool {
			sc := o.(*storagev1.StorageClass)
			return sc.GetReclaimPolicy() == "Delete" && sc.GetVolumeBindingMode() == "Immediate"
		}},
		{"storage.k8s.io/CSIDriver", &storagev1.CSIDriver{}, func(o storage.Object) bool {
			s := o.(*storagev1.CSIDriver).Spec
			return s.GetAttachRequired() && s.PodInfoOnMount != nil && !s.GetPodInfoOnMount() && s.GetFsGroupPolicy() == "ReadWriteOnceWithFSType" &&
				len(s.VolumeLifecycleModes) == 1 && s.VolumeLifecycleModes[0] == "Persistent" && s.RequiresRepublish != nil && s.SeLinuxMount != nil
		}},
		{"autoscaling/HorizontalPodAutoscaler", &autoscalingv2.HorizontalPodAutoscaler{}, func(o storage.Object) bool {
			s := o.(*autoscalingv2.HorizontalPodAutoscaler).Spec
			return s.GetMinReplicas() == 1 && len(s.Metrics) == 1 && s.Metrics[0].GetResource().GetName() == "cpu" &&
				s.Metrics[0].GetResource().GetTarget().GetAverageUtilization() == 80
		}},
		{"flowcontrol.apiserver.k8s.io/FlowSchema", &flowcontrolv1.FlowSchema{}, func(o storage.Object) bool {
			return o.(*flowcontrolv1.FlowSchema).Spec.MatchingPrecedence == 1000
		}},
		{"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration", &flowcontrolv1.PriorityLevelConfiguration{Spec: &flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: "Limited", Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: &flowcontrolv1.LimitResponse{Type: "Queue", Queuing: &flowcontrolv1.QueuingConfiguration{}}}}}, func(o storage.Object) bool {
			l := o.(*flowcontrolv1.PriorityLevelConfiguration).Spec.Limited
			q := l.LimitResponse.Queuing
			return l.GetNominalConcurrencyShares() == 30 && l.LendablePercent != nil && q.HandSize == 8 && q.Queues == 64 && q.QueueLengthLimit == 50
		}},
	} {
		rules, ok := genericKinds[tc.key]
		if !ok || rules.defaults == nil {
			t.Fatalf("%s: no defaults in genericKinds", tc.key)
		}
		rules.defaults(tc.obj)
		if !tc.check(tc.obj) {
			t.Errorf("%s: after defaults: %v", tc.key, tc.obj)
		}
	}
}

// TestAdmitCSR: a new request records its caller; an update keeps the
// stored spec.
func TestAdmitCSR(t *testing.T) {
	ctx := identity.WithUser(context.Background(), &authnv1.UserInfo{Username: "alice", Uid: "u1", Groups: []string{"devs"},
		Extra: map[string]*authnv1.ExtraValue{"scope": {Items: []string{"x"}}}})
	csr := &certificatesv1.CertificateSigningRequest{Spec: &certificatesv1.CertificateSigningRequestSpec{Username: "mallory", SignerName: "example.com/s"}}
	if err := admitCSR(ctx, csr, nil); err != nil {
		t.Fatal(err)
	}
	s := csr.Spec
	if s.Username != "alice" || s.Uid != "u1" || len(s.Groups) != 1 || s.Extra["scope"].GetItems()[0] != "x" || s.SignerName != "example.com/s" {
		t.Errorf("create: spec = %v", s)
	}
	next := &certificatesv1.CertificateSigningRequest{Spec: &certificatesv1.CertificateSigningRequestSpec{Username: "bob", SignerName: "other"}}
	if err := admitCSR(ctx, next, csr); err != nil {
		t.Fatal(err)
	}
	if next.Spec.Username != "alice" || next.Spec.SignerName != "example.com/s" {
		t.Errorf("update: spec = %v, want the stored one", next.Spec)
	}
}
