// Command bootstrappolicy writes kube-apiserver v1.37.2's bootstrap RBAC
// policy (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy,
// with the default feature gates) as Kubernetes JSON, so that Portico
// creates the same roles and bindings: the user-facing and system cluster
// roles, the controllers' roles for --use-service-account-credentials,
// and the leader-election roles in kube-system. The aggregated roles
// (admin, edit, view, ...) are written with their rules already
// aggregated, as kube-controller-manager's clusterrole-aggregation
// controller would leave them, so they work without one.
//
//	cd test/peers && go run ./bootstrappolicy -out ../../services/api/zz_bootstrap_policy.json
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac/bootstrappolicy"
)

// policy is the file's shape.
type policy struct {
	ClusterRoles        []rbacv1.ClusterRole        `json:"clusterRoles"`
	ClusterRoleBindings []rbacv1.ClusterRoleBinding `json:"clusterRoleBindings"`
	Roles               []rbacv1.Role               `json:"roles"`
	RoleBindings        []rbacv1.RoleBinding        `json:"roleBindings"`
}

func main() {
	out := flag.String("out", "", "file to write (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "bootstrappolicy: -out is required")
		os.Exit(2)
	}
	data, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootstrappolicy:", err)
		os.Exit(1)
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrappolicy:", err)
		os.Exit(1)
	}
}

func generate() ([]byte, error) {
	var p policy
	p.ClusterRoles = append(bootstrappolicy.ClusterRoles(), bootstrappolicy.ControllerRoles()...)
	if err := aggregate(p.ClusterRoles); err != nil {
		return nil, err
	}
	p.ClusterRoleBindings = append(bootstrappolicy.ClusterRoleBindings(), bootstrappolicy.ControllerRoleBindings()...)
	for _, ns := range sortedKeys(bootstrappolicy.NamespaceRoles()) {
		p.Roles = append(p.Roles, bootstrappolicy.NamespaceRoles()[ns]...)
	}
	for _, ns := range sortedKeys(bootstrappolicy.NamespaceRoleBindings()) {
		p.RoleBindings = append(p.RoleBindings, bootstrappolicy.NamespaceRoleBindings()[ns]...)
	}
	sort.SliceStable(p.ClusterRoles, func(i, j int) bool { return p.ClusterRoles[i].Name < p.ClusterRoles[j].Name })
	sort.SliceStable(p.ClusterRoleBindings, func(i, j int) bool { return p.ClusterRoleBindings[i].Name < p.ClusterRoleBindings[j].Name })
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// aggregate fills each role with an aggregation rule with the rules of
// every role its selectors match, as the clusterrole-aggregation
// controller does (roles are visited until nothing changes, since an
// aggregated role may itself be aggregated: admin takes edit's).
func aggregate(roles []rbacv1.ClusterRole) error {
	for changed := true; changed; {
		changed = false
		for i := range roles {
			ar := roles[i].AggregationRule
			if ar == nil {
				continue
			}
			var rules []rbacv1.PolicyRule
			for _, sel := range ar.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					return fmt.Errorf("%s: %w", roles[i].Name, err)
				}
				for j := range roles {
					if j == i || !s.Matches(labels.Set(roles[j].Labels)) {
						continue
					}
					for _, r := range roles[j].Rules {
						if !slices.ContainsFunc(rules, func(x rbacv1.PolicyRule) bool { return equalRule(x, r) }) {
							rules = append(rules, r)
						}
					}
				}
			}
			if len(rules) != len(roles[i].Rules) {
				roles[i].Rules = rules
				changed = true
			}
		}
	}
	return nil
}

func equalRule(a, b rbacv1.PolicyRule) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
