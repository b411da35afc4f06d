// Package garbagecollector is the api's built-in garbage collector, the
// part of kube-controller-manager's that acts on ownerReferences: an
// object whose owners are all gone is deleted; an owner deleted in the
// foreground (finalizer foregroundDeletion) loses the finalizer once its
// blocking dependents (blockOwnerDeletion) are gone, its dependents being
// deleted first; an owner deleted with the orphan finalizer has its
// dependents' references to it removed, then the finalizer.
//
// It follows every kind's metadata (metaclient.Follow) into one graph of
// owners and dependents, and works through one bounded queue with a fixed
// number of workers; every decision is made again on the objects as
// stored (a Get of the object and of each owner), so a graph that lags
// behind storage delays work but never misleads it.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/backoff"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
	"github.com/portico-dev/portico/services/api/controllers/workqueue"
)

// The finalizers the collector acts on.
const (
	FinalizerOrphan     = "orphan"
	FinalizerForeground = "foregroundDeletion"
)

// Options configure a Collector.
type Options struct {
	// Resources are the kinds to follow: owners and dependents are only
	// found among them.
	Resources []metaclient.Resource
	Logger    *slog.Logger
	// Workers is how many items are worked on at once (default 2).
	Workers int
	// Queue bounds the work queue (default workqueue.Defaults).
	Queue workqueue.Options
	// Follow is the backoff of the watches (default backoff.Streams).
	Follow backoff.Policy
}

// withDefaults fills what o leaves unset.
func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = 2
	}
	if o.Queue == (workqueue.Options{}) {
		o.Queue = workqueue.Defaults()
	}
	if o.Follow == (backoff.Policy{}) {
		o.Follow = backoff.Streams()
	}
	return o
}

// Validate reports what a collector cannot be built from; unset fields
// take their defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if len(o.Resources) == 0 {
		errs = append(errs, errors.New("garbagecollector: no resources"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("garbagecollector: a logger is required"))
	}
	if o.Workers < 1 {
		errs = append(errs, errors.New("garbagecollector: at least one worker is required"))
	}
	return errors.Join(append(errs, o.Queue.Validate())...)
}

// action is what a queued item asks for.
type action int

const (
	// attemptToDelete checks an object's owners (and, for one deleted in
	// the foreground, its blocking dependents).
	attemptToDelete action = iota
	// attemptToOrphan removes the references to an owner being deleted
	// with the orphan finalizer, then the finalizer.
	attemptToOrphan
)

type item struct {
	action action
	uid    string
}

// node is one object in the graph.
type node struct {
	kind       int // index in Options.Resources
	namespace  string
	name       string
	uid        string
	owners     []*corev1.OwnerReference
	deleting   bool
	foreground bool // deleting, with foregroundDeletion
	orphan     bool // deleting, with orphan
}

// Collector is the garbage collector.
type Collector struct {
	o     Options
	log   *slog.Logger
	queue *workqueue.Queue[item]
	// kinds finds a resource by group and kind.
	kinds map[string]int

	mu         sync.Mutex
	nodes      map[string]*node               // by uid
	dependents map[string]map[string]struct{} // owner uid -> dependent uids
	// overflowed is set when the queue refused an item: every object is
	// looked at again once it drains.
	overflowed bool
}

// New builds a collector.
func New(o Options) (*Collector, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	q, err := workqueue.New[item](o.Queue)
	if err != nil {
		return nil, err
	}
	c := &Collector{o: o, log: o.Logger.With("controller", "garbagecollector"), queue: q, kinds: map[string]int{},
		nodes: map[string]*node{}, dependents: map[string]map[string]struct{}{}}
	for i, r := range o.Resources {
		k := r.Kind()
		c.kinds[k.Group+"/"+k.Kind] = i
	}
	return c, nil
}

// Run follows every resource and works until ctx ends; the workers start
// once every resource has been listed, so that no owner is judged on a
// half-built graph.
func (c *Collector) Run(ctx context.Context) {
	var listed sync.WaitGroup
	var follows sync.WaitGroup
	for i, r := range c.o.Resources {
		listed.Add(1)
		follows.Add(1)
		h := &handler{c: c, kind: i, first: sync.OnceFunc(listed.Done)}
		go func() {
			defer follows.Done()
			metaclient.Follow(ctx, r, h, c.o.Follow, c.log)
		}()
	}
	synced := make(chan struct{})
	go func() { listed.Wait(); close(synced) }()
	select {
	case <-ctx.Done():
		follows.Wait()
		return
	case <-synced:
	}
	c.log.Info("garbage collector synced", "resources", len(c.o.Resources))
	var workers sync.WaitGroup
	for range c.o.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c.work(ctx) {
			}
		}()
	}
	workers.Wait()
	follows.Wait()
}

