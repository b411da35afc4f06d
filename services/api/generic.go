package api

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/resources"
	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	autoscalingv2 "github.com/portico-dev/portico/proto/portico/autoscaling/v2"
	batchv1 "github.com/portico-dev/portico/proto/portico/batch/v1"
	certificatesv1 "github.com/portico-dev/portico/proto/portico/certificates/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	flowcontrolv1 "github.com/portico-dev/portico/proto/portico/flowcontrol/v1"
	schedulingv1 "github.com/portico-dev/portico/proto/portico/scheduling/v1"
	storagev1 "github.com/portico-dev/portico/proto/portico/storage/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// The kinds without hooks of their own are served by buildGeneric with
// the engine's generic semantics, plus what genericKinds says of each.

// kindRules are what kube-apiserver's strategy of a kind does beyond the
// generic semantics.
type kindRules struct {
	// defaults fills unset fields on every create and update.
	defaults func(storage.Object)
	// created runs on a create, after the uid is set (a Job's selector).
	created func(storage.Object)
	// nameRule replaces the DNS subdomain rule for names.
	nameRule func(string) []string
	// fields are the field selectors beyond metadata.name and
	// metadata.namespace, as dotted JSON paths.
	fields []string
	// validate checks the object beyond the generic checks.
	validate func(storage.Object) []*corev1.StatusCause
	// admit runs on a create (old nil) and an update, with the caller.
	admit func(ctx context.Context, obj, old storage.Object) error
	// changed makes metadata.generation count the updates it reports
	// (starting at 1), for a kind without a spec whose generation
	// kube-apiserver counts all the same.
	changed func(obj, old storage.Object) bool
}

// genericKinds are the rules of the generic kinds that have any, by
// group/Kind.
var genericKinds = map[string]kindRules{
	"/ReplicationController": {defaults: func(o storage.Object) { defaultReplicationController(o.(*corev1.ReplicationController)) }, fields: []string{"status.replicas"}},
	"apps/Deployment":        {validate: validateWorkload, defaults: func(o storage.Object) { defaultDeployment(o.(*appsv1.Deployment)) }},
	"apps/ReplicaSet":        {validate: validateWorkload, defaults: func(o storage.Object) { defaultReplicaSet(o.(*appsv1.ReplicaSet)) }, fields: []string{"status.replicas"}},
	"apps/StatefulSet":       {validate: validateWorkload, defaults: func(o storage.Object) { defaultStatefulSet(o.(*appsv1.StatefulSet)) }},
	"apps/DaemonSet":         {validate: validateWorkload, defaults: func(o storage.Object) { defaultDaemonSet(o.(*appsv1.DaemonSet)) }},
	"batch/Job": {defaults: func(o storage.Object) { defaultJob(o.(*batchv1.Job).GetSpec()) },
		created: func(o storage.Object) { jobSelector(o.(*batchv1.Job)) }, fields: []string{"status.successful"}},
	"batch/CronJob":                           {defaults: func(o storage.Object) { defaultCronJob(o.(*batchv1.CronJob)) }},
	"/PersistentVolume":                       {defaults: func(o storage.Object) { defaultPersistentVolume(o.(*corev1.PersistentVolume)) }},
	"/PersistentVolumeClaim":                  {defaults: func(o storage.Object) { defaultPersistentVolumeClaim(o.(*corev1.PersistentVolumeClaim)) }},
	"scheduling.k8s.io/PriorityClass":         {defaults: func(o storage.Object) { defaultPriorityClass(o.(*schedulingv1.PriorityClass)) }},
	"storage.k8s.io/StorageClass":             {defaults: func(o storage.Object) { defaultStorageClass(o.(*storagev1.StorageClass)) }},
	"storage.k8s.io/CSIDriver":                {defaults: func(o storage.Object) { defaultCSIDriver(o.(*storagev1.CSIDriver)) }},
	"autoscaling/HorizontalPodAutoscaler":     {defaults: func(o storage.Object) { defaultHorizontalPodAutoscaler(o.(*autoscalingv2.HorizontalPodAutoscaler)) }},
	"flowcontrol.apiserver.k8s.io/FlowSchema": {defaults: func(o storage.Object) { defaultFlowSchema(o.(*flowcontrolv1.FlowSchema)) }},
	"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": {defaults: func(o storage.Object) {
		defaultPriorityLevelConfiguration(o.(*flowcontrolv1.PriorityLevelConfiguration))
	}},
	"certificates.k8s.io/CertificateSigningRequest": {fields: []string{"spec.signerName"}, admit: admitCSR},
	// A bundle's name may carry its signer ("example.com/signer:ca"), as
	// kube's ValidateClusterTrustBundleName allows.
	"certificates.k8s.io/ClusterTrustBundle":    {nameRule: validatePathSegmentName, fields: []string{"spec.signerName"}},
	"certificates.k8s.io/PodCertificateRequest": {fields: []string{"spec.signerName", "spec.podName", "spec.nodeName"}},
	"resource.k8s.io/ResourceSlice":             {fields: []string{"spec.nodeName", "spec.driver"}},
	// The endpointslice controller's tracker tells a stale informer
	// cache by the generation of the slices it wrote.
	"discovery.k8s.io/EndpointSlice": {changed: changedBeyondMetadata},
}

