package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/controllers"
	"github.com/portico-dev/portico/services/api/controllers/garbagecollector"
	"github.com/portico-dev/portico/services/api/controllers/metaclient"
	nscontroller "github.com/portico-dev/portico/services/api/controllers/namespace"
	"github.com/portico-dev/portico/services/api/storage"
)

// RunControllers runs the built-in controllers named in enabled
// (controllers.Parse) until ctx ends: the garbage collector over every
// kind, the namespace cleaner over every namespaced kind. They work on
// storage directly, with the same deletion semantics as the API and no
// authorization.
func (s *Service) RunControllers(ctx context.Context, enabled map[string]bool) error {
	var all, namespaced []metaclient.Resource
	var nsRes *metaResource[*corev1.Namespace]
	for _, h := range s.handlers {
		mr, ok := h.(interface{ metadata() metaclient.Resource })
		if !ok {
			continue
		}
		r := mr.metadata()
		all = append(all, r)
		if r.Kind().Namespaced {
			namespaced = append(namespaced, r)
		}
		if n, ok := r.(*metaResource[*corev1.Namespace]); ok {
			nsRes = n
		}
	}
	var runs []func(context.Context)
	if enabled[controllers.GarbageCollector] {
		gc, err := garbagecollector.New(garbagecollector.Options{Resources: all, Logger: s.log})
		if err != nil {
			return err
		}
		runs = append(runs, gc.Run)
	}
	if enabled[controllers.Namespace] {
		nc, err := nscontroller.New(nscontroller.Options{
			Namespaces: namespaceClient{nsRes, s}, Content: namespaced, Logger: s.log,
			Abandoned: s.abandoned, Now: s.namespaces.now,
		})
		if err != nil {
			return err
		}
		runs = append(runs, nc.Run)
	}
	for name := range enabled {
		s.log.Info("built-in controller enabled", "controller", name)
	}
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// nodeMonitorGracePeriod is how long a node may go without a heartbeat
// before its kubelet is taken for gone (kube-controller-manager's
// --node-monitor-grace-period).
const nodeMonitorGracePeriod = 40 * time.Second

// abandoned is true for a pod that no kubelet will confirm the deletion
// of: its node does not exist, is not Ready, or has not reported for
// nodeMonitorGracePeriod.
func (s *Service) abandoned(ctx context.Context, kind metaclient.Kind, m *corev1.ObjectMeta) bool {
	if kind.Group != "" || kind.Resource != "pods" {
		return false
	}
	pod, err := s.pods.store.Get(ctx, m.GetNamespace(), m.GetName())
	if err != nil {
		return false
	}
	node, err := s.nodes.store.Get(ctx, "", pod.GetSpec().GetNodeName())
	if errors.Is(err, storage.ErrNotFound) {
		return true
	}
	if err != nil {
		return false
	}
	for _, c := range node.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			fresh := c.GetLastHeartbeatTime() != nil && s.nodes.now().Sub(c.GetLastHeartbeatTime().AsTime()) < nodeMonitorGracePeriod
			return c.GetStatus() != "True" || !fresh
		}
	}
	return true
}

// metadata is the kind's metaclient view.
func (r *resource[T]) metadata() metaclient.Resource { return &metaResource[T]{r: r} }

// metaResource is a resource[T] as metaclient.Resource.
type metaResource[T storage.Object] struct{ r *resource[T] }

func (m *metaResource[T]) Kind() metaclient.Kind {
	r := m.r
	return metaclient.Kind{Group: r.group, Version: r.version, Kind: r.kind, Resource: r.plural, Namespaced: r.namespaced}
}

func (m *metaResource[T]) List(ctx context.Context, namespace string) ([]*corev1.ObjectMeta, string, error) {
	res, err := m.r.store.List(ctx, namespace, storage.ListOptions[T]{})
	if err != nil {
		return nil, "", err
	}
	out := make([]*corev1.ObjectMeta, len(res.Items))
	for i, obj := range res.Items {
		out[i] = metaOf(obj)
	}
	return out, res.ResourceVersion, nil
}

func (m *metaResource[T]) Watch(ctx context.Context, revision string) (<-chan metaclient.Event, error) {
	events, err := m.r.store.Watch(ctx, "", revision)
	if err != nil {
		return nil, err
	}
	out := make(chan metaclient.Event)
	go func() {
		defer close(out)
		for ev := range events {
			var typ metaclient.EventType
			switch ev.Type {
			case storage.Added:
				typ = metaclient.Added
			case storage.Modified:
				typ = metaclient.Modified
			case storage.Deleted:
				typ = metaclient.Deleted
			case storage.Bookmark:
				continue
			default:
				return // an error: the caller lists again
			}
			select {
			case out <- metaclient.Event{Type: typ, Object: metaOf(ev.Object)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (m *metaResource[T]) Get(ctx context.Context, namespace, name string) (*corev1.ObjectMeta, error) {
	obj, err := m.r.store.Get(ctx, namespace, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, metaclient.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return metaOf(obj), nil
}

func (m *metaResource[T]) Delete(ctx context.Context, namespace, name string, opts *corev1.DeleteOptions) error {
	var err error
	if m.r.onDelete != nil {
		_, err = m.r.onDelete(ctx, name, opts, false)
	} else {
		_, _, err = m.r.remove(ctx, namespace, name, opts, false)
	}
	return metaErr(err)
}

// metaErr maps the api's errors to metaclient's.
func metaErr(err error) error {
	switch apierrors.ReasonOf(err) {
	case apierrors.ReasonNotFound:
		return metaclient.ErrNotFound
	case apierrors.ReasonConflict:
		return metaclient.ErrConflict
	}
	return err
}

// metaUpdateRetries bounds UpdateMeta's retries on conflicts.
const metaUpdateRetries = 20

func (m *metaResource[T]) UpdateMeta(ctx context.Context, namespace, name, uid string, mutate func(*corev1.ObjectMeta) bool) error {
	r := m.r
	for attempt := 0; ; attempt++ {
		cur, err := r.store.Get(ctx, namespace, name)
		if errors.Is(err, storage.ErrNotFound) {
			return metaclient.ErrNotFound
		}
		if err != nil {
			return err
		}
		if metaOf(cur).GetUid() != uid {
			return metaclient.ErrNotFound
		}
		next := proto.Clone(cur).(T)
		if !mutate(metaOf(next)) {
			return nil
		}
		_, err = r.commit(ctx, namespace, name, next, cur)
		if errors.Is(err, storage.ErrConflict) && attempt < metaUpdateRetries {
			continue
		}
		return metaErr(r.err(err, name))
	}
}

// namespaceClient is the namespace cleaner's view of namespaces.
type namespaceClient struct {
	*metaResource[*corev1.Namespace]
	s *Service
}

func (c namespaceClient) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := c.r.store.Get(ctx, "", name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, metaclient.ErrNotFound
	}
	return ns, err
}

func (c namespaceClient) Finalize(ctx context.Context, ns *corev1.Namespace) error {
	_, err := c.s.finalizeNamespace(ctx, &corev1.UpdateNamespaceFinalizeRequest{Name: ns.GetMetadata().GetName(), Namespace: ns})
	return metaErr(err)
}
