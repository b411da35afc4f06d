// Package storage keeps API objects in etcd v3 with etcd's semantics: the
// resourceVersion of an object is the etcd revision of its last write,
// updates are compare-and-swap on it, lists are snapshots at one revision
// and watches are etcd watches.
//
// Values are the deterministic protobuf encoding of the object with
// metadata.resourceVersion cleared, passed through the store's value
// transformer when it has one (WithTransformer: encryption at rest);
// every read fills resourceVersion from the key's ModRevision. Keys are
// <prefix><namespace>/<name> for namespaced resources and <prefix><name>
// for cluster-scoped ones.
package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage/value"
)

// MaxValueBytes is the largest encoded object a Store writes (etcd's
// default request limit, as kube-apiserver enforces).
const MaxValueBytes = 3 << 19 // 1.5 MiB

// Object is a stored API object: a proto message with ObjectMeta in a
// field named "metadata".
type Object interface {
	proto.Message
	GetMetadata() *corev1.ObjectMeta
}

// Store keeps the objects of one resource under a key prefix, e.g.
// "/registry/configmaps/". It is safe for concurrent use.
type Store[T Object] struct {
	client *clientv3.Client
	prefix string
	newObj func() T
	// transformer turns encoded objects into stored values and back; nil
	// stores them as they are.
	transformer value.Transformer
}

// Option configures a Store.
type Option func(*storeOptions)

type storeOptions struct {
	transformer value.Transformer
}

// WithTransformer passes every value written through t and every value
// read back, lists and watch events included; nil is no transformer.
func WithTransformer(t value.Transformer) Option {
	return func(o *storeOptions) { o.transformer = t }
}

// NewStore returns a store for the objects under prefix; a missing trailing
// "/" is added. newObj returns a new empty message, e.g.
// func() *corev1.ConfigMap { return new(corev1.ConfigMap) }.
func NewStore[T Object](c *clientv3.Client, prefix string, newObj func() T, opts ...Option) *Store[T] {
	if c == nil || newObj == nil || strings.Trim(prefix, "/") == "" {
		panic("storage: NewStore needs a client, a non-root prefix and newObj")
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return &Store[T]{client: c, prefix: prefix, newObj: newObj, transformer: o.transformer}
}

// Key returns the etcd key of an object: prefix + namespace + "/" + name, or
// prefix + name when namespace is "".
func (s *Store[T]) Key(namespace, name string) string {
	if namespace == "" {
		return s.prefix + name
	}
	return s.prefix + namespace + "/" + name
}

// key is Key for a valid namespace and name.
func (s *Store[T]) key(namespace, name string) (string, error) {
	if name == "" || strings.Contains(name, "/") || strings.Contains(namespace, "/") {
		return "", fmt.Errorf("%w: namespace %q, name %q", ErrInvalidKey, namespace, name)
	}
	return s.Key(namespace, name), nil
}

// listPrefix is the key prefix of every object in namespace ("" = all).
func (s *Store[T]) listPrefix(namespace string) (string, error) {
	if namespace == "" {
		return s.prefix, nil
	}
	if strings.Contains(namespace, "/") {
		return "", fmt.Errorf("%w: namespace %q", ErrInvalidKey, namespace)
	}
	return s.prefix + namespace + "/", nil
}

var marshalOptions = proto.MarshalOptions{Deterministic: true}

// encode returns a copy of obj, to become the result of the write, and its
// encoding (before the transformer). obj itself is not modified.
func (s *Store[T]) encode(obj T) (T, []byte, error) {
	var zero T
	if obj.GetMetadata() == nil {
		return zero, nil, fmt.Errorf("storage: object has no metadata")
	}
	out := proto.Clone(obj).(T)
	out.GetMetadata().ResourceVersion = ""
	data, err := marshalOptions.Marshal(out)
	if err != nil {
		return zero, nil, fmt.Errorf("storage: encode: %w", err)
	}
	if len(data) > MaxValueBytes {
		return zero, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxValueBytes)
	}
	return out, data, nil
}

// toStorage is the value to store under key for an encoding.
func (s *Store[T]) toStorage(key string, data []byte) (string, error) {
	if s.transformer == nil {
		return string(data), nil
	}
	out, err := s.transformer.TransformToStorage(data, key)
	if err != nil {
		return "", fmt.Errorf("storage: transform %s: %w", key, err)
	}
	return string(out), nil
}

