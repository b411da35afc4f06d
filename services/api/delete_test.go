package api

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func TestValidateDeleteOptions(t *testing.T) {
	ptr := func(s string) *string { return &s }
	yes := true
	tests := map[string]struct {
		opts   *corev1.DeleteOptions
		policy string
		want   string // "" when valid
	}{
		"no options":             {nil, "", ""},
		"query policy":           {nil, "Foreground", ""},
		"unknown query policy":   {nil, "Bogus", `propagationPolicy: Unsupported value: "Bogus"`},
		"body policy wins":       {&corev1.DeleteOptions{PropagationPolicy: ptr("Orphan")}, "Bogus", ""},
		"unknown body policy":    {&corev1.DeleteOptions{PropagationPolicy: ptr("bogus")}, "", `Unsupported value: "bogus"`},
		"orphanDependents alone": {&corev1.DeleteOptions{OrphanDependents: &yes}, "", ""},
		"both":                   {&corev1.DeleteOptions{OrphanDependents: &yes, PropagationPolicy: ptr("Background")}, "", "orphanDependents and deletionPropagation cannot be both set"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := validateDeleteOptions(tc.opts, tc.policy)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if apierrors.ReasonOf(err) != apierrors.ReasonInvalid || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), `DeleteOptions.meta.k8s.io "" is invalid`) {
				t.Fatalf("got %v, want Invalid with %q", err, tc.want)
			}
		})
	}
}

func TestPodQOS(t *testing.T) {
	q := func(s string) *corev1.Quantity { return &corev1.Quantity{String_: s} }
	c := func(req, lim map[string]*corev1.Quantity) *corev1.Container {
		return &corev1.Container{Resources: &corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	tests := map[string]struct {
		containers []*corev1.Container
		want       string
	}{
		"nothing":              {[]*corev1.Container{{}}, "BestEffort"},
		"zero request":         {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("0")}, nil)}, "BestEffort"},
		"requests only":        {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("100m")}, nil)}, "Burstable"},
		"equal cpu and mem":    {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("1"), "memory": q("1Gi")}, map[string]*corev1.Quantity{"cpu": q("1000m"), "memory": q("1024Mi")})}, "Guaranteed"},
		"limit cpu only":       {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("1")}, map[string]*corev1.Quantity{"cpu": q("1")})}, "Burstable"},
		"one of two limited":   {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("1"), "memory": q("1Gi")}, map[string]*corev1.Quantity{"cpu": q("1"), "memory": q("1Gi")}), {}}, "Burstable"},
		"requests below limit": {[]*corev1.Container{c(map[string]*corev1.Quantity{"cpu": q("500m"), "memory": q("1Gi")}, map[string]*corev1.Quantity{"cpu": q("1"), "memory": q("1Gi")})}, "Burstable"},
		"other resources only": {[]*corev1.Container{c(map[string]*corev1.Quantity{"ephemeral-storage": q("1Gi")}, nil)}, "BestEffort"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := podQOS(&corev1.PodSpec{Containers: tc.containers}); got != tc.want {
				t.Errorf("podQOS = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCreatePodDefaults(t *testing.T) {
	sec := int64(10)
	p := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{
		Containers:  []*corev1.Container{{Name: "c", Image: "nginx:1.27", Resources: &corev1.ResourceRequirements{Limits: map[string]*corev1.Quantity{"cpu": {String_: "1"}, "memory": {String_: "1Gi"}}}}},
		Tolerations: []*corev1.Toleration{{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &sec}},
	}, Status: &corev1.PodStatus{Phase: "Running", PodIp: "10.0.0.1"}}
	createPod(p)
	sp := p.Spec
	if p.Status.Phase != "Pending" || p.Status.PodIp != "" || p.Status.QosClass != "Guaranteed" {
		t.Errorf("status = %v", p.Status)
	}
	if p.Metadata.Generation != 1 || sp.GetPriority() != 0 || sp.Priority == nil || sp.GetPreemptionPolicy() != "PreemptLowerPriority" ||
		!sp.GetEnableServiceLinks() || sp.ServiceAccountName != "default" || sp.ServiceAccount != "default" {
		t.Errorf("defaults: generation %d, spec %v", p.Metadata.Generation, sp)
	}
	if got := sp.Containers[0].Resources.Requests["memory"].GetString_(); got != "1Gi" {
		t.Errorf("request from limit = %q", got)
	}
	// The user's unreachable toleration stays; not-ready is added.
	if len(sp.Tolerations) != 2 || sp.Tolerations[0].GetTolerationSeconds() != 10 ||
		sp.Tolerations[1].Key != "node.kubernetes.io/not-ready" || sp.Tolerations[1].GetTolerationSeconds() != 300 {
		t.Errorf("tolerations = %v", sp.Tolerations)
	}
}
