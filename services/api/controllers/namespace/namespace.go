// Package namespace is the api's built-in namespace cleaner, the part of
// kube-controller-manager's namespace controller that finishes a
// namespace's deletion: it deletes everything in a Terminating namespace
// (in the background, as kube's does), waits until nothing is left, then
// takes the "kubernetes" finalizer out of spec.finalizers through
// namespaces/finalize, which removes the namespace once no other
// finalizer holds it.
//
// Content whose graceful deletion nothing will confirm (a pod whose grace
// period has run out, or whose node has no kubelet, as Options.Abandoned
// tells) is deleted with a zero grace period, so that a namespace never
// stays Terminating for want of a kubelet.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/backoff"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
	"github.com/portico-dev/portico/services/api/controllers/workqueue"
)

// FinalizerKubernetes is the finalizer in spec.finalizers that this
// controller removes.
const FinalizerKubernetes = "kubernetes"

// Namespaces is what the cleaner needs of namespaces besides their
// metadata: spec.finalizers, and the finalize subresource.
type Namespaces interface {
	metaclient.Resource
	// GetNamespace reads a namespace; metaclient.ErrNotFound when gone.
	GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error)
	// Finalize writes ns's spec.finalizers (namespaces/finalize), on
	// the condition that ns's resourceVersion is the stored one
	// (metaclient.ErrConflict otherwise).
	Finalize(ctx context.Context, ns *corev1.Namespace) error
}

// Options configure a Cleaner.
type Options struct {
	Namespaces Namespaces
	// Content are the namespaced kinds to empty a namespace of.
	Content []metaclient.Resource
	// Abandoned is true for an object being deleted gracefully that
	// nothing will confirm (a pod whose node has no kubelet); nil for
	// none. Such objects are deleted with a zero grace period.
	Abandoned func(ctx context.Context, kind metaclient.Kind, m *corev1.ObjectMeta) bool
	Logger    *slog.Logger
	// Workers is how many namespaces are emptied at once (default 1).
	Workers int
	// Queue bounds the work queue (default workqueue.Defaults, retries
	// from 100ms to 5s: a namespace is looked at again until empty).
	Queue workqueue.Options
	// Follow is the backoff of the namespace watch (default backoff.Streams).
	Follow backoff.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.Queue == (workqueue.Options{}) {
		o.Queue = workqueue.Defaults()
		o.Queue.BaseDelay, o.Queue.MaxDelay = 100*time.Millisecond, 5*time.Second
	}
	if o.Follow == (backoff.Policy{}) {
		o.Follow = backoff.Streams()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports what a cleaner cannot be built from; unset fields take
// their defaults.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Namespaces == nil {
		errs = append(errs, errors.New("namespace: the namespaces are required"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("namespace: a logger is required"))
	}
	if o.Workers < 1 {
		errs = append(errs, errors.New("namespace: at least one worker is required"))
	}
	return errors.Join(append(errs, o.Queue.Validate())...)
}

// Cleaner is the namespace cleaner.
type Cleaner struct {
	o     Options
	log   *slog.Logger
	queue *workqueue.Queue[string]
}

// New builds a cleaner.
func New(o Options) (*Cleaner, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	q, err := workqueue.New[string](o.Queue)
	if err != nil {
		return nil, err
	}
	return &Cleaner{o: o, log: o.Logger.With("controller", "namespace"), queue: q}, nil
}

// Run follows the namespaces and empties the Terminating ones until ctx
// ends.
func (c *Cleaner) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		metaclient.Follow(ctx, c.o.Namespaces, c, c.o.Follow, c.log)
	}()
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
	<-done
}

// Listed queues every namespace being deleted.
func (c *Cleaner) Listed(items []*corev1.ObjectMeta) {
	for _, m := range items {
		c.Changed(metaclient.Event{Type: metaclient.Modified, Object: m})
	}
}

// Changed queues a namespace being deleted.
func (c *Cleaner) Changed(ev metaclient.Event) {
	if ev.Type != metaclient.Deleted && ev.Object.GetDeletionTimestamp() != nil {
		if !c.queue.Add(ev.Object.GetName()) {
			// Full: the next list (or a retry) brings it back.
			c.log.Warn("namespace queue full", "namespace", ev.Object.GetName())
		}
	}
}

