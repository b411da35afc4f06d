package rbac

import (
	"sync"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/authz/informer"
)

// Store is the in-memory copy of the RBAC objects, kept current by one
// informer per kind. Each kind's index is an informer.Handler.
type Store struct {
	mu                  sync.RWMutex
	roles               map[string]*rbacv1.Role                   // namespace/name
	clusterRoles        map[string]*rbacv1.ClusterRole            // /name
	roleBindings        map[string]map[string]*rbacv1.RoleBinding // namespace → name
	clusterRoleBindings map[string]*rbacv1.ClusterRoleBinding     // /name
	synced              map[string]bool
	onChange            func()
}

// Kinds the store holds, by their informer names.
const (
	KindRoles               = "Roles"
	KindClusterRoles        = "ClusterRoles"
	KindRoleBindings        = "RoleBindings"
	KindClusterRoleBindings = "ClusterRoleBindings"
)

// NewStore returns an empty store; onChange (may be nil) is called after
// every change.
func NewStore(onChange func()) *Store {
	return &Store{
		roles: map[string]*rbacv1.Role{}, clusterRoles: map[string]*rbacv1.ClusterRole{},
		roleBindings: map[string]map[string]*rbacv1.RoleBinding{}, clusterRoleBindings: map[string]*rbacv1.ClusterRoleBinding{},
		synced: map[string]bool{}, onChange: onChange,
	}
}

// Synced reports whether every kind has been listed once.
func (s *Store) Synced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.synced) == 4
}

// Role returns a role.
func (s *Store) Role(namespace, name string) (*rbacv1.Role, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.roles[namespace+"/"+name]
	return r, ok
}

// ClusterRole returns a cluster role, with the rules of an aggregated
// role gathered from the cluster roles its selectors match.
func (s *Store) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cr, ok := s.clusterRoles["/"+name]
	if !ok || len(cr.GetAggregationRule().GetClusterRoleSelectors()) == 0 {
		return cr, ok
	}
	out := &rbacv1.ClusterRole{Metadata: cr.GetMetadata(), AggregationRule: cr.GetAggregationRule()}
	for _, other := range s.clusterRoles {
		if other == cr {
			continue
		}
		for _, sel := range cr.GetAggregationRule().GetClusterRoleSelectors() {
			if selects(sel, other.GetMetadata().GetLabels()) {
				out.Rules = append(out.Rules, other.GetRules()...)
				break
			}
		}
	}
	return out, true
}

// ClusterRoleBindings returns every cluster role binding.
func (s *Store) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*rbacv1.ClusterRoleBinding, 0, len(s.clusterRoleBindings))
	for _, b := range s.clusterRoleBindings {
		out = append(out, b)
	}
	return out
}

// RoleBindings returns the role bindings of a namespace.
func (s *Store) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.roleBindings[namespace]
	out := make([]*rbacv1.RoleBinding, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	return out
}

