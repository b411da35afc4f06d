package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/respmeta"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// Namespace phases.
const (
	phaseActive      = "Active"
	phaseTerminating = "Terminating"
)

// systemNamespaces exist from the first start and may not be deleted
// (kube-node-lease may, as in kube-apiserver).
var systemNamespaces = []string{"default", "kube-system", "kube-public"}

// EnsureSystemNamespaces creates default, kube-system, kube-public and
// kube-node-lease when missing.
func (s *Service) EnsureSystemNamespaces(ctx context.Context) error {
	for _, name := range append(slices.Clone(systemNamespaces), "kube-node-lease") {
		_, err := s.namespaces.create(ctx, "", &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name}}, writeOptions{manager: managerAPIServer})
		if err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

// errNamespaceTerminating is namespaceActive's answer for a Terminating
// namespace; the create turns it into namespaceTerminating.
var errNamespaceTerminating = errors.New("the namespace is being terminated")

// namespaceActive is nil when objects may be created in ns.
func (s *Service) namespaceActive(ctx context.Context, ns string) error {
	n, err := s.namespaces.get(ctx, "", ns)
	if err != nil {
		return err
	}
	if n.GetStatus().GetPhase() == phaseTerminating {
		return errNamespaceTerminating
	}
	return nil
}

// namespaceTerminating is kube-apiserver's NamespaceLifecycle refusal of
// a create in a Terminating namespace: a 403 about the object, with the
// NamespaceTerminating cause that controllers look for
// (apierrors.HasStatusCause) to stop creating there without an error.
func namespaceTerminating(group, resource, name, ns string) error {
	return apierrors.New(apierrors.ReasonForbidden,
		fmt.Sprintf("%s %q is forbidden: unable to create new content in namespace %s because it is being terminated", qualifiedResource(group, resource), name, ns),
		apierrors.Details{Group: group, Kind: resource, Name: name, Causes: []*corev1.StatusCause{{
			Reason: "NamespaceTerminating", Message: fmt.Sprintf("namespace %s is being terminated", ns), Field: "metadata.namespace",
		}}})
}

// qualifiedResource is "pods", "deployments.apps".
func qualifiedResource(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// deleteNamespace is kube-apiserver's namespace delete: the first marks
// the namespace Terminating (deletionTimestamp, the garbage collector's
// finalizers as opts ask) and answers it; the namespace controller (the
// built-in cleaner, or kube-controller-manager's) empties it and takes
// "kubernetes" out of spec.finalizers through namespaces/finalize, which
// removes it once no finalizer is left. A later delete answers the
// Terminating namespace, or deletes it as any object once spec.finalizers
// is empty.
func (s *Service) deleteNamespace(ctx context.Context, name string, opts *corev1.DeleteOptions, dry bool) (proto.Message, error) {
	if slices.Contains(systemNamespaces, name) {
		return nil, apierrors.Forbidden("", "namespaces", name, fmt.Sprintf("namespaces %q is forbidden: this namespace may not be deleted", name))
	}
	r := s.namespaces
	for attempt := 0; ; attempt++ {
		ns, err := r.get(ctx, "", name)
		if err != nil {
			return nil, err
		}
		if err := checkPreconditions(ns.GetMetadata(), opts.GetPreconditions()); err != nil {
			return nil, apierrors.Conflict("", "namespaces", name, err.Error())
		}
		if ns.GetMetadata().GetDeletionTimestamp() != nil || !namespaceFinalizing(ns) {
			// Terminating already, or nothing to terminate for.
			if namespaceFinalizing(ns) {
				return ns, nil
			}
			obj, deleted, err := r.remove(ctx, "", name, opts, dry)
			switch {
			case err != nil:
				return nil, err
			case deleted:
				return r.deletedStatus(obj), nil
			}
			return obj, nil
		}
		term := proto.Clone(ns).(*corev1.Namespace)
		if term.Status == nil {
			term.Status = &corev1.NamespaceStatus{}
		}
		term.Status.Phase = phaseTerminating
		term.Metadata.DeletionTimestamp = timestamppb.New(r.now().Truncate(time.Second))
		term.Metadata.Finalizers = gcFinalizers(term.Metadata.Finalizers, opts)
		if dry {
			return term, nil
		}
		out, err := r.store.Update(ctx, "", name, term)
		if errors.Is(err, storage.ErrConflict) && attempt < maxUpdateRetries {
			continue
		}
		if err != nil {
			return nil, r.err(err, name)
		}
		return out, nil
	}
}

// namespaceFinalizing is true while spec.finalizers keep a namespace.
func namespaceFinalizing(ns *corev1.Namespace) bool { return len(ns.GetSpec().GetFinalizers()) > 0 }

// finalizeNamespace is namespaces/finalize: it sets spec.finalizers and
// nothing else; a Terminating namespace left with no finalizer is
// removed.
func (s *Service) finalizeNamespace(ctx context.Context, req proto.Message) (proto.Message, error) {
	r := s.namespaces
	name := stringField(req, "name")
	body, _ := messageField(req, "namespace").(*corev1.Namespace)
	if body == nil {
		return nil, apierrors.BadRequest("the request has no Namespace")
	}
	if n := body.GetMetadata().GetName(); n != name {
		return nil, apierrors.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", n, name))
	}
	dry, err := dryRunAll(stringsField(req, "dry_run"))
	if err != nil {
		return nil, err
	}
	finalizers := body.GetSpec().GetFinalizers()
	var causes []*corev1.StatusCause
	for i, f := range finalizers {
		if msg := validateFinalizerName(f); msg != "" {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: fmt.Sprintf("spec.finalizers[%d]", i), Message: fmt.Sprintf("Invalid value: %q: %s", f, msg)})
		}
	}
	if len(causes) > 0 {
		return nil, apierrors.Invalid("", "Namespace", name, causes)
	}
	rv := body.GetMetadata().GetResourceVersion()
	for attempt := 0; ; attempt++ {
		cur, err := r.get(ctx, "", name)
		if err != nil {
			return nil, err
		}
		if rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
			return nil, r.err(storage.ErrConflict, name)
		}
		next := proto.Clone(cur).(*corev1.Namespace)
		if next.Spec == nil {
			next.Spec = &corev1.NamespaceSpec{}
		}
		next.Spec.Finalizers = slices.Clone(finalizers)
		if dry {
			return next, nil
		}
		out, err := r.commit(ctx, "", name, next, cur)
		if errors.Is(err, storage.ErrConflict) && rv == "" && attempt < maxUpdateRetries {
			continue
		}
		if err != nil {
			return nil, r.err(err, name)
		}
		return out, nil
	}
}

// created tells the gateway to answer 201 Created.
func created(ctx context.Context) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(respmeta.HTTPCode, "201"))
}

// startStream sends the response headers as soon as a watch is
// established, so an HTTP client sees 200 before the first event.
func startStream(stream grpc.ServerStream) func() error {
	return func() error { return stream.SendHeader(metadata.MD{}) }
}

// listMeta is the metadata of a list answer.
func listMeta[T storage.Object](res storage.ListResult[T]) *corev1.ListMeta {
	return &corev1.ListMeta{ResourceVersion: res.ResourceVersion, Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}
}