// handler feeds one resource's list and events into the graph.
type handler struct {
	c     *Collector
	kind  int
	first func()
}

func (h *handler) Listed(items []*corev1.ObjectMeta) {
	h.c.listed(h.kind, items)
	h.first()
}

func (h *handler) Changed(ev metaclient.Event) { h.c.changed(h.kind, ev) }

// listed replaces the graph's objects of one kind: those not listed are
// gone.
func (c *Collector) listed(kind int, items []*corev1.ObjectMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]bool, len(items))
	for _, m := range items {
		seen[m.GetUid()] = true
		c.observe(kind, m)
	}
	for uid, n := range c.nodes {
		if n.kind == kind && !seen[uid] {
			c.forget(n)
		}
	}
}

func (c *Collector) changed(kind int, ev metaclient.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Type == metaclient.Deleted {
		if n, ok := c.nodes[ev.Object.GetUid()]; ok {
			c.forget(n)
		}
		return
	}
	c.observe(kind, ev.Object)
}

// observe records an object as added or changed and queues what its
// change calls for. c.mu is held.
func (c *Collector) observe(kind int, m *corev1.ObjectMeta) {
	uid := m.GetUid()
	old := c.nodes[uid]
	n := &node{kind: kind, namespace: m.GetNamespace(), name: m.GetName(), uid: uid, owners: m.GetOwnerReferences(),
		deleting: m.GetDeletionTimestamp() != nil}
	n.foreground = n.deleting && slices.Contains(m.GetFinalizers(), FinalizerForeground)
	n.orphan = n.deleting && slices.Contains(m.GetFinalizers(), FinalizerOrphan)
	c.nodes[uid] = n
	ownersChanged := old == nil || !slices.EqualFunc(old.owners, n.owners, sameRef)
	if ownersChanged {
		if old != nil {
			for _, o := range old.owners {
				c.unlink(o.GetUid(), uid)
				c.wakeForeground(o.GetUid())
			}
		}
		for _, o := range n.owners {
			c.link(o.GetUid(), uid)
			c.wakeForeground(o.GetUid())
		}
		if len(n.owners) > 0 {
			c.add(item{attemptToDelete, uid})
		}
	}
	if n.orphan && (old == nil || !old.orphan) {
		c.add(item{attemptToOrphan, uid})
	}
	if n.foreground && (old == nil || !old.foreground) {
		// Its dependents go first, then it.
		for dep := range c.dependents[uid] {
			c.add(item{attemptToDelete, dep})
		}
		c.add(item{attemptToDelete, uid})
	}
}

// forget removes a deleted object: its dependents may have lost their
// last owner, an owner waiting in the foreground may be free. c.mu is
// held.
func (c *Collector) forget(n *node) {
	delete(c.nodes, n.uid)
	for dep := range c.dependents[n.uid] {
		c.add(item{attemptToDelete, dep})
	}
	for _, o := range n.owners {
		c.unlink(o.GetUid(), n.uid)
		c.wakeForeground(o.GetUid())
	}
}

func (c *Collector) link(owner, dep string) {
	if c.dependents[owner] == nil {
		c.dependents[owner] = map[string]struct{}{}
	}
	c.dependents[owner][dep] = struct{}{}
}

func (c *Collector) unlink(owner, dep string) {
	delete(c.dependents[owner], dep)
	if len(c.dependents[owner]) == 0 {
		delete(c.dependents, owner)
	}
}

// wakeForeground queues an owner deleted in the foreground: one of its
// dependents changed.
func (c *Collector) wakeForeground(uid string) {
	if n, ok := c.nodes[uid]; ok && n.foreground {
		c.add(item{attemptToDelete, uid})
	}
}

// add queues it, remembering when the queue was full. c.mu is held.
func (c *Collector) add(it item) {
	if !c.queue.Add(it) {
		c.overflowed = true
	}
}

func sameRef(a, b *corev1.OwnerReference) bool {
	return a.GetUid() == b.GetUid() && a.GetBlockOwnerDeletion() == b.GetBlockOwnerDeletion()
}

// work handles one item; false once ctx ends.
func (c *Collector) work(ctx context.Context) bool {
	it, ok := c.queue.Get(ctx)
	if !ok {
		return false
	}
	defer c.queue.Done(it)
	var err error
	switch it.action {
	case attemptToDelete:
		err = c.attemptToDelete(ctx, it.uid)
	case attemptToOrphan:
		err = c.attemptToOrphan(ctx, it.uid)
	}
	if err != nil && ctx.Err() == nil {
		c.log.Debug("garbage collection will be retried", "uid", it.uid, "error", err)
		c.queue.Retry(it)
	} else {
		c.queue.Forget(it)
	}
	if c.queue.Len() == 0 {
		c.resyncIfOverflowed()
	}
	return true
}