// selects reports whether a label selector matches labels (an empty
// selector matches nothing, as the aggregation controller has it).
func selects(sel *corev1.LabelSelector, labels map[string]string) bool {
	if len(sel.GetMatchLabels()) == 0 && len(sel.GetMatchExpressions()) == 0 {
		return false
	}
	for k, v := range sel.GetMatchLabels() {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, e := range sel.GetMatchExpressions() {
		v, ok := labels[e.GetKey()]
		switch e.GetOperator() {
		case "In":
			if !ok || !contains(e.GetValues(), v) {
				return false
			}
		case "NotIn":
			if ok && contains(e.GetValues(), v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (s *Store) changed() {
	if s.onChange != nil {
		s.onChange()
	}
}

// index is one kind's informer.Handler over the store.
type index[T informer.Object] struct {
	s       *Store
	kind    string
	replace func(items []T)
	upsert  func(obj T)
	remove  func(obj T)
}

func (i *index[T]) Replace(items []T) {
	i.s.mu.Lock()
	i.replace(items)
	i.s.synced[i.kind] = true
	i.s.mu.Unlock()
	i.s.changed()
}

func (i *index[T]) Upsert(obj T) {
	i.s.mu.Lock()
	i.upsert(obj)
	i.s.mu.Unlock()
	i.s.changed()
}

func (i *index[T]) Delete(obj T) {
	i.s.mu.Lock()
	i.remove(obj)
	i.s.mu.Unlock()
	i.s.changed()
}

// Roles is the informer handler of roles.
func (s *Store) Roles() informer.Handler[*rbacv1.Role] {
	return &index[*rbacv1.Role]{s: s, kind: KindRoles,
		replace: func(items []*rbacv1.Role) {
			s.roles = map[string]*rbacv1.Role{}
			for _, r := range items {
				s.roles[informer.Key(r)] = r
			}
		},
		upsert: func(r *rbacv1.Role) { s.roles[informer.Key(r)] = r },
		remove: func(r *rbacv1.Role) { delete(s.roles, informer.Key(r)) },
	}
}

// ClusterRoles is the informer handler of cluster roles.
func (s *Store) ClusterRoles() informer.Handler[*rbacv1.ClusterRole] {
	return &index[*rbacv1.ClusterRole]{s: s, kind: KindClusterRoles,
		replace: func(items []*rbacv1.ClusterRole) {
			s.clusterRoles = map[string]*rbacv1.ClusterRole{}
			for _, r := range items {
				s.clusterRoles["/"+r.GetMetadata().GetName()] = r
			}
		},
		upsert: func(r *rbacv1.ClusterRole) { s.clusterRoles["/"+r.GetMetadata().GetName()] = r },
		remove: func(r *rbacv1.ClusterRole) { delete(s.clusterRoles, "/"+r.GetMetadata().GetName()) },
	}
}

// RoleBindingsHandler is the informer handler of role bindings.
func (s *Store) RoleBindingsHandler() informer.Handler[*rbacv1.RoleBinding] {
	put := func(b *rbacv1.RoleBinding) {
		ns := b.GetMetadata().GetNamespace()
		if s.roleBindings[ns] == nil {
			s.roleBindings[ns] = map[string]*rbacv1.RoleBinding{}
		}
		s.roleBindings[ns][b.GetMetadata().GetName()] = b
	}
	return &index[*rbacv1.RoleBinding]{s: s, kind: KindRoleBindings,
		replace: func(items []*rbacv1.RoleBinding) {
			s.roleBindings = map[string]map[string]*rbacv1.RoleBinding{}
			for _, b := range items {
				put(b)
			}
		},
		upsert: put,
		remove: func(b *rbacv1.RoleBinding) {
			ns := b.GetMetadata().GetNamespace()
			delete(s.roleBindings[ns], b.GetMetadata().GetName())
			if len(s.roleBindings[ns]) == 0 {
				delete(s.roleBindings, ns)
			}
		},
	}
}

// ClusterRoleBindingsHandler is the informer handler of cluster role
// bindings.
func (s *Store) ClusterRoleBindingsHandler() informer.Handler[*rbacv1.ClusterRoleBinding] {
	return &index[*rbacv1.ClusterRoleBinding]{s: s, kind: KindClusterRoleBindings,
		replace: func(items []*rbacv1.ClusterRoleBinding) {
			s.clusterRoleBindings = map[string]*rbacv1.ClusterRoleBinding{}
			for _, b := range items {
				s.clusterRoleBindings["/"+b.GetMetadata().GetName()] = b
			}
		},
		upsert: func(b *rbacv1.ClusterRoleBinding) { s.clusterRoleBindings["/"+b.GetMetadata().GetName()] = b },
		remove: func(b *rbacv1.ClusterRoleBinding) { delete(s.clusterRoleBindings, "/"+b.GetMetadata().GetName()) },
	}
}
