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
		_, err := s.namespaces.create(ctx, "", &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name}}, writeOptions{})
		if err != nil && apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

// namespaceActive is nil when objects may be created in ns.
func (s *Service) namespaceActive(ctx context.Context, ns string) error {
	n, err := s.namespaces.get(ctx, "", ns)
	if err != nil {
		return err
	}
	if n.GetStatus().GetPhase() == phaseTerminating {
		return apierrors.Forbidden("", "namespaces", ns, fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// deleteNamespace marks the namespace Terminating, deletes everything in
// it, then the namespace itself, and answers the Terminating object, as
// kube-apiserver does (it finishes the deletion in the background; this
// does it before answering, so a later create in the namespace is refused
// until it is gone).
func (s *Service) deleteNamespace(ctx context.Context, name string, opts *corev1.DeleteOptions, dry bool) (proto.Message, error) {
	if slices.Contains(systemNamespaces, name) {
		return nil, apierrors.Forbidden("", "namespaces", name, fmt.Sprintf("namespaces %q is forbidden: this namespace may not be deleted", name))
	}
	ns, err := s.namespaces.get(ctx, "", name)
	if err != nil {
		return nil, err
	}
	if err := checkPreconditions(ns.GetMetadata(), opts.GetPreconditions()); err != nil {
		return nil, apierrors.Conflict("", "namespaces", name, err.Error())
	}
	term := proto.Clone(ns).(*corev1.Namespace)
	if term.Status == nil {
		term.Status = &corev1.NamespaceStatus{}
	}
	term.Status.Phase = phaseTerminating
	if term.Metadata.DeletionTimestamp == nil {
		term.Metadata.DeletionTimestamp = timestamppb.New(s.namespaces.now().Truncate(time.Second))
	}
	if dry {
		return term, nil
	}
	term, err = s.namespaces.store.Update(ctx, "", name, term)
	if err != nil {
		return nil, s.namespaces.err(err, name)
	}
	for _, clean := range s.namespaced {
		if err := clean(ctx, name); err != nil {
			return nil, err
		}
	}
	if _, err := s.namespaces.store.Delete(ctx, "", name, storage.Preconditions{}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, s.namespaces.err(err, name)
	}
	return term, nil
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
