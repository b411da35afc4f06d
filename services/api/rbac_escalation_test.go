package api

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authzclient"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/kjson"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// fakeAuthz allows the verbs listed per user, and holds the rules listed
// per user for escalation checks.
type fakeAuthz struct {
	allowed map[string][]string // user → "verb resource/name"
	holds   map[string]bool     // user → holds every rule asked about
	asked   []*authzv1.PolicyRule
}

func (f *fakeAuthz) Authorize(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	for _, s := range f.allowed[u.GetUsername()] {
		if s == a.GetVerb()+" "+a.GetResource()+"/"+a.GetName() {
			return nil
		}
	}
	return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), a.GetName(), authzclient.ForbiddenMessage(u, a, ""))
}

func (f *fakeAuthz) ConfirmNoEscalation(_ context.Context, u *authnv1.UserInfo, _ string, rules []*authzv1.PolicyRule) (*authzv1.ConfirmNoEscalationResponse, error) {
	f.asked = rules
	if f.holds[u.GetUsername()] {
		return &authzv1.ConfirmNoEscalationResponse{Covered: true}, nil
	}
	return &authzv1.ConfirmNoEscalationResponse{Missing: []*authzv1.PolicyRule{{Verbs: []string{"delete"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}}, nil
}

func escalationService(f *fakeAuthz) *Service {
	s := &Service{authz: f, escalation: f}
	s.roleRules = func(_ context.Context, ref *rbacv1.RoleRef, _ string) ([]*rbacv1.PolicyRule, error) {
		if ref.GetName() == "missing" {
			return nil, apierrors.NotFound(rbacGroup, "clusterroles", "missing")
		}
		return []*rbacv1.PolicyRule{{Verbs: []string{"delete"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}, nil
	}
	return s
}

func TestEscalation(t *testing.T) {
	f := &fakeAuthz{
		allowed: map[string][]string{"escalator": {"escalate roles/r"}, "binder": {"bind clusterroles/edit"}},
		holds:   map[string]bool{"holder": true},
	}
	s := escalationService(f)
	as := func(name string, groups ...string) context.Context {
		return identity.WithUser(context.Background(), &authnv1.UserInfo{Username: name, Groups: groups})
	}
	rules := []*rbacv1.PolicyRule{{Verbs: []string{"delete"}, ApiGroups: []string{""}, Resources: []string{"pods"}}}
	ref := &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: "edit"}
	tests := map[string]struct {
		check func() error
		want  apierrors.Reason
		msg   string
	}{
		"masters write any role": {func() error { return s.confirmRules(as("root", "system:masters"), "roles", "ns", "r", rules) }, "", ""},
		"bootstrap writes any role": {func() error {
			return s.confirmRules(context.WithValue(context.Background(), bootstrapKey{}, true), "clusterroles", "", "r", rules)
		}, "", ""},
		"escalate verb":               {func() error { return s.confirmRules(as("escalator"), "roles", "ns", "r", rules) }, "", ""},
		"escalate is per name":        {func() error { return s.confirmRules(as("escalator"), "roles", "ns", "other", rules) }, apierrors.ReasonForbidden, ""},
		"holder grants what he holds": {func() error { return s.confirmRules(as("holder"), "roles", "ns", "r", rules) }, "", ""},
		"nobody grants more": {func() error { return s.confirmRules(as("bob", "dev"), "roles", "ns", "r", rules) }, apierrors.ReasonForbidden,
			"roles.rbac.authorization.k8s.io \"r\" is forbidden: user \"bob\" (groups=[\"dev\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}"},
		"no user":          {func() error { return s.confirmRules(context.Background(), "roles", "ns", "r", rules) }, apierrors.ReasonUnauthorized, ""},
		"bind verb":        {func() error { return s.confirmBinding(as("binder"), "rolebindings", "ns", "b", ref, nil, false) }, "", ""},
		"holder binds":     {func() error { return s.confirmBinding(as("holder"), "rolebindings", "ns", "b", ref, nil, false) }, "", ""},
		"bob may not bind": {func() error { return s.confirmBinding(as("bob"), "clusterrolebindings", "", "b", ref, nil, false) }, apierrors.ReasonForbidden, "clusterrolebindings.rbac.authorization.k8s.io \"b\" is forbidden: user \"bob\""},
		"missing role": {func() error {
			return s.confirmBinding(as("bob"), "rolebindings", "ns", "b", &rbacv1.RoleRef{Kind: "ClusterRole", Name: "missing"}, nil, false)
		}, apierrors.ReasonForbidden, `clusterroles.rbac.authorization.k8s.io "missing" not found`},
		"roleRef is immutable": {func() error {
			return s.confirmBinding(as("root", "system:masters"), "rolebindings", "ns", "b", ref, &rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, true)
		}, apierrors.ReasonInvalid, `roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: field is immutable`},
		"same roleRef on update": {func() error {
			return s.confirmBinding(as("holder"), "rolebindings", "ns", "b", ref, proto.Clone(ref).(*rbacv1.RoleRef), true)
		}, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.check()
			if apierrors.ReasonOf(err) != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}

// TestBootstrapPolicy: the embedded policy decodes, holds the roles a
// control plane needs, and binds them as kube-apiserver does.
func TestBootstrapPolicy(t *testing.T) {
	p, err := loadBootstrapPolicy(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]*rbacv1.ClusterRole{}
	for _, cr := range p.clusterRoles {
		roles[cr.GetMetadata().GetName()] = cr
	}
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:public-info-viewer", "system:discovery", "system:basic-user",
		"system:kube-scheduler", "system:kube-controller-manager", "system:volume-scheduler", "system:node",
		"system:controller:deployment-controller", "system:controller:generic-garbage-collector", "system:controller:namespace-controller"} {
		if roles[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	// The aggregated roles come with their rules: admin ⊇ edit ⊇ view,
	// and view reads no secrets.
	contains := func(outer, inner *rbacv1.ClusterRole) bool {
		for _, r := range inner.GetRules() {
			found := false
			for _, o := range outer.GetRules() {
				found = found || proto.Equal(r, o)
			}
			if !found {
				return false
			}
		}
		return true
	}
	if len(roles["view"].GetRules()) == 0 || !contains(roles["admin"], roles["edit"]) || !contains(roles["edit"], roles["view"]) {
		t.Error("admin, edit and view are not filled and nested")
	}
	for _, r := range roles["view"].GetRules() {
		for _, res := range r.GetResources() {
			if res == "secrets" {
				t.Error("view reads secrets")
			}
		}
	}
	bound := map[string]string{}
	for _, b := range p.clusterRoleBindings {
		if roles[b.GetRoleRef().GetName()] == nil {
			t.Errorf("binding %s refers to %v", b.GetMetadata().GetName(), b.GetRoleRef())
		}
		for _, s := range b.GetSubjects() {
			bound[b.GetMetadata().GetName()] += s.GetName() + " "
		}
	}
	for name, want := range map[string]string{
		"cluster-admin":                    "system:masters ",
		"system:public-info-viewer":        "system:authenticated system:unauthenticated ",
		"system:kube-scheduler":            "system:kube-scheduler ",
		"system:kube-controller-manager":   "system:kube-controller-manager ",
		"system:controller:job-controller": "job-controller ",
	} {
		if bound[name] != want {
			t.Errorf("binding %s: subjects %q, want %q", name, bound[name], want)
		}
	}
	leaderLocking := false
	for _, r := range p.roles {
		leaderLocking = leaderLocking || (r.GetMetadata().GetNamespace() == "kube-system" && r.GetMetadata().GetName() == "system::leader-locking-kube-scheduler")
	}
	if !leaderLocking {
		t.Error("no leader-election role for the scheduler in kube-system")
	}
}

// TestAddMissing: reconciliation adds what a stored object lacks and
// keeps what it has.
func TestAddMissing(t *testing.T) {
	r := func(verb string) *rbacv1.PolicyRule {
		return &rbacv1.PolicyRule{Verbs: []string{verb}, ApiGroups: []string{""}, Resources: []string{"pods"}}
	}
	tests := map[string]struct {
		have, want []*rbacv1.PolicyRule
		added      bool
		n          int
	}{
		"nothing missing":     {[]*rbacv1.PolicyRule{r("get"), r("list")}, []*rbacv1.PolicyRule{r("get")}, false, 2},
		"one missing":         {[]*rbacv1.PolicyRule{r("get")}, []*rbacv1.PolicyRule{r("get"), r("watch")}, true, 2},
		"admin's rule stays":  {[]*rbacv1.PolicyRule{r("delete")}, []*rbacv1.PolicyRule{r("get")}, true, 2},
		"empty stored object": {nil, []*rbacv1.PolicyRule{r("get")}, true, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			have := tc.have
			if got := addMissing(&have, tc.want); got != tc.added || len(have) != tc.n {
				t.Errorf("addMissing = %v with %d rules, want %v with %d", got, len(have), tc.added, tc.n)
			}
		})
	}
}
