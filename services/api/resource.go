package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/fieldmanager"
	"github.com/portico-dev/portico/services/api/storage"
)

// resource is the logic every kind shares: metadata defaults, validation
// hooks, optimistic concurrency and error wording, over one store (etcd,
// or the watch cache in front of it).
type resource[T storage.Object] struct {
	kindMeta
	store storage.Interface[T]
	// encrypted: the store has a value transformer (encryption at rest).
	encrypted bool
	// newObj returns an empty object with non-nil Metadata.
	newObj func() T
	// validateName checks metadata.name and returns problems.
	validateName func(name string) []string
	// validate checks the object, and on update the old object (nil on create).
	validate func(obj, old T, isCreate bool) []*corev1.StatusCause
	// beforeCreate sets kind-specific defaults (e.g. a namespace's phase).
	beforeCreate func(obj T)
	// afterCreate runs after an object is stored by a create (a new
	// namespace gets its default service account).
	afterCreate func(ctx context.Context, obj T)
	// beforeWrite normalises an object on create and update (a secret's
	// stringData into data).
	beforeWrite func(obj T)
	// beforeUpdate sets what an update derives from the stored object
	// (a pod's generation).
	beforeUpdate func(obj, old T)
	// admit checks a create (old is the zero T) or an update against the
	// requester in ctx, after validation (RBAC objects: nobody grants
	// what they do not hold); nil admits everything.
	admit func(ctx context.Context, obj, old T) error
	// admitDelete checks a delete of obj (as stored) against the
	// requester in ctx; nil admits everything.
	admitDelete func(ctx context.Context, obj T) error
	// admitStatus checks a write of the status subresource (obj is the
	// result, old the stored object); nil admits everything.
	admitStatus func(ctx context.Context, obj, old T) error
	// deleteReturnsObject answers a delete with the deleted object, not a
	// Status (pods, as kube-apiserver does).
	deleteReturnsObject bool
	// namespaceExists is asked before a namespaced create; nil for
	// cluster-scoped kinds.
	namespaceExists func(ctx context.Context, name string) error
	// extraFields adds the kind's own selectable fields (e.g.
	// status.phase) to metadata.name and metadata.namespace; may be nil.
	extraFields func(obj T) map[string]string
	// onDelete replaces the plain delete (namespaces: Terminating first);
	// it returns what the answer holds.
	onDelete func(ctx context.Context, name string, opts *corev1.DeleteOptions, dryRun bool) (proto.Message, error)
	// gracePeriod makes deletion graceful (pods): the grace period a
	// delete asking for requested (nil: the default) gives obj. nil for
	// the kinds deleted at once.
	gracePeriod func(obj T, requested *int64) int64
	// finalizing is true while kind-specific finalizers also keep a
	// deleted object (a namespace's spec.finalizers); may be nil.
	finalizing func(obj T) bool
	// subresources serve "<verb>" on "<resource>/<subresource>".
	subresources map[string]map[string]func(ctx context.Context, req proto.Message) (proto.Message, error)
	// codec is the JSON form that patches apply to; nil refuses PATCH.
	codec Codec
	// strategicSchema returns the k8s.io/api Go type whose struct tags
	// (patchStrategy, patchMergeKey) drive a strategic merge patch; nil
	// refuses that patch type, as kube-apiserver does for custom kinds.
	strategicSchema func() any
	// fields record managedFields and apply apply patches, by
	// subresource ("" for the object itself, "status"); nil records none
	// and refuses apply patches.
	fields map[string]*fieldmanager.Manager
	log    *slog.Logger
	now    func() time.Time
	// suffix makes generateName's random part (randomSuffix).
	suffix func() string
	// bookmarkInterval is how often a watch that allows bookmarks gets
	// one.
	bookmarkInterval time.Duration
	// encoded holds recent watch events encoded, when the store hands
	// every watcher the same objects (the watch cache); nil otherwise.
	encoded *encodedEvents
}

func (r *resource[T]) meta() *kindMeta { return &r.kindMeta }

func (m *kindMeta) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: m.group, Version: m.version, Kind: m.kind}
}

// writeOptions are what create and update requests share.
type writeOptions struct {
	dryRun bool
	// manager names the write in managedFields (an Update); "" records
	// nothing, the object keeping the managedFields it comes with.
	manager string
	// applied: the object is an apply patch's result, its managedFields
	// already set.
	applied bool
}

