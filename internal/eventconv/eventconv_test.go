package eventconv

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	eventsv1 "github.com/portico-dev/portico/proto/portico/events/v1"
)

func TestConvert(t *testing.T) {
	meta := &corev1.ObjectMeta{Name: "e", Namespace: "ns"}
	ref := &corev1.ObjectReference{Kind: "Pod", Name: "web"}
	when := timestamppb.New(timestamppb.Now().AsTime().Truncate(1e9))
	micro := &corev1.MicroTime{Seconds: 5, Nanos: 6}
	for name, tc := range map[string]struct {
		core *corev1.Event
		v1   *eventsv1.Event
	}{
		"empty": {&corev1.Event{}, &eventsv1.Event{}},
		"scheduler's": {
			&corev1.Event{Metadata: meta, InvolvedObject: ref, Reason: "FailedScheduling", Message: "0/3 nodes", Type: "Warning",
				ReportingComponent: "default-scheduler", ReportingInstance: "sched-1", Action: "Scheduling", EventTime: micro,
				Series: &corev1.EventSeries{Count: 2, LastObservedTime: micro}},
			&eventsv1.Event{Metadata: meta, Regarding: ref, Reason: "FailedScheduling", Note: "0/3 nodes", Type: "Warning",
				ReportingController: "default-scheduler", ReportingInstance: "sched-1", Action: "Scheduling", EventTime: micro,
				Series: &eventsv1.EventSeries{Count: 2, LastObservedTime: micro}},
		},
		"kubelet's (deprecated fields)": {
			&corev1.Event{Metadata: meta, InvolvedObject: ref, Source: &corev1.EventSource{Component: "kubelet", Host: "n1"},
				FirstTimestamp: when, LastTimestamp: when, Count: 3, Related: ref},
			&eventsv1.Event{Metadata: meta, Regarding: ref, DeprecatedSource: &corev1.EventSource{Component: "kubelet", Host: "n1"},
				DeprecatedFirstTimestamp: when, DeprecatedLastTimestamp: when, DeprecatedCount: 3, Related: ref},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ToV1(tc.core); !proto.Equal(got, tc.v1) {
				t.Errorf("ToV1 = %v, want %v", got, tc.v1)
			}
			if got := ToCore(tc.v1); !proto.Equal(got, tc.core) {
				t.Errorf("ToCore = %v, want %v", got, tc.core)
			}
		})
	}
	if ToV1(nil) != nil || ToCore(nil) != nil {
		t.Error("nil converts to non-nil")
	}
}