// fromStorage is the encoding stored in kv; stale reports that the
// transformer would store it differently now (an older key).
func (s *Store[T]) fromStorage(kv *mvccpb.KeyValue) (data []byte, stale bool, err error) {
	if s.transformer == nil {
		return kv.Value, false, nil
	}
	data, stale, err = s.transformer.TransformFromStorage(kv.Value, string(kv.Key))
	if err != nil {
		return nil, false, fmt.Errorf("storage: read %s: %w", kv.Key, err)
	}
	return data, stale, nil
}

// decode reads a stored value and sets its resourceVersion to rev.
func (s *Store[T]) decode(kv *mvccpb.KeyValue, rev int64) (T, error) {
	obj, _, _, err := s.decodeValue(kv, rev)
	return obj, err
}

// decodeValue is decode that also returns the object's encoding and
// whether its stored form is stale.
func (s *Store[T]) decodeValue(kv *mvccpb.KeyValue, rev int64) (T, []byte, bool, error) {
	var zero T
	data, stale, err := s.fromStorage(kv)
	if err != nil {
		return zero, nil, false, err
	}
	obj := s.newObj()
	if err := proto.Unmarshal(data, obj); err != nil {
		return zero, nil, false, fmt.Errorf("storage: decode %s: %w", kv.Key, err)
	}
	setResourceVersion(obj, rev)
	return obj, data, stale, nil
}

// setResourceVersion sets obj's metadata.resourceVersion, creating the
// metadata when obj has none.
func setResourceVersion(obj Object, rev int64) {
	m := obj.GetMetadata()
	if m == nil {
		m = &corev1.ObjectMeta{}
		pm := obj.ProtoReflect()
		pm.Set(pm.Descriptor().Fields().ByName("metadata"), protoreflect.ValueOfMessage(m.ProtoReflect()))
	}
	m.ResourceVersion = strconv.FormatInt(rev, 10)
}

// parseRV parses a non-empty resourceVersion.
func parseRV(rv string) (int64, error) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidResourceVersion, rv)
	}
	return n, nil
}

// Create stores obj under namespace/name if nothing is stored there yet
// (ErrAlreadyExists otherwise) and returns it with its new resourceVersion.
// obj's own resourceVersion is ignored and obj is not modified.
func (s *Store[T]) Create(ctx context.Context, namespace, name string, obj T) (T, error) {
	var zero T
	key, err := s.key(namespace, name)
	if err != nil {
		return zero, err
	}
	out, data, err := s.encode(obj)
	if err != nil {
		return zero, err
	}
	sv, err := s.toStorage(key, data)
	if err != nil {
		return zero, err
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, sv)).
		Commit()
	if err != nil {
		return zero, etcdErr(err)
	}
	if !resp.Succeeded {
		return zero, fmt.Errorf("%w: %s", ErrAlreadyExists, key)
	}
	setResourceVersion(out, resp.Header.Revision)
	return out, nil
}