func dryRunAll(values []string) (bool, error) {
	for _, v := range values {
		if v != "All" {
			return false, apierrors.BadRequest(fmt.Sprintf("unsupported dry run value %q: only \"All\" is supported", v))
		}
	}
	return len(values) > 0, nil
}

func (r *resource[T]) err(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NotFound(r.group, r.plural, name)
	case errors.Is(err, storage.ErrAlreadyExists):
		return apierrors.AlreadyExists(r.group, r.plural, name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.Conflict(r.group, r.plural, name, "the object has been modified; please apply your changes to the latest version and try again")
	case errors.Is(err, storage.ErrGone):
		return apierrors.Gone("too old resource version")
	case errors.Is(err, storage.ErrInvalidContinue):
		return apierrors.BadRequest("invalid continue token")
	case errors.Is(err, storage.ErrInvalidResourceVersion):
		return apierrors.BadRequest("invalid resource version")
	case errors.Is(err, storage.ErrInvalidKey):
		return apierrors.BadRequest("invalid name or namespace")
	case errors.Is(err, storage.ErrResourceVersionTooLarge):
		return apierrors.New(apierrors.ReasonTimeout, "Too large resource version", apierrors.Details{RetryAfterSeconds: 1})
	case errors.Is(err, storage.ErrTooLarge):
		return apierrors.New(apierrors.ReasonRequestEntityTooLarge, "the object is too large to store", apierrors.Details{Kind: r.plural, Name: name})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierrors.New(apierrors.ReasonTimeout, "the request did not finish in time", apierrors.Details{})
	default:
		return apierrors.Internal(fmt.Sprintf("storage: %v", err))
	}
}

func (r *resource[T]) checkNamespace(ns string) error {
	if r.namespaced && ns == "" {
		return apierrors.BadRequest("a namespace is required")
	}
	return nil
}

func (r *resource[T]) get(ctx context.Context, ns, name string) (T, error) {
	return r.fetch(ctx, ns, name, r.store.Get)
}

// fetch checks a read's namespace and name, then reads with from.
func (r *resource[T]) fetch(ctx context.Context, ns, name string, from func(ctx context.Context, ns, name string) (T, error)) (T, error) {
	var zero T
	if err := r.checkNamespace(ns); err != nil {
		return zero, err
	}
	if name == "" {
		return zero, apierrors.BadRequest("a name is required")
	}
	obj, err := from(ctx, ns, name)
	return obj, r.err(err, name)
}

// sharedGetter is a storage that can hand a reader its own object,
// uncopied (the watch cache).
type sharedGetter[T storage.Object] interface {
	GetShared(ctx context.Context, namespace, name string) (T, error)
}

// read is get for a Get RPC, which only encodes the object: the
// storage's own where it has one to share.
func (r *resource[T]) read(ctx context.Context, ns, name string) (T, error) {
	if sg, ok := r.store.(sharedGetter[T]); ok {
		return r.fetch(ctx, ns, name, sg.GetShared)
	}
	return r.get(ctx, ns, name)
}

