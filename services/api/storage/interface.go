package storage

import "context"

// Interface is what the api's resources call on their storage. *Store
// answers from etcd; *Cache answers reads from memory kept current by
// one etcd watch and passes writes to the *Store it wraps. Callers never
// know which one answers: both have etcd's semantics (see Store), and
// every object either returns is the caller's to modify, but the items
// of a List with ListOptions.ReadOnly.
type Interface[T Object] interface {
	Get(ctx context.Context, namespace, name string) (T, error)
	List(ctx context.Context, namespace string, o ListOptions[T]) (ListResult[T], error)
	Watch(ctx context.Context, namespace, fromRV string) (<-chan Event[T], error)
	// RequestProgress asks for a Bookmark on every watch that has all
	// events up to the current revision.
	RequestProgress(ctx context.Context) error

	Create(ctx context.Context, namespace, name string, obj T) (T, error)
	Update(ctx context.Context, namespace, name string, obj T) (T, error)
	Delete(ctx context.Context, namespace, name string, pre Preconditions) (T, error)
	DeleteNamespace(ctx context.Context, namespace string) (int64, error)
	RewriteStale(ctx context.Context) (int, error)
}

var (
	_ Interface[Object] = (*Store[Object])(nil)
	_ Interface[Object] = (*Cache[Object])(nil)
)
