package node

import (
	"slices"
	"sync"

	"github.com/portico-dev/portico/internal/podrefs"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Resources a node may reach through its pods.
const (
	Pods                   = podrefs.Pods
	Secrets                = podrefs.Secrets
	ConfigMaps             = podrefs.ConfigMaps
	ServiceAccounts        = podrefs.ServiceAccounts
	PersistentVolumeClaims = podrefs.PersistentVolumeClaims
)

// ref is one object a node's pod uses.
type ref = podrefs.Ref

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
	return g.counts[node][ref{Resource: resource, Namespace: namespace, Name: name}] > 0
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

// PodRefs are the objects a pod uses (podrefs.Of).
func PodRefs(p *corev1.Pod) []ref { return podrefs.Of(p) }