// incoming checks a write's body against its request and returns a copy
// to work on: a body there, in the request's namespace (none for a
// cluster-scoped kind).
func (r *resource[T]) incoming(ns string, obj T) (T, *corev1.ObjectMeta, error) {
	var zero T
	if err := r.checkNamespace(ns); err != nil {
		return zero, nil, err
	}
	if isNil(obj) {
		return zero, nil, apierrors.BadRequest(fmt.Sprintf("the body of the request must be a %s", r.kind))
	}
	obj = proto.Clone(obj).(T)
	m := metaOf(obj)
	if r.namespaced {
		if m.Namespace != "" && m.Namespace != ns {
			return zero, nil, apierrors.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
		m.Namespace = ns
	} else {
		m.Namespace = ""
	}
	return obj, m, nil
}

func (r *resource[T]) create(ctx context.Context, ns string, obj T, o writeOptions) (T, error) {
	var zero T
	obj, m, err := r.incoming(ns, obj)
	if err != nil {
		return zero, err
	}
	if m.ResourceVersion != "" {
		return zero, apierrors.BadRequest("resourceVersion should not be set on objects to be created")
	}
	generated := m.Name == "" && m.GenerateName != ""
	if generated {
		m.Name = generateName(m.GenerateName, r.suffix)
	}
	if causes := r.check(obj, zero, true); len(causes) > 0 {
		return zero, apierrors.Invalid(r.group, r.kind, m.Name, causes)
	}
	if r.namespaced && r.namespaceExists != nil {
		if err := r.namespaceExists(ctx, ns); errors.Is(err, errNamespaceTerminating) {
			return zero, namespaceTerminating(r.group, r.plural, m.Name, ns)
		} else if err != nil {
			return zero, err
		}
	}
	m.Uid = uuid.NewString()
	m.CreationTimestamp = timestamppb.New(r.now().Truncate(time.Second))
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	m.SelfLink = ""
	if o.manager != "" {
		r.trackUpdate("", zero, obj, o)
	}
	if r.beforeCreate != nil {
		r.beforeCreate(obj)
	}
	if r.beforeWrite != nil {
		r.beforeWrite(obj)
	}
	if r.admit != nil {
		if err := r.admit(ctx, obj, zero); err != nil {
			return zero, err
		}
	}
	if o.dryRun {
		return obj, nil
	}
	out, err := r.store.Create(ctx, ns, m.Name, obj)
	// A generated name that is taken is tried again with a new suffix,
	// as kube-apiserver does (RetryGenerateName).
	for attempt := 1; generated && errors.Is(err, storage.ErrAlreadyExists) && attempt < maxGenerateNameAttempts; attempt++ {
		m.Name = generateName(m.GenerateName, r.suffix)
		out, err = r.store.Create(ctx, ns, m.Name, obj)
	}
	if err == nil && r.afterCreate != nil {
		r.afterCreate(ctx, out)
	}
	return out, r.err(err, m.Name)
}

// maxUpdateRetries bounds retries of an unconditional update that lost a race.
const maxUpdateRetries = 5

func (r *resource[T]) update(ctx context.Context, ns, name string, obj T, o writeOptions) (T, error) {
	var zero T
	return r.updateFrom(ctx, ns, name, obj, zero, o)
}

// updateFrom is update with the stored object already read (a patch's):
// the first attempt writes on it without reading again, compare-and-swap
// on its resourceVersion; a retry reads. read is the zero T when none.
func (r *resource[T]) updateFrom(ctx context.Context, ns, name string, obj, read T, o writeOptions) (T, error) {
	var zero T
	obj, m, err := r.incoming(ns, obj)
	if err != nil {
		return zero, err
	}
	if m.Name != name {
		return zero, apierrors.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.Name, name))
	}
	conditional := m.ResourceVersion != ""
	// Each attempt reads the request's own managedFields.
	requested := m.ManagedFields
	for attempt := 0; ; attempt++ {
		m.ManagedFields = requested
		old := read
		if attempt > 0 || isNil(old) {
			if old, err = r.store.Get(ctx, ns, name); err != nil {
				return zero, r.err(err, name)
			}
		}
		om := metaOf(old)
		if m.Uid != "" && m.Uid != om.Uid {
			return zero, apierrors.Conflict(r.group, r.plural, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", m.Uid, om.Uid))
		}
		if conditional && m.ResourceVersion != om.ResourceVersion {
			return zero, r.err(storage.ErrConflict, name)
		}
		// What the server owns is kept from the stored object.
		m.Uid = om.Uid
		m.CreationTimestamp = om.CreationTimestamp
		deletion := deletionFields(m, om)
		m.Generation = om.Generation
		m.SelfLink = ""
		m.ResourceVersion = om.ResourceVersion
		if _, ok := r.subresources["status"]; ok {
			// The status has its own subresource: a write to the
			// object itself keeps the stored one, as in kube-apiserver.
			copyField(obj, old, "status")
		}
		if r.beforeWrite != nil {
			r.beforeWrite(obj)
		}
		if o.manager != "" {
			r.trackUpdate("", old, obj, o)
		}
		if r.beforeUpdate != nil {
			r.beforeUpdate(obj, old)
		}
		causes := append(r.check(obj, old, false), deletion...)
		if len(causes) > 0 {
			return zero, apierrors.Invalid(r.group, r.kind, name, causes)
		}
		if r.admit != nil {
			if err := r.admit(ctx, obj, old); err != nil {
				return zero, err
			}
		}
		if o.dryRun {
			return obj, nil
		}
		out, err := r.commit(ctx, ns, name, obj, old)
		if errors.Is(err, storage.ErrConflict) && !conditional && attempt < maxUpdateRetries {
			continue
		}
		return out, r.err(err, name)
	}
}

