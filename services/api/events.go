package api

import (
	"github.com/portico-dev/portico/internal/eventconv"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	eventsv1 "github.com/portico-dev/portico/proto/portico/events/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// coreEventFields are a core/v1 Event's field selectors (kube's event
// ToSelectableFields).
func coreEventFields(e *corev1.Event) map[string]string {
	io := e.GetInvolvedObject()
	return map[string]string{
		"involvedObject.kind": io.GetKind(), "involvedObject.namespace": io.GetNamespace(),
		"involvedObject.name": io.GetName(), "involvedObject.uid": io.GetUid(),
		"involvedObject.apiVersion": io.GetApiVersion(), "involvedObject.resourceVersion": io.GetResourceVersion(),
		"involvedObject.fieldPath": io.GetFieldPath(), "reason": e.GetReason(),
		"reportingComponent": e.GetReportingComponent(), "source": e.GetSource().GetComponent(), "type": e.GetType(),
	}
}

// v1EventFields are the events.k8s.io/v1 field selectors, each one of
// the core event's under its events.k8s.io name (kube's
// AddFieldLabelConversionsForEvent); the core-only ones (source) are not
// selectable in this version.
var v1EventFields = map[string]string{
	"reason":                    "reason",
	"regarding.kind":            "involvedObject.kind",
	"regarding.namespace":       "involvedObject.namespace",
	"regarding.name":            "involvedObject.name",
	"regarding.uid":             "involvedObject.uid",
	"regarding.apiVersion":      "involvedObject.apiVersion",
	"regarding.resourceVersion": "involvedObject.resourceVersion",
	"regarding.fieldPath":       "involvedObject.fieldPath",
	"reportingController":       "reportingComponent",
	"type":                      "type",
}

// eventsV1 serves events.k8s.io/v1 Events from the core events' store,
// as kube-apiserver stores both versions as one object: an event written
// in one version is read, listed and watched in the other, with the same
// resourceVersion.
func (s *Service) eventsV1(env kindEnv, core *resource[*corev1.Event]) *resource[*eventsv1.Event] {
	row, ok := env.table[(*eventsv1.Event)(nil).ProtoReflect().Descriptor().FullName()]
	if !ok {
		panic("api: events.k8s.io/v1 Event is not in the resource table")
	}
	store := storage.NewConverted[*eventsv1.Event, *corev1.Event](core.store, eventconv.ToV1, eventconv.ToCore)
	r := buildOn[*eventsv1.Event](env, row, store, false)
	r.extraFields = func(e *eventsv1.Event) map[string]string {
		coreFields := coreEventFields(eventconv.ToCore(e))
		out := make(map[string]string, len(v1EventFields))
		for v1, c := range v1EventFields {
			out[v1] = coreFields[c]
		}
		return out
	}
	return r
}