func (c *Cleaner) work(ctx context.Context) bool {
	name, ok := c.queue.Get(ctx)
	if !ok {
		return false
	}
	defer c.queue.Done(name)
	done, err := c.clean(ctx, name)
	switch {
	case ctx.Err() != nil:
	case err != nil:
		c.log.Info("namespace deletion will be retried", "namespace", name, "error", err)
		c.queue.Retry(name)
	case !done:
		c.queue.Retry(name)
	default:
		c.queue.Forget(name)
	}
	return true
}

// clean takes one step of a namespace's deletion (kube's namespace
// deleter): done is false while content remains.
func (c *Cleaner) clean(ctx context.Context, name string) (done bool, err error) {
	ns, err := c.o.Namespaces.GetNamespace(ctx, name)
	if errors.Is(err, metaclient.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if ns.GetMetadata().GetDeletionTimestamp() == nil || !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes) {
		return true, nil
	}
	remaining := 0
	for _, r := range c.o.Content {
		n, err := c.empty(ctx, r, name)
		if err != nil {
			return false, fmt.Errorf("deleting %s: %w", r.Kind(), err)
		}
		remaining += n
	}
	if remaining > 0 {
		c.log.Debug("namespace content remaining", "namespace", name, "objects", remaining)
		return false, nil
	}
	next := proto.Clone(ns).(*corev1.Namespace)
	next.Spec.Finalizers = slices.DeleteFunc(slices.Clone(ns.Spec.Finalizers), func(f string) bool { return f == FinalizerKubernetes })
	if err := c.o.Namespaces.Finalize(ctx, next); err != nil {
		if errors.Is(err, metaclient.ErrNotFound) {
			return true, nil
		}
		return false, err
	}
	c.log.Info("namespace emptied and finalized", "namespace", name)
	return true, nil
}

// empty deletes every object of r in namespace and returns how many are
// left (held by finalizers or a grace period).
func (c *Cleaner) empty(ctx context.Context, r metaclient.Resource, namespace string) (int, error) {
	items, _, err := r.List(ctx, namespace)
	if err != nil {
		return 0, err
	}
	left := 0
	for _, m := range items {
		if m.GetDeletionTimestamp() == nil {
			if m, err = c.delete(ctx, r, m, nil); err != nil || m == nil {
				if err != nil {
					return 0, err
				}
				continue
			}
		}
		if m.GetDeletionGracePeriodSeconds() > 0 && c.unconfirmed(ctx, r.Kind(), m) {
			zero := int64(0)
			if m, err = c.delete(ctx, r, m, &zero); err != nil || m == nil {
				if err != nil {
					return 0, err
				}
				continue
			}
		}
		left++ // waiting for its finalizers, or its kubelet
	}
	return left, nil
}

// delete deletes m (in the background, with grace when not nil) and
// returns it as it is left, nil when gone.
func (c *Cleaner) delete(ctx context.Context, r metaclient.Resource, m *corev1.ObjectMeta, grace *int64) (*corev1.ObjectMeta, error) {
	background, uid := "Background", m.GetUid()
	err := r.Delete(ctx, m.GetNamespace(), m.GetName(), &corev1.DeleteOptions{
		PropagationPolicy: &background, GracePeriodSeconds: grace, Preconditions: &corev1.Preconditions{Uid: &uid}})
	if errors.Is(err, metaclient.ErrNotFound) || errors.Is(err, metaclient.ErrConflict) {
		return nil, nil // gone, or replaced: the next pass sees the new one
	}
	if err != nil {
		return nil, err
	}
	st, err := r.Get(ctx, m.GetNamespace(), m.GetName())
	if errors.Is(err, metaclient.ErrNotFound) || (err == nil && st.GetUid() != uid) {
		return nil, nil
	}
	return st, err
}

// unconfirmed is true for an object whose graceful deletion will not be
// confirmed: its grace period has run out, or nothing runs it.
func (c *Cleaner) unconfirmed(ctx context.Context, kind metaclient.Kind, m *corev1.ObjectMeta) bool {
	if !c.o.Now().Before(m.GetDeletionTimestamp().AsTime()) {
		return true
	}
	return c.o.Abandoned != nil && c.o.Abandoned(ctx, kind, m)
}