// copyField sets obj's field name to old's (clears it when old has none).
func copyField[T storage.Object](obj, old T, name protoreflect.Name) {
	fd := obj.ProtoReflect().Descriptor().Fields().ByName(name)
	if fd == nil {
		return
	}
	if old.ProtoReflect().Has(fd) {
		obj.ProtoReflect().Set(fd, old.ProtoReflect().Get(fd))
	} else {
		obj.ProtoReflect().Clear(fd)
	}
}

// deletedStatus is the Status kube-apiserver answers for a finished delete.
func (r *resource[T]) deletedStatus(obj T) *corev1.Status {
	m := metaOf(obj)
	return &corev1.Status{
		Status:  "Success",
		Details: &corev1.StatusDetails{Name: m.GetName(), Group: r.group, Kind: r.plural, Uid: m.GetUid()},
	}
}

// listRequest is what every List RPC carries.
type listRequest interface {
	GetLabelSelector() string
	GetFieldSelector() string
	GetResourceVersion() string
	GetLimit() int64
	GetContinue() string
}

// list reads one page for req; readOnly as storage.ListOptions has it
// (the caller only encodes the items).
func (r *resource[T]) list(ctx context.Context, ns string, req listRequest, readOnly bool) (storage.ListResult[T], error) {
	sel, err := r.selectors(req.GetLabelSelector(), req.GetFieldSelector())
	if err != nil {
		return storage.ListResult[T]{}, err
	}
	if req.GetLimit() < 0 {
		return storage.ListResult[T]{}, apierrors.BadRequest("limit must not be negative")
	}
	rv, exact, err := listResourceVersion(req)
	if err != nil {
		return storage.ListResult[T]{}, err
	}
	o := storage.ListOptions[T]{Limit: req.GetLimit(), Continue: req.GetContinue(), ReadOnly: readOnly}
	if exact || rv == "0" {
		// "0" is any state: the watch cache answers it at once.
		o.ResourceVersion = rv
	}
	if !sel.empty() {
		// Without a filter the store also counts what is left after a page.
		o.Filter = func(obj T) bool { return r.selected(sel, obj) }
	}
	res, err := r.store.List(ctx, ns, o)
	if err != nil {
		return res, r.err(err, "")
	}
	if !exact && rv != "" && rv != "0" {
		// Not older than rv: the latest is, unless rv is in the future.
		if want, cur := parseRevision(rv), parseRevision(res.ResourceVersion); want > cur {
			return storage.ListResult[T]{}, r.err(storage.ErrResourceVersionTooLarge, "")
		}
	}
	return res, nil
}