// buildGeneric makes the resource of a kind without hooks of its own: a
// create starts without a status (the controllers write it through its
// subresource), the workload kinds count their spec's changes in
// metadata.generation, and genericKinds adds the kind's own rules.
func buildGeneric(env kindEnv, row resources.Resource) *resource[storage.Object] {
	r := buildRow[storage.Object](env, row)
	rules := genericKinds[row.Group+"/"+row.Kind]
	_, hasStatus := r.subresources["status"]
	generations := tracksGeneration(row) || rules.changed != nil
	r.beforeCreate = func(obj storage.Object) {
		if hasStatus {
			clearField(obj, "status")
		}
		if generations {
			metaOf(obj).Generation = 1
		}
		if rules.created != nil {
			rules.created(obj)
		}
	}
	switch {
	case rules.changed != nil:
		r.beforeUpdate = func(obj, old storage.Object) {
			if rules.changed(obj, old) {
				metaOf(obj).Generation = metaOf(old).GetGeneration() + 1
			}
		}
	case generations:
		r.beforeUpdate = func(obj, old storage.Object) { nextGeneration(env.codec, obj, old) }
	}
	r.beforeWrite = rules.defaults
	if rules.nameRule != nil {
		r.validateName = rules.nameRule
	}
	if rules.validate != nil {
		r.validate = func(obj, _ storage.Object, _ bool) []*corev1.StatusCause { return rules.validate(obj) }
	}
	if rules.admit != nil {
		r.admit = rules.admit
	}
	if len(rules.fields) > 0 {
		r.extraFields = func(obj storage.Object) map[string]string { return fieldsAt(obj, rules.fields) }
	}
	return r
}

// fieldsAt reads each dotted JSON path of obj as a selector value: a
// scalar as fmt prints it (a zero value when the field has no presence),
// "" when unset or not a scalar.
func fieldsAt(obj storage.Object, paths []string) map[string]string {
	out := make(map[string]string, len(paths))
	for _, path := range paths {
		out[path] = scalarAt(obj.ProtoReflect(), strings.Split(path, "."))
	}
	return out
}

func scalarAt(m protoreflect.Message, parts []string) string {
	for i, part := range parts {
		fd := m.Descriptor().Fields().ByJSONName(part)
		if fd == nil || fd.IsList() || fd.IsMap() || (fd.HasPresence() && !m.Has(fd)) {
			return ""
		}
		isMessage := fd.Kind() == protoreflect.MessageKind
		if i == len(parts)-1 {
			if isMessage {
				return ""
			}
			return fmt.Sprint(m.Get(fd).Interface())
		}
		if !isMessage {
			return ""
		}
		m = m.Get(fd).Message()
	}
	return ""
}

// clearField unsets the named field of obj.
func clearField(obj storage.Object, name protoreflect.Name) {
	m := obj.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName(name); fd != nil {
		m.Clear(fd)
	}
}

// tracksGeneration reports the kinds whose metadata.generation counts
// their spec's changes (observedGeneration in their status follows it), as
// kube-apiserver's strategies of the workload, policy and networking kinds.
func tracksGeneration(row resources.Resource) bool {
	switch row.Group {
	case "apps", "batch", "autoscaling", "policy", "networking.k8s.io":
	case "":
		if row.Kind != "ReplicationController" {
			return false
		}
	default:
		return false
	}
	return row.New().ProtoReflect().Descriptor().Fields().ByName("spec") != nil
}

// changedBeyondMetadata reports an update that changes anything but
// metadata, or the labels: kube-apiserver's EndpointSlice strategy
// counts those in metadata.generation.
func changedBeyondMetadata(obj, old storage.Object) bool {
	a, b := proto.Clone(obj), proto.Clone(old)
	clearField(a.(storage.Object), "metadata")
	clearField(b.(storage.Object), "metadata")
	return !proto.Equal(a, b) || !maps.Equal(metaOf(obj).GetLabels(), metaOf(old).GetLabels())
}

// nextGeneration bumps obj's generation past old's when its spec changed.
// The specs are compared in their JSON form, where an empty message and
// none are the same.
func nextGeneration(codec Codec, obj, old storage.Object) {
	spec := func(o storage.Object) ([]byte, error) {
		m := o.ProtoReflect()
		fd := m.Descriptor().Fields().ByName("spec")
		if fd == nil || !m.Has(fd) {
			return []byte("{}"), nil
		}
		return codec.Marshal(m.Get(fd).Message().Interface())
	}
	a, errA := spec(obj)
	b, errB := spec(old)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		metaOf(obj).Generation = metaOf(old).GetGeneration() + 1
	}
}

// admitCSR is kube's CSR strategy: a request is made by its caller, whose
// name, uid, groups and extra the server writes into its spec; the spec
// never changes after (an update keeps the stored one).
func admitCSR(ctx context.Context, obj, old storage.Object) error {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	if old != nil {
		csr.Spec = proto.Clone(old.(*certificatesv1.CertificateSigningRequest).GetSpec()).(*certificatesv1.CertificateSigningRequestSpec)
		return nil
	}
	if csr.Spec == nil {
		csr.Spec = &certificatesv1.CertificateSigningRequestSpec{}
	}
	u, _ := identity.UserFrom(ctx)
	csr.Spec.Username, csr.Spec.Uid, csr.Spec.Groups, csr.Spec.Extra = u.GetUsername(), u.GetUid(), u.GetGroups(), nil
	for k, v := range u.GetExtra() {
		if csr.Spec.Extra == nil {
			csr.Spec.Extra = map[string]*certificatesv1.ExtraValue{}
		}
		csr.Spec.Extra[k] = &certificatesv1.ExtraValue{Items: v.GetItems()}
	}
	return nil
}
