package api

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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

func TestGCFinalizers(t *testing.T) {
	ptr := func(s string) *string { return &s }
	yes, no := true, false
	tests := map[string]struct {
		have []string
		opts *corev1.DeleteOptions
		want []string
	}{
		"background":                     {nil, &corev1.DeleteOptions{PropagationPolicy: ptr("Background")}, nil},
		"foreground":                     {nil, &corev1.DeleteOptions{PropagationPolicy: ptr("Foreground")}, []string{"foregroundDeletion"}},
		"orphan":                         {[]string{"example.com/x"}, &corev1.DeleteOptions{PropagationPolicy: ptr("Orphan")}, []string{"example.com/x", "orphan"}},
		"orphanDependents":               {nil, &corev1.DeleteOptions{OrphanDependents: &yes}, []string{"orphan"}},
		"orphanDependents false":         {[]string{"orphan"}, &corev1.DeleteOptions{OrphanDependents: &no}, nil},
		"default keeps the object's own": {[]string{"foregroundDeletion"}, &corev1.DeleteOptions{}, []string{"foregroundDeletion"}},
		"default is background":          {[]string{"example.com/x"}, &corev1.DeleteOptions{}, []string{"example.com/x"}},
		"policy replaces":                {[]string{"foregroundDeletion", "a.io/b"}, &corev1.DeleteOptions{PropagationPolicy: ptr("Orphan")}, []string{"a.io/b", "orphan"}},
		"background drops both":          {[]string{"orphan"}, &corev1.DeleteOptions{PropagationPolicy: ptr("Background")}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := gcFinalizers(tc.have, tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("gcFinalizers(%q) = %q, want %q", tc.have, got, tc.want)
			}
		})
	}
}