// listResourceVersion reads a list's resourceVersion and
// resourceVersionMatch as kube-apiserver does: "" is the latest, "0" any,
// another value "not older than" it unless the match is Exact, which
// reads that snapshot (410 once compacted).
func listResourceVersion(req listRequest) (rv string, exact bool, err error) {
	rv = req.GetResourceVersion()
	var match string
	if m, ok := req.(interface{ GetResourceVersionMatch() string }); ok {
		match = m.GetResourceVersionMatch()
	}
	if rv != "" && rv != "0" && parseRevision(rv) <= 0 {
		return "", false, apierrors.BadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	switch {
	case match == "":
		// Continue tokens carry their own snapshot.
	case req.GetContinue() != "":
		return "", false, apierrors.BadRequest("resourceVersionMatch is forbidden when continue is provided")
	case rv == "":
		return "", false, apierrors.BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	case match == "Exact" && rv == "0":
		return "", false, apierrors.BadRequest(`resourceVersionMatch "exact" is forbidden for resourceVersion "0"`)
	case match == "Exact":
		return rv, true, nil
	case match != "NotOlderThan":
		return "", false, apierrors.BadRequest(fmt.Sprintf("unsupported resourceVersionMatch %q: supported values: \"Exact\", \"NotOlderThan\"", match))
	}
	return rv, false, nil
}

// parseRevision is a resourceVersion as a revision; 0 when it is not one.
func parseRevision(rv string) int64 {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// fieldSet is what a fieldSelector is matched against.
func (r *resource[T]) fieldSet(obj T) map[string]string {
	m := metaOf(obj)
	set := map[string]string{"metadata.name": m.GetName()}
	if r.namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	if r.extraFields != nil {
		for k, v := range r.extraFields(obj) {
			set[k] = v
		}
	}
	return set
}

func (r *resource[T]) selectors(labelSel, fieldSel string) (*selectors, error) {
	return parseSelectors(labelSel, fieldSel, r.fieldSet(r.newObj()))
}

func (r *resource[T]) selected(sel *selectors, obj T) bool {
	return sel.matches(metaOf(obj).GetLabels(), func() map[string]string { return r.fieldSet(obj) })
}

// watchRequest is what every Watch RPC carries.
type watchRequest interface {
	GetLabelSelector() string
	GetFieldSelector() string
	GetResourceVersion() string
	GetTimeoutSeconds() int64
	GetAllowWatchBookmarks() bool
	GetSendInitialEvents() bool
}

// initialEventsEnd is the annotation of the bookmark that ends the initial
// events of a streaming list.
const initialEventsEnd = "k8s.io/initial-events-end"

// bookmark is a BOOKMARK event's object: only its resourceVersion (and
// the end-of-initial-events annotation).
func (r *resource[T]) bookmark(rv string, endOfInitial bool) T {
	obj := r.newObj()
	m := metaOf(obj)
	m.ResourceVersion = rv
	if endOfInitial {
		m.Annotations = map[string]string{initialEventsEnd: "true"}
	}
	return obj
}

// Watch event types, as Kubernetes names them.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
	eventBookmark = "BOOKMARK"
)

// watch streams events to send until ctx ends or the timeout passes. With
// no resourceVersion (or "0") it first sends the current objects as ADDED,
// as kube-apiserver does; started is called once the watch is established.
// A watch that allows bookmarks gets one every bookmarkInterval and one
// shortly before its timeout (bookmarks).
func (r *resource[T]) watch(ctx context.Context, ns string, req watchRequest, started func() error, send func(typ string, obj T) error) error {
	sel, err := r.selectors(req.GetLabelSelector(), req.GetFieldSelector())
	if err != nil {
		return err
	}
	var deadline time.Time
	if t := req.GetTimeoutSeconds(); t > 0 {
		var cancel context.CancelFunc
		deadline = time.Now().Add(time.Duration(t) * time.Second)
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	from := req.GetResourceVersion()
	// sendInitialEvents (client-go's streaming list) asks for the current
	// objects first, then a bookmark marking their end, from any
	// resourceVersion not older than the one given.
	streamList := req.GetSendInitialEvents()
	var initial []T
	if from == "" || from == "0" || streamList {
		lo := storage.ListOptions[T]{ReadOnly: true} // only sent
		if from == "0" {
			lo.ResourceVersion = from // any state will do
		}
		res, err := r.store.List(ctx, ns, lo)
		if err != nil {
			return r.err(err, "")
		}
		initial, from = res.Items, res.ResourceVersion
	}
	events, err := r.watchEvents(ctx, ns, from)
	if err != nil {
		return r.err(err, "")
	}
	if err := started(); err != nil {
		return err
	}
	for _, obj := range initial {
		if r.selected(sel, obj) {
			if err := send(eventAdded, obj); err != nil {
				return err
			}
		}
	}
	if streamList {
		if err := send(eventBookmark, r.bookmark(from, true)); err != nil {
			return err
		}
	}
	bm := newBookmarks(req.GetAllowWatchBookmarks(), r.bookmarkInterval, deadline, parseRevision(from))
	defer bm.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-bm.due():
			if rv, ok := bm.fired(); ok {
				if err := send(eventBookmark, r.bookmark(strconv.FormatInt(rv, 10), false)); err != nil {
					return err
				}
				continue
			}
			// etcd answers with a progress notification (a storage
			// Bookmark) once this watch has every event up to now.
			if err := r.store.RequestProgress(ctx); err != nil && ctx.Err() == nil {
				return r.err(err, "")
			}
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ev.Err != nil || ev.Type == storage.Error {
				return r.err(cmpErr(ev.Err), "")
			}
			var typ string
			switch ev.Type {
			case storage.Added:
				typ = eventAdded
			case storage.Modified:
				typ = eventModified
			case storage.Deleted:
				typ = eventDeleted
			case storage.Bookmark:
				// Every event up to its revision has come: one is sent
				// when due, never older than an event already sent.
				rv, ok := bm.progress(parseRevision(metaOf(ev.Object).GetResourceVersion()))
				if !ok {
					continue
				}
				if err := send(eventBookmark, r.bookmark(strconv.FormatInt(rv, 10), false)); err != nil {
					return err
				}
				continue
			default:
				return apierrors.Internal(fmt.Sprintf("unknown watch event type %q", ev.Type))
			}
			bm.seen(parseRevision(metaOf(ev.Object).GetResourceVersion()))
			if !r.selected(sel, ev.Object) {
				continue
			}
			if err := send(typ, ev.Object); err != nil {
				return err
			}
		}
	}
}