// resyncIfOverflowed looks at every object again once a full queue has
// drained.
func (c *Collector) resyncIfOverflowed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.overflowed {
		return
	}
	c.overflowed = false
	c.log.Warn("garbage collector queue overflowed; looking at every object again")
	for uid, n := range c.nodes {
		if len(n.owners) > 0 || n.foreground {
			c.add(item{attemptToDelete, uid})
		}
		if n.orphan {
			c.add(item{attemptToOrphan, uid})
		}
	}
}

// lookup is a copy of a node's identity; false when it is not in the graph.
func (c *Collector) lookup(uid string) (node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[uid]
	if !ok {
		return node{}, false
	}
	return *n, true
}

// dependentsOf lists the graph's dependents of uid.
func (c *Collector) dependentsOf(uid string) []node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []node
	for dep := range c.dependents[uid] {
		if n, ok := c.nodes[dep]; ok {
			out = append(out, *n)
		}
	}
	return out
}

// get reads an object as stored; nil (no error) when it is gone or
// replaced by another of the same name.
func (c *Collector) get(ctx context.Context, n node) (*corev1.ObjectMeta, error) {
	m, err := c.o.Resources[n.kind].Get(ctx, n.namespace, n.name)
	if errors.Is(err, metaclient.ErrNotFound) || (err == nil && m.GetUid() != n.uid) {
		return nil, nil
	}
	return m, err
}

// ownerState is what an owner reference points at.
type ownerState int

const (
	ownerSolid    ownerState = iota // there (or not resolvable: kept)
	ownerDangling                   // gone, or replaced by another uid
	ownerWaiting                    // being deleted in the foreground
)

// owner judges one owner reference of a dependent in namespace ns.
func (c *Collector) owner(ctx context.Context, ns string, ref *corev1.OwnerReference) (ownerState, error) {
	group, _, _ := strings.Cut(ref.GetApiVersion(), "/")
	if !strings.Contains(ref.GetApiVersion(), "/") {
		group = ""
	}
	i, ok := c.kinds[group+"/"+ref.GetKind()]
	if !ok {
		// A kind not served here: nothing can tell it is gone.
		return ownerSolid, nil
	}
	r := c.o.Resources[i]
	if !r.Kind().Namespaced {
		ns = ""
	} else if ns == "" {
		// A cluster-scoped dependent cannot have a namespaced owner:
		// unresolvable, as in kube.
		return ownerSolid, nil
	}
	m, err := r.Get(ctx, ns, ref.GetName())
	switch {
	case errors.Is(err, metaclient.ErrNotFound):
		return ownerDangling, nil
	case err != nil:
		return ownerSolid, err
	case m.GetUid() != ref.GetUid():
		return ownerDangling, nil
	case m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), FinalizerForeground):
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// attemptToDelete is kube's attemptToDeleteItem.
func (c *Collector) attemptToDelete(ctx context.Context, uid string) error {
	n, ok := c.lookup(uid)
	if !ok {
		return nil
	}
	latest, err := c.get(ctx, n)
	if err != nil || latest == nil {
		return err
	}
	if latest.GetDeletionTimestamp() != nil {
		if slices.Contains(latest.GetFinalizers(), FinalizerForeground) {
			return c.deleteDependentsFirst(ctx, n)
		}
		return nil // being deleted already
	}
	refs := latest.GetOwnerReferences()
	if len(refs) == 0 {
		return nil
	}
	var solid, gone []*corev1.OwnerReference
	waiting := 0
	for _, ref := range refs {
		st, err := c.owner(ctx, n.namespace, ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerSolid:
			solid = append(solid, ref)
		case ownerDangling:
			gone = append(gone, ref)
		case ownerWaiting:
			waiting++
			gone = append(gone, ref)
		}
	}
	r := c.o.Resources[n.kind]
	switch {
	case len(solid) > 0:
		if len(gone) == 0 {
			return nil
		}
		// It stays with its live owners; the others let it go.
		return ignoreGone(r.UpdateMeta(ctx, n.namespace, n.name, uid, func(m *corev1.ObjectMeta) bool {
			before := len(m.OwnerReferences)
			m.OwnerReferences = slices.DeleteFunc(m.OwnerReferences, func(o *corev1.OwnerReference) bool {
				return slices.ContainsFunc(gone, func(g *corev1.OwnerReference) bool { return g.GetUid() == o.GetUid() })
			})
			return len(m.OwnerReferences) != before
		}))
	case waiting > 0 && len(c.dependentsOf(uid)) > 0:
		// An owner waits for it and it has dependents of its own: it is
		// deleted in the foreground too. Its references stop blocking
		// first if a dependent waits in the foreground as well (a cycle).
		for _, dep := range c.dependentsOf(uid) {
			if dep.foreground {
				if err := ignoreGone(r.UpdateMeta(ctx, n.namespace, n.name, uid, unblock)); err != nil {
					return err
				}
				break
			}
		}
		c.log.Debug("deleting in the foreground, an owner waits for it", "resource", r.Kind().String(), "namespace", n.namespace, "name", n.name)
		return c.delete(ctx, n, "Foreground")
	}
	policy := "Background"
	switch {
	case slices.Contains(latest.GetFinalizers(), FinalizerOrphan):
		policy = "Orphan"
	case slices.Contains(latest.GetFinalizers(), FinalizerForeground):
		policy = "Foreground"
	}
	c.log.Debug("deleting, its owners are gone", "resource", r.Kind().String(), "namespace", n.namespace, "name", n.name, "policy", policy)
	return c.delete(ctx, n, policy)
}

