// Package fake is an in-memory metaclient.Resource for the controllers'
// unit tests: objects by namespace and name, deletes that honour
// finalizers and the garbage collector's propagation finalizers, and a
// record of every write.
package fake

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
)

// Resource is one kind's objects in memory. Watch is not supported:
// tests feed the controllers' handlers themselves.
type Resource struct {
	K metaclient.Kind

	mu      sync.Mutex
	objects map[string]*corev1.ObjectMeta
	// Writes records "delete ns/name policy" and "update ns/name".
	Writes []string
}

// New makes an empty resource of kind k holding objs.
func New(k metaclient.Kind, objs ...*corev1.ObjectMeta) *Resource {
	r := &Resource{K: k, objects: map[string]*corev1.ObjectMeta{}}
	for _, m := range objs {
		r.objects[key(m.GetNamespace(), m.GetName())] = m
	}
	return r
}

func key(ns, name string) string { return ns + "/" + name }

func (r *Resource) Kind() metaclient.Kind { return r.K }

func (r *Resource) List(_ context.Context, namespace string) ([]*corev1.ObjectMeta, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*corev1.ObjectMeta
	for _, m := range r.objects {
		if namespace == "" || m.GetNamespace() == namespace {
			out = append(out, proto.Clone(m).(*corev1.ObjectMeta))
		}
	}
	slices.SortFunc(out, func(a, b *corev1.ObjectMeta) int { return compare(key(a.Namespace, a.Name), key(b.Namespace, b.Name)) })
	return out, "1", nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Resource) Watch(context.Context, string) (<-chan metaclient.Event, error) {
	return nil, fmt.Errorf("fake: no watch")
}

func (r *Resource) Get(_ context.Context, namespace, name string) (*corev1.ObjectMeta, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.objects[key(namespace, name)]
	if !ok {
		return nil, metaclient.ErrNotFound
	}
	return proto.Clone(m).(*corev1.ObjectMeta), nil
}

// Delete marks an object with finalizers (adding the one its policy
// asks for) and removes one without; a grace period keeps it marked.
func (r *Resource) Delete(_ context.Context, namespace, name string, opts *corev1.DeleteOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key(namespace, name)
	m, ok := r.objects[k]
	if !ok {
		return metaclient.ErrNotFound
	}
	if p := opts.GetPreconditions(); p != nil && p.Uid != nil && p.GetUid() != m.GetUid() {
		return metaclient.ErrConflict
	}
	r.Writes = append(r.Writes, fmt.Sprintf("delete %s %s", k, opts.GetPropagationPolicy()))
	switch opts.GetPropagationPolicy() {
	case "Foreground":
		m.Finalizers = append(m.Finalizers, "foregroundDeletion")
	case "Orphan":
		m.Finalizers = append(m.Finalizers, "orphan")
	}
	grace := m.GetDeletionGracePeriodSeconds()
	if opts.GracePeriodSeconds != nil {
		grace = opts.GetGracePeriodSeconds()
	}
	if len(m.Finalizers) == 0 && grace == 0 {
		delete(r.objects, k)
		return nil
	}
	if m.DeletionTimestamp == nil {
		m.DeletionTimestamp = timestamppb.Now()
	}
	m.DeletionGracePeriodSeconds = &grace
	return nil
}

func (r *Resource) UpdateMeta(_ context.Context, namespace, name, uid string, mutate func(*corev1.ObjectMeta) bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key(namespace, name)
	m, ok := r.objects[k]
	if !ok || m.GetUid() != uid {
		return metaclient.ErrNotFound
	}
	next := proto.Clone(m).(*corev1.ObjectMeta)
	if !mutate(next) {
		return nil
	}
	r.Writes = append(r.Writes, "update "+k)
	if next.DeletionTimestamp != nil && len(next.Finalizers) == 0 && next.GetDeletionGracePeriodSeconds() == 0 {
		delete(r.objects, k)
		return nil
	}
	r.objects[k] = next
	return nil
}