// sharedWatcher is a storage that can hand a watch its own objects,
// uncopied (the watch cache).
type sharedWatcher[T storage.Object] interface {
	WatchShared(ctx context.Context, namespace, fromRV string) (<-chan storage.Event[T], error)
}

// watchEvents watches the storage for a watch RPC, which only encodes
// the events' objects: shared ones where the storage has them.
func (r *resource[T]) watchEvents(ctx context.Context, ns, from string) (<-chan storage.Event[T], error) {
	if sw, ok := r.store.(sharedWatcher[T]); ok {
		return sw.WatchShared(ctx, ns, from)
	}
	return r.store.Watch(ctx, ns, from)
}

// cmpErr names a failed watch that came without an error.
func cmpErr(err error) error {
	if err == nil {
		return errors.New("the watch failed")
	}
	return err
}

func (r *resource[T]) check(obj, old T, isCreate bool) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	m := metaOf(obj)
	switch {
	case m.Name == "":
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueRequired", Field: "metadata.name", Message: "Required value: name or generateName is required"})
	default:
		for _, p := range r.validateName(m.Name) {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "metadata.name", Message: fmt.Sprintf("Invalid value: %q: %s", m.Name, p)})
		}
	}
	causes = append(causes, validateMeta(m)...)
	if r.validate != nil {
		causes = append(causes, r.validate(obj, old, isCreate)...)
	}
	return causes
}

func metaOf[T storage.Object](obj T) *corev1.ObjectMeta {
	m := obj.GetMetadata()
	if m == nil {
		// Every kind's message has Metadata as field 1; set it through
		// reflection so this stays generic.
		pm := obj.ProtoReflect()
		fd := pm.Descriptor().Fields().ByName("metadata")
		m = &corev1.ObjectMeta{}
		pm.Set(fd, protoValueOf(m))
	}
	return m
}

func isNil[T storage.Object](obj T) bool {
	return any(obj) == nil || !obj.ProtoReflect().IsValid()
}

// maxGenerateNameAttempts bounds the names tried for one create with
// generateName, as kube-apiserver's (8).
const maxGenerateNameAttempts = 8

// generateName is kube-apiserver's SimpleNameGenerator: the base cut to
// leave room for the suffix within 63 characters, then the suffix.
func generateName(base string, suffix func() string) string {
	const maxNameLength, randomLength = 63, 5
	if len(base) > maxNameLength-randomLength {
		base = base[:maxNameLength-randomLength]
	}
	return base + suffix()
}

// suffixAlphabet is kube's (k8s.io/apimachinery/pkg/util/rand): no vowels
// and no look-alikes, so no words and no confusion.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomSuffix is kube-apiserver's generateName suffix: five characters
// drawn uniformly from suffixAlphabet.
func randomSuffix() string {
	// Bytes at or above the largest multiple of the alphabet's size are
	// drawn again, so every character is equally likely.
	const limit = 256 - 256%len(suffixAlphabet)
	out := make([]byte, 0, 5)
	var b [8]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(b[:])
		for _, c := range b {
			if int(c) < limit && len(out) < cap(out) {
				out = append(out, suffixAlphabet[int(c)%len(suffixAlphabet)])
			}
		}
	}
	return string(out)
}
