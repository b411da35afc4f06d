package storage

import "context"

// Converted serves the objects of another store in a second form: each
// object read is converted with to, each written with from. kube-apiserver
// keeps events.k8s.io/v1 Events and core/v1 Events as one object; a
// Converted over the core events' store serves the other version with the
// same resourceVersions, the same watch and no second copy.
type Converted[T, U Object] struct {
	inner Interface[U]
	to    func(U) T
	from  func(T) U
}

var _ Interface[Object] = (*Converted[Object, Object])(nil)

// NewConverted serves inner's objects as T.
func NewConverted[T, U Object](inner Interface[U], to func(U) T, from func(T) U) *Converted[T, U] {
	return &Converted[T, U]{inner: inner, to: to, from: from}
}

func (c *Converted[T, U]) convert(obj U, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	return c.to(obj), nil
}

func (c *Converted[T, U]) Get(ctx context.Context, namespace, name string) (T, error) {
	return c.convert(c.inner.Get(ctx, namespace, name))
}

// List converts the objects the filter sees, and those answered.
func (c *Converted[T, U]) List(ctx context.Context, namespace string, o ListOptions[T]) (ListResult[T], error) {
	inner := ListOptions[U]{Limit: o.Limit, Continue: o.Continue, ResourceVersion: o.ResourceVersion}
	if o.Filter != nil {
		inner.Filter = func(u U) bool { return o.Filter(c.to(u)) }
	}
	res, err := c.inner.List(ctx, namespace, inner)
	if err != nil {
		return ListResult[T]{}, err
	}
	out := ListResult[T]{Items: make([]T, len(res.Items)), ResourceVersion: res.ResourceVersion, Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}
	for i, u := range res.Items {
		out.Items[i] = c.to(u)
	}
	return out, nil
}

// Watch converts inner's events; the channel closes when inner's does.
func (c *Converted[T, U]) Watch(ctx context.Context, namespace, fromRV string) (<-chan Event[T], error) {
	in, err := c.inner.Watch(ctx, namespace, fromRV)
	if err != nil {
		return nil, err
	}
	out := make(chan Event[T])
	go func() {
		defer close(out)
		for ev := range in {
			t := Event[T]{Type: ev.Type, Err: ev.Err}
			if ev.Err == nil {
				t.Object = c.to(ev.Object)
			}
			select {
			case out <- t:
			case <-ctx.Done():
				// The inner watch ends with ctx too; drain it so that
				// its sender is not left blocked.
				for range in {
				}
				return
			}
		}
	}()
	return out, nil
}

func (c *Converted[T, U]) RequestProgress(ctx context.Context) error {
	return c.inner.RequestProgress(ctx)
}

func (c *Converted[T, U]) Create(ctx context.Context, namespace, name string, obj T) (T, error) {
	return c.convert(c.inner.Create(ctx, namespace, name, c.from(obj)))
}

func (c *Converted[T, U]) Update(ctx context.Context, namespace, name string, obj T) (T, error) {
	return c.convert(c.inner.Update(ctx, namespace, name, c.from(obj)))
}

func (c *Converted[T, U]) Delete(ctx context.Context, namespace, name string, pre Preconditions) (T, error) {
	return c.convert(c.inner.Delete(ctx, namespace, name, pre))
}

func (c *Converted[T, U]) DeleteNamespace(ctx context.Context, namespace string) (int64, error) {
	return c.inner.DeleteNamespace(ctx, namespace)
}

// RewriteStale rewrites nothing: the objects are the inner store's, which
// rewrites its own.
func (c *Converted[T, U]) RewriteStale(context.Context) (int, error) { return 0, nil }