func TestPlanDelete(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(d)) }
	i64 := func(v int64) *int64 { return &v }
	fg := "Foreground"
	pod := func(requested *int64) int64 { // a bound pod with the default 30 s
		if requested != nil {
			return *requested
		}
		return 30
	}
	tests := map[string]struct {
		meta     *corev1.ObjectMeta
		opts     *corev1.DeleteOptions
		graceful bool
		want     deleteAction
		wantMeta *corev1.ObjectMeta
	}{
		"plain":             {&corev1.ObjectMeta{}, &corev1.DeleteOptions{}, false, deleteNow, &corev1.ObjectMeta{}},
		"finalizer":         {&corev1.ObjectMeta{Finalizers: []string{"a.io/b"}}, &corev1.DeleteOptions{}, false, deleteMark, &corev1.ObjectMeta{Finalizers: []string{"a.io/b"}, DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(0)}},
		"foreground":        {&corev1.ObjectMeta{Generation: 1}, &corev1.DeleteOptions{PropagationPolicy: &fg}, false, deleteMark, &corev1.ObjectMeta{Generation: 2, Finalizers: []string{"foregroundDeletion"}, DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(0)}},
		"second delete":     {&corev1.ObjectMeta{Finalizers: []string{"a.io/b"}, DeletionTimestamp: at(-time.Minute), DeletionGracePeriodSeconds: i64(0)}, &corev1.DeleteOptions{}, false, deleteMark, &corev1.ObjectMeta{Finalizers: []string{"a.io/b"}, DeletionTimestamp: at(-time.Minute), DeletionGracePeriodSeconds: i64(0)}},
		"pod default grace": {&corev1.ObjectMeta{Generation: 1}, &corev1.DeleteOptions{}, true, deleteMark, &corev1.ObjectMeta{Generation: 2, DeletionTimestamp: at(30 * time.Second), DeletionGracePeriodSeconds: i64(30)}},
		"pod grace 0":       {&corev1.ObjectMeta{}, &corev1.DeleteOptions{GracePeriodSeconds: i64(0)}, true, deleteMarkThenNow, &corev1.ObjectMeta{DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(0)}},
		"negative grace":    {&corev1.ObjectMeta{}, &corev1.DeleteOptions{GracePeriodSeconds: i64(-5)}, true, deleteMark, &corev1.ObjectMeta{DeletionTimestamp: at(time.Second), DeletionGracePeriodSeconds: i64(1)}},
		"pending grace":     {&corev1.ObjectMeta{DeletionTimestamp: at(20 * time.Second), DeletionGracePeriodSeconds: i64(30)}, &corev1.DeleteOptions{}, true, deleteKeep, nil},
		"longer grace":      {&corev1.ObjectMeta{DeletionTimestamp: at(20 * time.Second), DeletionGracePeriodSeconds: i64(30)}, &corev1.DeleteOptions{GracePeriodSeconds: i64(60)}, true, deleteKeep, nil},
		"shorter grace":     {&corev1.ObjectMeta{DeletionTimestamp: at(20 * time.Second), DeletionGracePeriodSeconds: i64(30)}, &corev1.DeleteOptions{GracePeriodSeconds: i64(10)}, true, deleteMark, &corev1.ObjectMeta{DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(10)}},
		"kubelet confirms":  {&corev1.ObjectMeta{DeletionTimestamp: at(20 * time.Second), DeletionGracePeriodSeconds: i64(30)}, &corev1.DeleteOptions{GracePeriodSeconds: i64(0)}, true, deleteMarkThenNow, &corev1.ObjectMeta{DeletionTimestamp: at(-10 * time.Second), DeletionGracePeriodSeconds: i64(0)}},
		"confirmed, finalizer left": {&corev1.ObjectMeta{Finalizers: []string{"a.io/b"}, DeletionTimestamp: at(20 * time.Second), DeletionGracePeriodSeconds: i64(30)}, &corev1.DeleteOptions{GracePeriodSeconds: i64(0)}, true, deleteMark,
			&corev1.ObjectMeta{Finalizers: []string{"a.io/b"}, DeletionTimestamp: at(-10 * time.Second), DeletionGracePeriodSeconds: i64(0)}},
		"already confirmed": {&corev1.ObjectMeta{DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(0)}, &corev1.DeleteOptions{}, true, deleteNow, &corev1.ObjectMeta{DeletionTimestamp: at(0), DeletionGracePeriodSeconds: i64(0)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := proto.Clone(tc.meta).(*corev1.ObjectMeta)
			var grace func(*int64) int64
			if tc.graceful {
				grace = pod
			}
			got := planDelete(m, tc.opts, grace, now)
			if got != tc.want {
				t.Fatalf("action = %d, want %d", got, tc.want)
			}
			if tc.wantMeta != nil && !proto.Equal(m, tc.wantMeta) {
				t.Errorf("metadata = %v, want %v", m, tc.wantMeta)
			}
		})
	}
}

