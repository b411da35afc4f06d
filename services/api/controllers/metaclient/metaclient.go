// Package metaclient is the metadata-only view of the api's kinds that
// the built-in controllers work through (kube's metadata client): list,
// watch, get, delete and metadata updates of one kind, in the api's own
// process, with the api's deletion semantics but no authorization.
package metaclient

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/internal/backoff"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Errors a Resource returns, to test with errors.Is.
var (
	ErrNotFound = errors.New("metaclient: not found")
	ErrConflict = errors.New("metaclient: conflict")
)

// Kind names a served kind.
type Kind struct {
	Group, Version, Kind, Resource string
	Namespaced                     bool
}

// String is the resource as kubectl names it (pods, roles.rbac.authorization.k8s.io).
func (k Kind) String() string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

// EventType is what happened to an object.
type EventType int

// The event types of a watch.
const (
	Added EventType = iota
	Modified
	Deleted
)

// Event is one change seen by a watch.
type Event struct {
	Type   EventType
	Object *corev1.ObjectMeta
}

// Resource is one kind's objects, by their metadata.
type Resource interface {
	Kind() Kind
	// List returns every object in namespace ("" for all) and the
	// revision of the list.
	List(ctx context.Context, namespace string) (items []*corev1.ObjectMeta, revision string, err error)
	// Watch streams the changes after revision; the channel closes when
	// the watch ends (ctx, or an error: list again).
	Watch(ctx context.Context, revision string) (<-chan Event, error)
	// Get returns an object's metadata; ErrNotFound when it is not there.
	Get(ctx context.Context, namespace, name string) (*corev1.ObjectMeta, error)
	// Delete deletes an object as a client's delete with opts would;
	// ErrNotFound when it is gone, ErrConflict when a precondition failed.
	Delete(ctx context.Context, namespace, name string, opts *corev1.DeleteOptions) error
	// UpdateMeta changes the metadata of the object with this uid
	// (ErrNotFound when it is gone or replaced): mutate changes m and
	// says whether it did (false writes nothing). It is retried on
	// conflicts; an update leaving a deleted object without finalizers
	// removes it.
	UpdateMeta(ctx context.Context, namespace, name, uid string, mutate func(m *corev1.ObjectMeta) bool) error
}

// Handler hears what Follow sees: every list (the whole current set of
// objects, after a start or a broken watch), then each change.
type Handler interface {
	Listed(items []*corev1.ObjectMeta)
	Changed(ev Event)
}

// Follow lists r and watches it from that list until ctx ends, listing
// again whenever the watch breaks (waits as policy says).
func Follow(ctx context.Context, r Resource, h Handler, policy backoff.Policy, log *slog.Logger) {
	policy.Loop(ctx, func(ctx context.Context) error {
		items, rev, err := r.List(ctx, "")
		if err != nil {
			return err
		}
		h.Listed(items)
		events, err := r.Watch(ctx, rev)
		if err != nil {
			return err
		}
		for ev := range events {
			h.Changed(ev)
		}
		return errors.New("watch ended")
	}, func(err error, retryIn time.Duration) {
		log.Debug("following again", "resource", r.Kind().String(), "reason", err, "retry-in", retryIn)
	})
}
