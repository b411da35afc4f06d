package node

import (
	"slices"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Resources a node may reach through its pods.
const (
	Pods                   = "pods"
	Secrets                = "secrets"
	ConfigMaps             = "configmaps"
	ServiceAccounts        = "serviceaccounts"
	PersistentVolumeClaims = "persistentvolumeclaims"
)

// ref is one object a node's pod uses.
type ref struct{ resource, namespace, name string }

// podEntry is what the graph keeps of a pod bound to a node.
type podEntry struct {
	node string
	refs []ref
}

// Graph indexes pods by the node they are bound to, and the secrets,
// config maps, service accounts and claims each node's pods use
// (kube-apiserver's node authorizer graph, for the kinds Portico serves).
// It is an informer.Handler of pods.
type Graph struct {
	mu     sync.RWMutex
	pods   map[string]podEntry    // namespace/name → entry, bound pods only
	counts map[string]map[ref]int // node → object → pods using it
	synced bool
	// onChange is called after a change that may change a decision.
	onChange func()
}

// NewGraph returns an empty graph; onChange may be nil.
func NewGraph(onChange func()) *Graph {
	return &Graph{pods: map[string]podEntry{}, counts: map[string]map[ref]int{}, onChange: onChange}
}

// Reachable reports whether a pod bound to node uses the object (or is
// the pod, for resource "pods").
func (g *Graph) Reachable(node, resource, namespace, name string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.counts[node][ref{resource, namespace, name}] > 0
}

// Synced reports whether the graph has been filled once.
func (g *Graph) Synced() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.synced
}

// Replace sets the graph to pods.
func (g *Graph) Replace(pods []*corev1.Pod) {
	g.mu.Lock()
	g.pods = map[string]podEntry{}
	g.counts = map[string]map[ref]int{}
	for _, p := range pods {
		g.upsertLocked(p)
	}
	g.synced = true
	g.mu.Unlock()
	g.changed()
}

// Upsert adds or updates one pod.
func (g *Graph) Upsert(p *corev1.Pod) {
	g.mu.Lock()
	changed := g.upsertLocked(p)
	g.mu.Unlock()
	if changed {
		g.changed()
	}
}

// Delete removes one pod.
func (g *Graph) Delete(p *corev1.Pod) {
	g.mu.Lock()
	changed := g.removeLocked(podKey(p))
	g.mu.Unlock()
	if changed {
		g.changed()
	}
}

func (g *Graph) changed() {
	if g.onChange != nil {
		g.onChange()
	}
}

func podKey(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

// upsertLocked reports whether the pod's edges changed.
func (g *Graph) upsertLocked(p *corev1.Pod) bool {
	key := podKey(p)
	next := podEntry{node: p.GetSpec().GetNodeName()}
	if next.node != "" {
		next.refs = PodRefs(p)
	}
	old, had := g.pods[key]
	if had && old.node == next.node && slices.Equal(old.refs, next.refs) {
		return false
	}
	g.removeLocked(key)
	if next.node == "" {
		return had
	}
	g.pods[key] = next
	c := g.counts[next.node]
	if c == nil {
		c = map[ref]int{}
		g.counts[next.node] = c
	}
	for _, r := range next.refs {
		c[r]++
	}
	return true
}

func (g *Graph) removeLocked(key string) bool {
	old, ok := g.pods[key]
	if !ok {
		return false
	}
	delete(g.pods, key)
	c := g.counts[old.node]
	for _, r := range old.refs {
		if c[r]--; c[r] <= 0 {
			delete(c, r)
		}
	}
	if len(c) == 0 {
		delete(g.counts, old.node)
	}
	return true
}

// PodRefs are the objects a pod uses: itself, its service account
// ("default" when unset), and every secret, config map and claim its
// spec names (volumes of every type, projections, env, envFrom, image
// pull secrets), sorted and without duplicates.
func PodRefs(p *corev1.Pod) []ref {
	ns := p.GetMetadata().GetNamespace()
	refs := []ref{{Pods, ns, p.GetMetadata().GetName()}}
	sa := p.GetSpec().GetServiceAccountName()
	if sa == "" {
		sa = p.GetSpec().GetServiceAccount()
	}
	if sa == "" {
		sa = "default"
	}
	refs = append(refs, ref{ServiceAccounts, ns, sa})
	add := func(resource, name string) {
		if name != "" {
			refs = append(refs, ref{resource, ns, name})
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
	slices.SortFunc(refs, func(a, b ref) int {
		if a.resource != b.resource {
			return cmpString(a.resource, b.resource)
		}
		return cmpString(a.name, b.name)
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
