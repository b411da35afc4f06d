package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	batchv1 "github.com/portico-dev/portico/proto/portico/batch/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// TestWorkloadDefaults: kube-apiserver's defaults fill what is unset and
// keep what is set.
func TestWorkloadDefaults(t *testing.T) {
	two, three := int32(2), int32(3)
	tests := map[string]struct {
		kind string
		in   storage.Object
		want string // protojson of the defaulted spec's fields checked
		get  func(storage.Object) proto.Message
	}{
		"deployment": {"apps/Deployment", &appsv1.Deployment{Metadata: &corev1.ObjectMeta{}},
			`{"replicas":1,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":{"type":"1","strVal":"25%"},"maxSurge":{"type":"1","strVal":"25%"}}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600}`,
			func(o storage.Object) proto.Message { return o.(*appsv1.Deployment).GetSpec() }},
		"deployment keeps Recreate and replicas": {"apps/Deployment", &appsv1.Deployment{Spec: &appsv1.DeploymentSpec{Replicas: &three, Strategy: &appsv1.DeploymentStrategy{Type: "Recreate"}}},
			`{"replicas":3,"strategy":{"type":"Recreate"},"revisionHistoryLimit":10,"progressDeadlineSeconds":600}`,
			func(o storage.Object) proto.Message { return o.(*appsv1.Deployment).GetSpec() }},
		"job": {"batch/Job", &batchv1.Job{Spec: &batchv1.JobSpec{}},
			`{"parallelism":1,"completions":1,"backoffLimit":6,"manualSelector":false,"completionMode":"NonIndexed","suspend":false,"podReplacementPolicy":"TerminatingOrFailed"}`,
			func(o storage.Object) proto.Message { return o.(*batchv1.Job).GetSpec() }},
		"job with parallelism only": {"batch/Job", &batchv1.Job{Spec: &batchv1.JobSpec{Parallelism: &two}},
			`{"parallelism":2,"backoffLimit":6,"manualSelector":false,"completionMode":"NonIndexed","suspend":false,"podReplacementPolicy":"TerminatingOrFailed"}`,
			func(o storage.Object) proto.Message { return o.(*batchv1.Job).GetSpec() }},
		"cronjob": {"batch/CronJob", &batchv1.CronJob{},
			`{"concurrencyPolicy":"Allow","suspend":false,"successfulJobsHistoryLimit":3,"failedJobsHistoryLimit":1}`,
			func(o storage.Object) proto.Message { return o.(*batchv1.CronJob).GetSpec() }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			genericKinds[tc.kind].defaults(tc.in)
			got, err := protojson.Marshal(tc.get(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("defaulted\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