func TestPodGracePeriod(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	bound := &corev1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: i64(30)}
	tests := map[string]struct {
		pod       *corev1.Pod
		requested *int64
		want      int64
	}{
		"bound, default":   {&corev1.Pod{Spec: bound}, nil, 30},
		"bound, requested": {&corev1.Pod{Spec: bound}, i64(5), 5},
		"not bound":        {&corev1.Pod{Spec: &corev1.PodSpec{TerminationGracePeriodSeconds: i64(30)}}, i64(5), 0},
		"succeeded":        {&corev1.Pod{Spec: bound, Status: &corev1.PodStatus{Phase: "Succeeded"}}, nil, 0},
		"failed":           {&corev1.Pod{Spec: bound, Status: &corev1.PodStatus{Phase: "Failed"}}, nil, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := podGracePeriod(tc.pod, tc.requested); got != tc.want {
				t.Errorf("podGracePeriod = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDeletionFields(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	later := timestamppb.New(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC))
	i64 := func(v int64) *int64 { return &v }
	tests := map[string]struct {
		obj, old *corev1.ObjectMeta
		want     string // "" when allowed
	}{
		"nothing":                    {&corev1.ObjectMeta{}, &corev1.ObjectMeta{}, ""},
		"kept when unset":            {&corev1.ObjectMeta{}, &corev1.ObjectMeta{DeletionTimestamp: ts, DeletionGracePeriodSeconds: i64(30)}, ""},
		"a changed timestamp stays":  {&corev1.ObjectMeta{DeletionTimestamp: later}, &corev1.ObjectMeta{DeletionTimestamp: ts}, ""},
		"set by a client":            {&corev1.ObjectMeta{DeletionTimestamp: ts}, &corev1.ObjectMeta{}, "metadata.deletionTimestamp"},
		"grace set by a client":      {&corev1.ObjectMeta{DeletionGracePeriodSeconds: i64(0)}, &corev1.ObjectMeta{}, "metadata.deletionGracePeriodSeconds"},
		"grace changed":              {&corev1.ObjectMeta{DeletionGracePeriodSeconds: i64(0)}, &corev1.ObjectMeta{DeletionTimestamp: ts, DeletionGracePeriodSeconds: i64(30)}, "metadata.deletionGracePeriodSeconds"},
		"finalizer removed":          {&corev1.ObjectMeta{}, &corev1.ObjectMeta{DeletionTimestamp: ts, Finalizers: []string{"a.io/b"}}, ""},
		"finalizer added":            {&corev1.ObjectMeta{Finalizers: []string{"a.io/c"}}, &corev1.ObjectMeta{DeletionTimestamp: ts, Finalizers: []string{"a.io/b"}}, "no new finalizers"},
		"finalizer added, not dying": {&corev1.ObjectMeta{Finalizers: []string{"a.io/c"}}, &corev1.ObjectMeta{}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			causes := deletionFields(tc.obj, tc.old)
			if tc.want == "" {
				if len(causes) > 0 {
					t.Fatalf("refused: %v", causes)
				}
				if !proto.Equal(tc.obj.DeletionTimestamp, tc.old.DeletionTimestamp) {
					t.Errorf("deletionTimestamp = %v, want the stored %v", tc.obj.DeletionTimestamp, tc.old.DeletionTimestamp)
				}
				return
			}
			if len(causes) != 1 || !strings.Contains(causes[0].Field+causes[0].Message, tc.want) {
				t.Errorf("causes = %v, want one about %s", causes, tc.want)
			}
		})
	}
}

func TestDeleteOptionsFromRequest(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	ptr := func(s string) *string { return &s }
	tests := map[string]struct {
		req        *corev1.DeletePodRequest
		wantPolicy string
		wantGrace  *int64
	}{
		"nothing":               {&corev1.DeletePodRequest{}, "", nil},
		"query":                 {&corev1.DeletePodRequest{PropagationPolicy: "Orphan", GracePeriodSeconds: i64(0)}, "Orphan", i64(0)},
		"body wins":             {&corev1.DeletePodRequest{PropagationPolicy: "Orphan", GracePeriodSeconds: i64(0), Options: &corev1.DeleteOptions{PropagationPolicy: ptr("Foreground"), GracePeriodSeconds: i64(7)}}, "Foreground", i64(7)},
		"body fills, query too": {&corev1.DeletePodRequest{GracePeriodSeconds: i64(3), Options: &corev1.DeleteOptions{PropagationPolicy: ptr("Background")}}, "Background", i64(3)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := proto.Clone(tc.req)
			o := deleteOptions(tc.req)
			if o.GetPropagationPolicy() != tc.wantPolicy || (o.GracePeriodSeconds == nil) != (tc.wantGrace == nil) || (tc.wantGrace != nil && o.GetGracePeriodSeconds() != *tc.wantGrace) {
				t.Errorf("options = %v", o)
			}
			if !proto.Equal(before, tc.req) {
				t.Errorf("the request was changed")
			}
		})
	}
}
