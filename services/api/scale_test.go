package api

import (
	"testing"

	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

func TestScaleOf(t *testing.T) {
	n := func(v int32) *int32 { return &v }
	meta := func() *corev1.ObjectMeta {
		return &corev1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "u1", ResourceVersion: "7", Labels: map[string]string{"not": "copied"}}
	}
	sel := &corev1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "tier", Operator: "NotIn", Values: []string{"db"}}}}
	for name, tc := range map[string]struct {
		obj          storage.Object
		spec, status int32
		selector     string
	}{
		"deployment":             {&appsv1.Deployment{Metadata: meta(), Spec: &appsv1.DeploymentSpec{Replicas: n(3), Selector: sel}, Status: &appsv1.DeploymentStatus{Replicas: 2}}, 3, 2, "app=web,tier notin (db)"},
		"replica set":            {&appsv1.ReplicaSet{Metadata: meta(), Spec: &appsv1.ReplicaSetSpec{Replicas: n(1), Selector: sel}}, 1, 0, "app=web,tier notin (db)"},
		"stateful set":           {&appsv1.StatefulSet{Metadata: meta(), Spec: &appsv1.StatefulSetSpec{Replicas: n(0)}, Status: &appsv1.StatefulSetStatus{Replicas: 4}}, 0, 4, ""},
		"replication controller": {&corev1.ReplicationController{Metadata: meta(), Spec: &corev1.ReplicationControllerSpec{Replicas: n(2), Selector: map[string]string{"b": "2", "a": "1"}}}, 2, 0, "a=1,b=2"},
		"bad selector": {&appsv1.Deployment{Metadata: meta(), Spec: &appsv1.DeploymentSpec{Replicas: n(1), Selector: &corev1.LabelSelector{
			MatchExpressions: []*corev1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}}}}, 1, 0, ""},
	} {
		t.Run(name, func(t *testing.T) {
			s := scaleOf(tc.obj)
			m := s.GetMetadata()
			if m.GetName() != "web" || m.GetNamespace() != "ns" || m.GetUid() != "u1" || m.GetResourceVersion() != "7" || len(m.GetLabels()) != 0 {
				t.Errorf("metadata = %v", m)
			}
			if got := s.GetSpec().GetReplicas(); got != tc.spec {
				t.Errorf("spec.replicas = %d, want %d", got, tc.spec)
			}
			if got := s.GetStatus().GetReplicas(); got != tc.status {
				t.Errorf("status.replicas = %d, want %d", got, tc.status)
			}
			if got := s.GetStatus().GetSelector(); got != tc.selector {
				t.Errorf("status.selector = %q, want %q", got, tc.selector)
			}
			setReplicas(tc.obj, 9)
			if spec, _, _, _ := replicasOf(tc.obj); spec != 9 {
				t.Errorf("after setReplicas(9), spec.replicas = %d", spec)
			}
		})
	}
}

func TestValidateScale(t *testing.T) {
	for _, tc := range []struct {
		replicas int32
		want     string
	}{
		{0, ""}, {5, ""},
		{-1, "Invalid value: -1: must be greater than or equal to 0"},
	} {
		causes := validateScale(&corev1.Scale{Spec: &corev1.ScaleSpec{Replicas: tc.replicas}})
		got := ""
		if len(causes) > 0 {
			got = causes[0].GetMessage()
			if causes[0].GetField() != "spec.replicas" {
				t.Errorf("replicas %d: field %q", tc.replicas, causes[0].GetField())
			}
		}
		if got != tc.want {
			t.Errorf("replicas %d: %q, want %q", tc.replicas, got, tc.want)
		}
	}
}
