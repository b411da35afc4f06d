package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// The bootstrap RBAC policy is kube-apiserver v1.37.2's own, written by
// test/peers/bootstrappolicy from k8s.io/kubernetes (go tool task
// generate): the user-facing roles (cluster-admin, admin, edit, view, the
// aggregated ones with their rules filled in), the system roles
// (system:kube-scheduler, system:kube-controller-manager, system:node,
// system:volume-scheduler, ...), the controllers' roles and bindings for
// --use-service-account-credentials, and the leader-election roles in
// kube-system, bound as kube-apiserver binds them.

//go:embed zz_bootstrap_policy.json
var bootstrapPolicyJSON []byte

// bootstrapAutoupdate is the annotation by which an administrator keeps
// the api from adding to a bootstrap object ("false").
const bootstrapAutoupdate = "rbac.authorization.kubernetes.io/autoupdate"

// bootstrapPolicy is the policy decoded.
type bootstrapPolicy struct {
	clusterRoles        []*rbacv1.ClusterRole
	clusterRoleBindings []*rbacv1.ClusterRoleBinding
	roles               []*rbacv1.Role
	roleBindings        []*rbacv1.RoleBinding
}

// loadBootstrapPolicy decodes the embedded policy with the Kubernetes JSON
// codec.
func loadBootstrapPolicy(codec Codec) (*bootstrapPolicy, error) {
	var raw struct {
		ClusterRoles        []json.RawMessage `json:"clusterRoles"`
		ClusterRoleBindings []json.RawMessage `json:"clusterRoleBindings"`
		Roles               []json.RawMessage `json:"roles"`
		RoleBindings        []json.RawMessage `json:"roleBindings"`
	}
	if err := json.Unmarshal(bootstrapPolicyJSON, &raw); err != nil {
		return nil, fmt.Errorf("bootstrap policy: %w", err)
	}
	p := &bootstrapPolicy{}
	var err error
	if p.clusterRoles, err = decodeAll[*rbacv1.ClusterRole](codec, raw.ClusterRoles); err != nil {
		return nil, err
	}
	if p.clusterRoleBindings, err = decodeAll[*rbacv1.ClusterRoleBinding](codec, raw.ClusterRoleBindings); err != nil {
		return nil, err
	}
	if p.roles, err = decodeAll[*rbacv1.Role](codec, raw.Roles); err != nil {
		return nil, err
	}
	if p.roleBindings, err = decodeAll[*rbacv1.RoleBinding](codec, raw.RoleBindings); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeAll[T proto.Message](codec Codec, items []json.RawMessage) ([]T, error) {
	out := make([]T, len(items))
	for i, data := range items {
		var zero T
		obj := zero.ProtoReflect().New().Interface().(T)
		if err := codec.Unmarshal(data, obj); err != nil {
			return nil, fmt.Errorf("bootstrap policy: %s: %w", data[:min(len(data), 80)], err)
		}
		out[i] = obj
	}
	return out, nil
}

// EnsureRBACBootstrap creates the bootstrap roles and bindings that are
// missing and, as kube-apiserver's reconciliation does, adds the rules
// and subjects a stored one lacks, unless its autoupdate annotation is
// "false"; nothing an administrator added is ever removed.
func (s *Service) EnsureRBACBootstrap(ctx context.Context) error {
	if s.rbac == nil {
		return nil
	}
	p, err := loadBootstrapPolicy(s.rbac.clusterRoles.codec)
	if err != nil {
		return err
	}
	ctx = context.WithValue(ctx, bootstrapKey{}, true)
	if err := reconcileAll(ctx, s.rbac.clusterRoles, p.clusterRoles, func(stored, want *rbacv1.ClusterRole) bool {
		return addMissing(&stored.Rules, want.GetRules())
	}); err != nil {
		return err
	}
	if err := reconcileAll(ctx, s.rbac.clusterRoleBindings, p.clusterRoleBindings, func(stored, want *rbacv1.ClusterRoleBinding) bool {
		return addMissing(&stored.Subjects, want.GetSubjects())
	}); err != nil {
		return err
	}
	if err := reconcileAll(ctx, s.rbac.roles, p.roles, func(stored, want *rbacv1.Role) bool {
		return addMissing(&stored.Rules, want.GetRules())
	}); err != nil {
		return err
	}
	return reconcileAll(ctx, s.rbac.roleBindings, p.roleBindings, func(stored, want *rbacv1.RoleBinding) bool {
		return addMissing(&stored.Subjects, want.GetSubjects())
	})
}

// reconcileAll reconciles each object of a kind, stopping at the first
// failure (a namespaced object's namespace is its metadata's).
func reconcileAll[T storage.Object](ctx context.Context, r *resource[T], objs []T, merge func(stored, want T) bool) error {
	for _, obj := range objs {
		if err := reconcileBootstrap(ctx, r, obj.GetMetadata().GetNamespace(), obj, merge); err != nil {
			return err
		}
	}
	return nil
}

// reconcileBootstrap creates want, or merges it into the stored object
// with merge (which reports a change) and writes that back.
func reconcileBootstrap[T storage.Object](ctx context.Context, r *resource[T], ns string, want T, merge func(stored, want T) bool) error {
	name := want.GetMetadata().GetName()
	for attempt := 0; ; attempt++ {
		_, err := r.create(ctx, ns, proto.Clone(want).(T), writeOptions{manager: managerAPIServer})
		if apierrors.ReasonOf(err) != apierrors.ReasonAlreadyExists {
			if err != nil {
				return fmt.Errorf("creating %s %s: %w", r.kind, name, err)
			}
			return nil
		}
		stored, err := r.get(ctx, ns, name)
		if err != nil {
			return fmt.Errorf("reading %s %s: %w", r.kind, name, err)
		}
		if stored.GetMetadata().GetAnnotations()[bootstrapAutoupdate] == "false" || !merge(stored, want) {
			return nil
		}
		_, err = r.update(ctx, ns, name, stored, writeOptions{manager: managerAPIServer})
		if apierrors.ReasonOf(err) == apierrors.ReasonConflict && attempt < maxUpdateRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("updating %s %s: %w", r.kind, name, err)
		}
		return nil
	}
}

// addMissing appends to *have every item of want it lacks; it reports
// whether it added any.
func addMissing[M proto.Message](have *[]M, want []M) bool {
	added := false
	for _, w := range want {
		found := false
		for _, h := range *have {
			if proto.Equal(h, w) {
				found = true
				break
			}
		}
		if !found {
			*have = append(*have, w)
			added = true
		}
	}
	return added
}