// Get returns the current object (a linearizable read) or ErrNotFound.
func (s *Store[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	var zero T
	key, err := s.key(namespace, name)
	if err != nil {
		return zero, err
	}
	cur, err := s.current(ctx, key)
	return cur.obj, err
}

// stored is an object as read: the object at its own revision, its
// encoding and whether its stored form is stale, and the key-value (for
// its revision, for a compare-and-swap).
type stored[T Object] struct {
	obj   T
	data  []byte
	stale bool
	kv    *mvccpb.KeyValue
}

// current reads key; ErrNotFound when nothing is stored.
func (s *Store[T]) current(ctx context.Context, key string) (stored[T], error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return stored[T]{}, etcdErr(err)
	}
	if len(resp.Kvs) == 0 {
		return stored[T]{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	kv := resp.Kvs[0]
	obj, data, stale, err := s.decodeValue(kv, kv.ModRevision)
	if err != nil {
		return stored[T]{}, err
	}
	return stored[T]{obj: obj, data: data, stale: stale, kv: kv}, nil
}

// Update replaces the stored object with obj and returns it with its new
// resourceVersion. When obj.metadata.resourceVersion is set it must equal
// the stored object's (ErrConflict otherwise); "" and "0" update
// unconditionally, as in kube-apiserver. ErrNotFound when nothing is
// stored. obj is not modified.
func (s *Store[T]) Update(ctx context.Context, namespace, name string, obj T) (T, error) {
	var zero T
	key, err := s.key(namespace, name)
	if err != nil {
		return zero, err
	}
	cmp := clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	if rv := obj.GetMetadata().GetResourceVersion(); rv != "" && rv != "0" {
		rev, err := parseRV(rv)
		if err != nil {
			return zero, err
		}
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	}
	out, data, err := s.encode(obj)
	if err != nil {
		return zero, err
	}
	sv, err := s.toStorage(key, data)
	if err != nil {
		return zero, err
	}
	resp, err := s.client.Txn(ctx).
		If(cmp).
		Then(clientv3.OpPut(key, sv)).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return zero, etcdErr(err)
	}
	if !resp.Succeeded {
		if resp.Responses[0].GetResponseRange().GetCount() == 0 {
			return zero, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return zero, fmt.Errorf("%w: %s: resourceVersion %s is not the latest", ErrConflict, key, obj.GetMetadata().GetResourceVersion())
	}
	setResourceVersion(out, resp.Header.Revision)
	return out, nil
}

// Preconditions must hold for Delete to proceed; empty fields are not
// checked.
type Preconditions struct {
	UID             string
	ResourceVersion string
}

// Delete removes the object and returns its last state with resourceVersion
// set to the revision of the deletion. ErrNotFound when nothing is stored;
// ErrConflict when a precondition does not hold.
func (s *Store[T]) Delete(ctx context.Context, namespace, name string, pre Preconditions) (T, error) {
	var zero T
	key, err := s.key(namespace, name)
	if err != nil {
		return zero, err
	}
	if pre == (Preconditions{}) {
		resp, err := s.client.Delete(ctx, key, clientv3.WithPrevKV())
		if err != nil {
			return zero, etcdErr(err)
		}
		if resp.Deleted == 0 || len(resp.PrevKvs) == 0 {
			return zero, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return s.decode(resp.PrevKvs[0], resp.Header.Revision)
	}
	if pre.ResourceVersion != "" {
		if _, err := parseRV(pre.ResourceVersion); err != nil {
			return zero, err
		}
	}
	// Check the preconditions on the current object, then delete it only if
	// it is still that object; retry when it changed in between.
	for {
		st, err := s.current(ctx, key)
		if err != nil {
			return zero, err
		}
		cur, kv := st.obj, st.kv
		if pre.UID != "" && pre.UID != cur.GetMetadata().GetUid() {
			return zero, fmt.Errorf("%w: %s: precondition failed: UID in precondition: %s, UID in object meta: %s",
				ErrConflict, key, pre.UID, cur.GetMetadata().GetUid())
		}
		if rv := cur.GetMetadata().GetResourceVersion(); pre.ResourceVersion != "" && pre.ResourceVersion != rv {
			return zero, fmt.Errorf("%w: %s: precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s",
				ErrConflict, key, pre.ResourceVersion, rv)
		}
		tresp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			return zero, etcdErr(err)
		}
		if tresp.Succeeded {
			setResourceVersion(cur, tresp.Header.Revision)
			return cur, nil
		}
		if err := ctx.Err(); err != nil {
			return zero, err
		}
	}
}

// DeleteNamespace deletes every object of this resource in namespace and
// returns how many it deleted.
func (s *Store[T]) DeleteNamespace(ctx context.Context, namespace string) (int64, error) {
	if namespace == "" {
		return 0, fmt.Errorf("%w: DeleteNamespace needs a namespace", ErrInvalidKey)
	}
	p, err := s.listPrefix(namespace)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Delete(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return 0, etcdErr(err)
	}
	return resp.Deleted, nil
}

// CurrentRevision returns the store's current revision (a linearizable
// read). Note: as a watch bookmark it is only safe once the watch has
// delivered every event up to it; Watch sends EventBookmark for that.
func (s *Store[T]) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdErr(err)
	}
	return resp.Header.Revision, nil
}
