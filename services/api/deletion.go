package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// Deletion follows kube-apiserver's generic store (Delete and
// updateForGracefulDeletionAndFinalizers): a delete either removes the
// object at once or marks it (deletionTimestamp, deletionGracePeriodSeconds,
// the garbage collector's finalizers) and keeps it until its finalizers
// are gone and, for a kind with graceful deletion (pods), a delete with a
// zero grace period confirms it.

// Propagation policies of a delete.
const (
	propagationForeground = "Foreground"
	propagationBackground = "Background"
	propagationOrphan     = "Orphan"
)

// The garbage collector's finalizers.
const (
	finalizerOrphan     = "orphan"
	finalizerForeground = "foregroundDeletion"
)

// validateDeleteOptions checks a delete's options as kube-apiserver does
// (422 on an unknown propagation policy). policy is the propagationPolicy
// request parameter; one in the options overrides it.
func validateDeleteOptions(opts *corev1.DeleteOptions, policy string) error {
	if opts != nil && opts.PropagationPolicy != nil {
		policy = opts.GetPropagationPolicy()
	}
	var causes []*corev1.StatusCause
	if policy != "" && opts != nil && opts.OrphanDependents != nil {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "propagationPolicy",
			Message: fmt.Sprintf("Invalid value: %q: orphanDependents and deletionPropagation cannot be both set", policy)})
	}
	switch policy {
	case "", propagationForeground, propagationBackground, propagationOrphan:
	default:
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueNotSupported", Field: "propagationPolicy",
			Message: fmt.Sprintf("Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"", policy)})
	}
	if len(causes) > 0 {
		return apierrors.Invalid("meta.k8s.io", "DeleteOptions", "", causes)
	}
	return nil
}

// deleteOptions are the options of a Delete request: its DeleteOptions
// body, with the query parameters (propagation_policy,
// grace_period_seconds) filling what the body leaves unset. The request is
// not modified.
func deleteOptions(req proto.Message) *corev1.DeleteOptions {
	opts := &corev1.DeleteOptions{}
	if body, ok := messageField(req, "options").(*corev1.DeleteOptions); ok {
		opts = proto.Clone(body).(*corev1.DeleteOptions)
	}
	if p := stringField(req, "propagation_policy"); p != "" && opts.PropagationPolicy == nil && opts.OrphanDependents == nil {
		opts.PropagationPolicy = &p
	}
	pm := req.ProtoReflect()
	if fd := pm.Descriptor().Fields().ByName("grace_period_seconds"); fd != nil && fd.Kind() == protoreflect.Int64Kind && pm.Has(fd) && opts.GracePeriodSeconds == nil {
		g := pm.Get(fd).Int()
		opts.GracePeriodSeconds = &g
	}
	return opts
}

// checkPreconditions is nil when the delete preconditions hold for m.
func checkPreconditions(m *corev1.ObjectMeta, p *corev1.Preconditions) error {
	if p == nil {
		return nil
	}
	if p.Uid != nil && p.GetUid() != m.GetUid() {
		return fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", p.GetUid(), m.GetUid())
	}
	if p.ResourceVersion != nil && p.GetResourceVersion() != m.GetResourceVersion() {
		return fmt.Errorf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", p.GetResourceVersion(), m.GetResourceVersion())
	}
	return nil
}

