// Package eventconv converts between core/v1 Event and events.k8s.io/v1
// Event. kube-apiserver stores both as one object (under
// /registry/events/) and serves it in either version; Portico stores the
// core form and converts, as kube's conversion functions do:
// regarding is involvedObject, note is message, reportingController is
// reportingComponent, and the deprecated* fields are the core event's
// source, firstTimestamp, lastTimestamp and count.
package eventconv

import (
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	eventsv1 "github.com/portico-dev/portico/proto/portico/events/v1"
)

// ToV1 is e in events.k8s.io/v1. The result shares e's messages.
func ToV1(e *corev1.Event) *eventsv1.Event {
	if e == nil {
		return nil
	}
	out := &eventsv1.Event{
		Metadata: e.GetMetadata(), EventTime: e.GetEventTime(),
		ReportingController: e.GetReportingComponent(), ReportingInstance: e.GetReportingInstance(),
		Action: e.GetAction(), Reason: e.GetReason(), Regarding: e.GetInvolvedObject(), Related: e.GetRelated(),
		Note: e.GetMessage(), Type: e.GetType(), DeprecatedSource: e.GetSource(),
		DeprecatedFirstTimestamp: e.GetFirstTimestamp(), DeprecatedLastTimestamp: e.GetLastTimestamp(), DeprecatedCount: e.GetCount(),
	}
	if s := e.GetSeries(); s != nil {
		out.Series = &eventsv1.EventSeries{Count: s.GetCount(), LastObservedTime: s.GetLastObservedTime()}
	}
	return out
}

// ToCore is e in core/v1. The result shares e's messages.
func ToCore(e *eventsv1.Event) *corev1.Event {
	if e == nil {
		return nil
	}
	out := &corev1.Event{
		Metadata: e.GetMetadata(), EventTime: e.GetEventTime(),
		ReportingComponent: e.GetReportingController(), ReportingInstance: e.GetReportingInstance(),
		Action: e.GetAction(), Reason: e.GetReason(), InvolvedObject: e.GetRegarding(), Related: e.GetRelated(),
		Message: e.GetNote(), Type: e.GetType(), Source: e.GetDeprecatedSource(),
		FirstTimestamp: e.GetDeprecatedFirstTimestamp(), LastTimestamp: e.GetDeprecatedLastTimestamp(), Count: e.GetDeprecatedCount(),
	}
	if s := e.GetSeries(); s != nil {
		out.Series = &corev1.EventSeries{Count: s.GetCount(), LastObservedTime: s.GetLastObservedTime()}
	}
	return out
}