// unblock makes every owner reference non-blocking.
func unblock(m *corev1.ObjectMeta) bool {
	changed := false
	for _, o := range m.OwnerReferences {
		if o.GetBlockOwnerDeletion() {
			f := false
			o.BlockOwnerDeletion = &f
			changed = true
		}
	}
	return changed
}

// deleteDependentsFirst handles an owner deleted in the foreground: its
// finalizer goes once no dependent blocks it; until then the blocking
// dependents are deleted (each Deleted event queues the owner again).
func (c *Collector) deleteDependentsFirst(ctx context.Context, owner node) error {
	var blocking []node
	for _, dep := range c.dependentsOf(owner.uid) {
		if slices.ContainsFunc(dep.owners, func(o *corev1.OwnerReference) bool { return o.GetUid() == owner.uid && o.GetBlockOwnerDeletion() }) {
			blocking = append(blocking, dep)
		}
	}
	if len(blocking) == 0 {
		r := c.o.Resources[owner.kind]
		c.log.Debug("dependents gone, removing the foregroundDeletion finalizer", "resource", r.Kind().String(), "namespace", owner.namespace, "name", owner.name)
		return ignoreGone(r.UpdateMeta(ctx, owner.namespace, owner.name, owner.uid, removeFinalizer(FinalizerForeground)))
	}
	for _, dep := range blocking {
		if !dep.deleting {
			c.queue.Add(item{attemptToDelete, dep.uid})
		}
	}
	return nil
}

// attemptToOrphan is kube's attemptToOrphan: the dependents lose their
// references to the owner, then the owner its orphan finalizer.
func (c *Collector) attemptToOrphan(ctx context.Context, uid string) error {
	owner, ok := c.lookup(uid)
	if !ok {
		return nil
	}
	latest, err := c.get(ctx, owner)
	if err != nil || latest == nil {
		return err
	}
	if latest.GetDeletionTimestamp() == nil || !slices.Contains(latest.GetFinalizers(), FinalizerOrphan) {
		return nil
	}
	var errs []error
	for _, dep := range c.dependentsOf(uid) {
		err := c.o.Resources[dep.kind].UpdateMeta(ctx, dep.namespace, dep.name, dep.uid, func(m *corev1.ObjectMeta) bool {
			before := len(m.OwnerReferences)
			m.OwnerReferences = slices.DeleteFunc(m.OwnerReferences, func(o *corev1.OwnerReference) bool { return o.GetUid() == uid })
			return len(m.OwnerReferences) != before
		})
		if err = ignoreGone(err); err != nil {
			errs = append(errs, fmt.Errorf("orphaning %s/%s: %w", dep.namespace, dep.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r := c.o.Resources[owner.kind]
	c.log.Debug("dependents orphaned, removing the orphan finalizer", "resource", r.Kind().String(), "namespace", owner.namespace, "name", owner.name)
	return ignoreGone(r.UpdateMeta(ctx, owner.namespace, owner.name, uid, removeFinalizer(FinalizerOrphan)))
}

// delete deletes the object n names (only it: its uid is a
// precondition) with a propagation policy.
func (c *Collector) delete(ctx context.Context, n node, policy string) error {
	uid := n.uid
	err := c.o.Resources[n.kind].Delete(ctx, n.namespace, n.name, &corev1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &corev1.Preconditions{Uid: &uid}})
	if errors.Is(err, metaclient.ErrConflict) {
		return nil // replaced by another object of that name
	}
	return ignoreGone(err)
}

func removeFinalizer(f string) func(m *corev1.ObjectMeta) bool {
	return func(m *corev1.ObjectMeta) bool {
		before := len(m.Finalizers)
		m.Finalizers = slices.DeleteFunc(m.Finalizers, func(x string) bool { return x == f })
		return len(m.Finalizers) != before
	}
}

func ignoreGone(err error) error {
	if errors.Is(err, metaclient.ErrNotFound) {
		return nil
	}
	return err
}