// gcFinalizers is the finalizer list a delete with opts leaves on an
// object (kube's deletionFinalizersForGarbageCollection): orphan for
// Orphan (or orphanDependents), foregroundDeletion for Foreground, neither
// for Background; with no policy the object's own choice stays. Every
// served kind's default policy is Background, as kube's for most kinds.
func gcFinalizers(finalizers []string, opts *corev1.DeleteOptions) []string {
	orphan := slices.Contains(finalizers, finalizerOrphan)
	foreground := slices.Contains(finalizers, finalizerForeground) && !orphan
	switch {
	case opts.OrphanDependents != nil:
		orphan, foreground = opts.GetOrphanDependents(), false
	case opts.PropagationPolicy != nil:
		orphan = opts.GetPropagationPolicy() == propagationOrphan
		foreground = opts.GetPropagationPolicy() == propagationForeground
	}
	out := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == finalizerOrphan || f == finalizerForeground })
	if orphan {
		out = append(out, finalizerOrphan)
	}
	if foreground {
		out = append(out, finalizerForeground)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// deleteAction is what a delete does to the stored object.
type deleteAction int

const (
	// deleteKeep answers the object as stored: a graceful deletion is
	// already pending and not shortened.
	deleteKeep deleteAction = iota
	// deleteMark stores the marked object and keeps it (finalizers, or a
	// grace period to wait out).
	deleteMark
	// deleteNow removes the object from storage.
	deleteNow
	// deleteMarkThenNow stores the marked object, then removes it (a
	// graceful kind deleted with a zero grace period: watchers see it
	// marked first, as from kube-apiserver).
	deleteMarkThenNow
)

// planDelete decides a delete of the object whose metadata is m, changing
// m to what the delete stores (kube's BeforeDelete and
// updateForGracefulDeletionAndFinalizers). gracePeriod is the kind's
// graceful deletion (nil when it has none): the period a delete asking
// for requested (nil: the default) gets.
func planDelete(m *corev1.ObjectMeta, opts *corev1.DeleteOptions, gracePeriod func(requested *int64) int64, now time.Time) deleteAction {
	requested := opts.GracePeriodSeconds
	if requested != nil && *requested < 0 {
		one := int64(1)
		requested = &one
	}
	graceful := false
	if gracePeriod != nil {
		switch cur := m.DeletionGracePeriodSeconds; {
		case m.DeletionTimestamp == nil:
			period := gracePeriod(requested)
			m.DeletionTimestamp = timestamppb.New(now.Add(time.Duration(period) * time.Second).Truncate(time.Second))
			m.DeletionGracePeriodSeconds = &period
			if m.Generation > 0 {
				m.Generation++
			}
			graceful = true
		case cur == nil || *cur == 0:
			// Already confirmed (or never graceful): finish below.
		case requested == nil || *requested >= *cur:
			// Only a shorter grace period changes a pending deletion.
			return deleteKeep
		default:
			start := m.DeletionTimestamp.AsTime().Add(-time.Duration(*cur) * time.Second)
			m.DeletionTimestamp = timestamppb.New(start.Add(time.Duration(*requested) * time.Second))
			period := *requested
			m.DeletionGracePeriodSeconds = &period
			graceful = true
		}
	}
	m.Finalizers = gcFinalizers(m.Finalizers, opts)
	pending := len(m.Finalizers) > 0
	switch {
	case !graceful && pending:
		markDeleting(m, now)
		return deleteMark
	case !graceful:
		return deleteNow
	case pending || m.GetDeletionGracePeriodSeconds() > 0:
		return deleteMark
	}
	return deleteMarkThenNow
}

// markDeleting marks an object that has finalizers but no grace period
// (kube's markAsDeleting): deletionTimestamp now unless an earlier one is
// set, a zero grace period.
func markDeleting(m *corev1.ObjectMeta, now time.Time) {
	if m.DeletionTimestamp == nil && m.Generation > 0 {
		m.Generation++
	}
	now = now.Truncate(time.Second)
	if m.DeletionTimestamp == nil || m.DeletionTimestamp.AsTime().After(now) {
		m.DeletionTimestamp = timestamppb.New(now)
	}
	zero := int64(0)
	m.DeletionGracePeriodSeconds = &zero
}

// remove deletes an object with opts (preconditions, propagation policy,
// grace period), as planDelete decides. When the object stays (deleted is
// false) obj is it as stored now; otherwise its last state.
func (r *resource[T]) remove(ctx context.Context, ns, name string, opts *corev1.DeleteOptions, dryRun bool) (obj T, deleted bool, err error) {
	var zero T
	if err := r.checkNamespace(ns); err != nil {
		return zero, false, err
	}
	if name == "" {
		return zero, false, apierrors.BadRequest("a name is required")
	}
	if opts == nil {
		opts = &corev1.DeleteOptions{}
	}
	for attempt := 0; ; attempt++ {
		cur, err := r.store.Get(ctx, ns, name)
		if err != nil {
			return zero, false, r.err(err, name)
		}
		m := metaOf(cur)
		if err := checkPreconditions(m, opts.GetPreconditions()); err != nil {
			return zero, false, apierrors.Conflict(r.group, r.plural, name, err.Error())
		}
		if r.admitDelete != nil {
			if err := r.admitDelete(ctx, cur); err != nil {
				return zero, false, err
			}
		}
		next := proto.Clone(cur).(T)
		var period func(*int64) int64
		if r.gracePeriod != nil {
			period = func(requested *int64) int64 { return r.gracePeriod(cur, requested) }
		}
		action := planDelete(metaOf(next), opts, period, r.now())
		if action == deleteMark && proto.Equal(m, metaOf(next)) {
			action = deleteKeep
		}
		if dryRun || action == deleteKeep {
			return next, action == deleteNow || action == deleteMarkThenNow, nil
		}
		last := cur
		if action == deleteMark || action == deleteMarkThenNow {
			out, err := r.store.Update(ctx, ns, name, next)
			if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateRetries {
				continue
			}
			if err != nil || action == deleteMark {
				return out, false, r.err(err, name)
			}
			last = out
		}
		// Only the object just read (or written): a finalizer added since keeps it.
		out, err := r.store.Delete(ctx, ns, name, storage.Preconditions{ResourceVersion: metaOf(last).GetResourceVersion()})
		if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateRetries {
			continue
		}
		if errors.Is(err, storage.ErrNotFound) && action == deleteMarkThenNow {
			// Someone else finished it (a kubelet's confirmation).
			return last, true, nil
		}
		return out, true, r.err(err, name)
	}
}

// commit stores obj as the update of old, or, when the update leaves a
// deleted object with no finalizer and no grace period to wait out,
// deletes it instead (kube's shouldDeleteDuringUpdate): watchers then see
// it DELETED, not modified first. An update that changes nothing writes
// nothing and answers old. obj must carry old's resourceVersion; the
// answer is obj at the revision written.
func (r *resource[T]) commit(ctx context.Context, ns, name string, obj, old T) (T, error) {
	m, om := metaOf(obj), metaOf(old)
	if om.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 || om.GetDeletionGracePeriodSeconds() > 0 ||
		(r.finalizing != nil && r.finalizing(obj)) {
		if proto.Equal(obj, old) {
			// Nothing changed: nothing is written, no resourceVersion
			// or event is spent, as kube-apiserver's GuaranteedUpdate
			// keeps an object whose bytes did not change.
			return old, nil
		}
		return r.store.Update(ctx, ns, name, obj)
	}
	out, err := r.store.Delete(ctx, ns, name, storage.Preconditions{ResourceVersion: om.GetResourceVersion()})
	if err != nil {
		return out, err
	}
	obj = proto.Clone(obj).(T)
	metaOf(obj).ResourceVersion = metaOf(out).GetResourceVersion()
	return obj, nil
}

// deletionFields keeps on an update what only a delete sets, as
// kube-apiserver does: a stored deletionTimestamp stays, one set by the
// update is refused, and so is a changed deletionGracePeriodSeconds (one
// left unset keeps the stored value); so are finalizers added to an
// object being deleted. It returns the causes of a refusal.
func deletionFields(obj, old *corev1.ObjectMeta) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	switch {
	case old.DeletionTimestamp != nil:
		// An update never changes a deletion timestamp.
		obj.DeletionTimestamp = old.DeletionTimestamp
	case obj.DeletionTimestamp != nil:
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "metadata.deletionTimestamp",
			Message: fmt.Sprintf("Invalid value: %q: field is immutable", obj.DeletionTimestamp.AsTime().UTC().Format(time.RFC3339))})
	}
	if obj.DeletionGracePeriodSeconds == nil {
		obj.DeletionGracePeriodSeconds = old.DeletionGracePeriodSeconds
	}
	if (obj.DeletionGracePeriodSeconds == nil) != (old.DeletionGracePeriodSeconds == nil) || obj.GetDeletionGracePeriodSeconds() != old.GetDeletionGracePeriodSeconds() {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "metadata.deletionGracePeriodSeconds",
			Message: fmt.Sprintf("Invalid value: %d: field is immutable", obj.GetDeletionGracePeriodSeconds())})
	}
	if old.GetDeletionTimestamp() == nil {
		return causes
	}
	var added []string
	for _, f := range obj.GetFinalizers() {
		if !slices.Contains(old.GetFinalizers(), f) {
			added = append(added, f)
		}
	}
	if len(added) > 0 {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueForbidden", Field: "metadata.finalizers",
			Message: fmt.Sprintf("Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers %q", added)})
	}
	return causes
}
