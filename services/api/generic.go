package api

import (
	"bytes"
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/resources"
	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	batchv1 "github.com/portico-dev/portico/proto/portico/batch/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
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
}

// genericKinds are the rules of the generic kinds that have any, by
// group/Kind.
var genericKinds = map[string]kindRules{
	"/ReplicationController": {defaults: func(o storage.Object) { defaultReplicationController(o.(*corev1.ReplicationController)) }, fields: []string{"status.replicas"}},
	"apps/Deployment":        {defaults: func(o storage.Object) { defaultDeployment(o.(*appsv1.Deployment)) }},
	"apps/ReplicaSet":        {defaults: func(o storage.Object) { defaultReplicaSet(o.(*appsv1.ReplicaSet)) }, fields: []string{"status.replicas"}},
	"apps/StatefulSet":       {defaults: func(o storage.Object) { defaultStatefulSet(o.(*appsv1.StatefulSet)) }},
	"apps/DaemonSet":         {defaults: func(o storage.Object) { defaultDaemonSet(o.(*appsv1.DaemonSet)) }},
	"batch/Job": {defaults: func(o storage.Object) { defaultJob(o.(*batchv1.Job).GetSpec()) },
		created: func(o storage.Object) { jobSelector(o.(*batchv1.Job)) }, fields: []string{"status.successful"}},
	"batch/CronJob": {defaults: func(o storage.Object) { defaultCronJob(o.(*batchv1.CronJob)) }},
	"certificates.k8s.io/CertificateSigningRequest": {fields: []string{"spec.signerName"}},
	// A bundle's name may carry its signer ("example.com/signer:ca"), as
	// kube's ValidateClusterTrustBundleName allows.
	"certificates.k8s.io/ClusterTrustBundle":    {nameRule: validatePathSegmentName, fields: []string{"spec.signerName"}},
	"certificates.k8s.io/PodCertificateRequest": {fields: []string{"spec.signerName", "spec.podName", "spec.nodeName"}},
	"resource.k8s.io/ResourceSlice":             {fields: []string{"spec.nodeName", "spec.driver"}},
}

// buildGeneric makes the resource of a kind without hooks of its own: a
// create starts without a status (the controllers write it through its
// subresource), the workload kinds count their spec's changes in
// metadata.generation, and genericKinds adds the kind's own rules.
func buildGeneric(env kindEnv, row resources.Resource) *resource[storage.Object] {
	r := buildRow[storage.Object](env, row)
	rules := genericKinds[row.Group+"/"+row.Kind]
	_, hasStatus := r.subresources["status"]
	generations := tracksGeneration(row)
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
	if generations {
		r.beforeUpdate = func(obj, old storage.Object) { nextGeneration(env.codec, obj, old) }
	}
	r.beforeWrite = rules.defaults
	if rules.nameRule != nil {
		r.validateName = rules.nameRule
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
