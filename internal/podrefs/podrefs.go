// Package podrefs finds the objects a pod uses: its service account and
// every secret, config map and claim its spec names. The Node
// authorization mode builds its graph from them; the api's node
// restriction refuses a kubelet's pod that names any.
package podrefs

import (
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Resources a pod refers to.
const (
	Pods                   = "pods"
	Secrets                = "secrets"
	ConfigMaps             = "configmaps"
	ServiceAccounts        = "serviceaccounts"
	PersistentVolumeClaims = "persistentvolumeclaims"
)

// Ref is one object a pod uses.
type Ref struct{ Resource, Namespace, Name string }

// Of are the objects a pod uses: itself, its service account
// ("default" when unset), and every secret, config map and claim its
// spec names (volumes of every type, projections, env, envFrom, image
// pull secrets), sorted and without duplicates.
func Of(p *corev1.Pod) []Ref {
	ns := p.GetMetadata().GetNamespace()
	refs := []Ref{{Pods, ns, p.GetMetadata().GetName()}}
	sa := p.GetSpec().GetServiceAccountName()
	if sa == "" {
		sa = p.GetSpec().GetServiceAccount()
	}
	if sa == "" {
		sa = "default"
	}
	refs = append(refs, Ref{ServiceAccounts, ns, sa})
	add := func(resource, name string) {
		if name != "" {
			refs = append(refs, Ref{resource, ns, name})
		}
	}
	for _, v := range p.GetSpec().GetVolumes() {
		// A generic ephemeral volume is a claim named <pod>-<volume>.
		if v.GetVolumeSource().GetEphemeral() != nil {
			add(PersistentVolumeClaims, p.GetMetadata().GetName()+"-"+v.GetName())
		}
	}
	if spec := p.GetSpec(); spec != nil {
		walk(spec.ProtoReflect(), "", add)
	}
	slices.SortFunc(refs, func(a, b Ref) int {
		if a.Resource != b.Resource {
			return cmpString(a.Resource, b.Resource)
		}
		return cmpString(a.Name, b.Name)
	})
	return slices.Compact(refs)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refFields name what a message of a type refers to: by a string field,
// or by the name in its embedded LocalObjectReference.
var refFields = map[protoreflect.Name]struct {
	resource, field string
}{
	"SecretVolumeSource":                {Secrets, "secret_name"},
	"AzureFileVolumeSource":             {Secrets, "secret_name"},
	"SecretProjection":                  {Secrets, "local_object_reference"},
	"SecretKeySelector":                 {Secrets, "local_object_reference"},
	"SecretEnvSource":                   {Secrets, "local_object_reference"},
	"ConfigMapVolumeSource":             {ConfigMaps, "local_object_reference"},
	"ConfigMapProjection":               {ConfigMaps, "local_object_reference"},
	"ConfigMapKeySelector":              {ConfigMaps, "local_object_reference"},
	"ConfigMapEnvSource":                {ConfigMaps, "local_object_reference"},
	"PersistentVolumeClaimVolumeSource": {PersistentVolumeClaims, "claim_name"},
}

// secretRefFields are the LocalObjectReference fields that name a secret
// (volume plugins' secretRef, CSI's nodePublishSecretRef, a pod's
// imagePullSecrets).
var secretRefFields = map[protoreflect.Name]bool{
	"secret_ref": true, "node_publish_secret_ref": true, "image_pull_secrets": true,
}

// walk visits every set message in m; field is the name of the field m
// was reached by.
func walk(m protoreflect.Message, field protoreflect.Name, add func(resource, name string)) {
	name := m.Descriptor().Name()
	if rf, ok := refFields[name]; ok {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(rf.field))
		if fd != nil {
			if fd.Kind() == protoreflect.StringKind {
				add(rf.resource, m.Get(fd).String())
			} else if lor, ok := m.Get(fd).Message().Interface().(*corev1.LocalObjectReference); ok {
				add(rf.resource, lor.GetName())
			}
		}
		return
	}
	if lor, ok := m.Interface().(*corev1.LocalObjectReference); ok {
		if secretRefFields[field] {
			add(Secrets, lor.GetName())
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message(), fd.Name(), add)
					return true
				})
			}
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind {
				l := v.List()
				for i := range l.Len() {
					walk(l.Get(i).Message(), fd.Name(), add)
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			walk(v.Message(), fd.Name(), add)
		}
		return true
	})
}
