package rbac

import (
	"context"
	"errors"
	"testing"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

func rule(verbs, groups, resources []string, names ...string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: verbs, ApiGroups: groups, Resources: resources, ResourceNames: names}
}

func l(s ...string) []string { return s }

func meta(ns, name string) *corev1.ObjectMeta { return &corev1.ObjectMeta{Namespace: ns, Name: name} }

func res(verb, group, resource, sub, ns, name string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, ApiGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true}
}

func TestAllows(t *testing.T) {
	tests := map[string]struct {
		rule  *rbacv1.PolicyRule
		attrs *authzv1.Attributes
		want  bool
	}{
		"exact":                  {rule(l("get"), l(""), l("pods")), res("get", "", "pods", "", "a", "x"), true},
		"verb":                   {rule(l("get"), l(""), l("pods")), res("list", "", "pods", "", "a", ""), false},
		"star verb":              {rule(l("*"), l(""), l("pods")), res("deletecollection", "", "pods", "", "a", ""), true},
		"group":                  {rule(l("get"), l("apps"), l("pods")), res("get", "", "pods", "", "a", "x"), false},
		"star group":             {rule(l("get"), l("*"), l("deployments")), res("get", "apps", "deployments", "", "a", "x"), true},
		"subresource needs it":   {rule(l("get"), l(""), l("pods")), res("get", "", "pods", "log", "a", "x"), false},
		"subresource":            {rule(l("get"), l(""), l("pods/log")), res("get", "", "pods", "log", "a", "x"), true},
		"star subresource":       {rule(l("update"), l(""), l("*/status")), res("update", "", "pods", "status", "a", "x"), true},
		"star resource":          {rule(l("get"), l(""), l("*")), res("get", "", "pods", "log", "a", "x"), true},
		"resource name":          {rule(l("get"), l(""), l("configmaps"), "app"), res("get", "", "configmaps", "", "a", "app"), true},
		"other name":             {rule(l("get"), l(""), l("configmaps"), "app"), res("get", "", "configmaps", "", "a", "db"), false},
		"name rule and list":     {rule(l("list"), l(""), l("configmaps"), "app"), res("list", "", "configmaps", "", "a", ""), false},
		"path":                   {&rbacv1.PolicyRule{Verbs: l("get"), NonResourceUrls: l("/healthz")}, &authzv1.Attributes{Verb: "get", Path: "/healthz"}, true},
		"path prefix":            {&rbacv1.PolicyRule{Verbs: l("get"), NonResourceUrls: l("/apis/*")}, &authzv1.Attributes{Verb: "get", Path: "/apis/x/v1"}, true},
		"path prefix not parent": {&rbacv1.PolicyRule{Verbs: l("get"), NonResourceUrls: l("/apis/*")}, &authzv1.Attributes{Verb: "get", Path: "/apis"}, false},
		"path rule no resource":  {&rbacv1.PolicyRule{Verbs: l("*"), NonResourceUrls: l("*")}, res("get", "", "pods", "", "a", "x"), false},
		"resource rule no path":  {rule(l("*"), l("*"), l("*")), &authzv1.Attributes{Verb: "get", Path: "/healthz"}, false},
	}
	for name, tc := range tests {
		if got := Allows(tc.rule, tc.attrs); got != tc.want {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}
}

// fixture: bob reads pods in dev through a Role, the dev group edits
// config maps everywhere through a ClusterRole, a service account views
// through an aggregated ClusterRole, and one binding points nowhere.
func fixture(t *testing.T) *Store {
	t.Helper()
	s := NewStore(nil)
	s.Roles().Replace([]*rbacv1.Role{{Metadata: meta("dev", "pod-reader"), Rules: []*rbacv1.PolicyRule{rule(l("get", "list", "watch"), l(""), l("pods"))}}})
	s.ClusterRoles().Replace([]*rbacv1.ClusterRole{
		{Metadata: meta("", "cm-editor"), Rules: []*rbacv1.PolicyRule{rule(l("*"), l(""), l("configmaps"))}},
		{Metadata: &corev1.ObjectMeta{Name: "viewer-part", Labels: map[string]string{"agg": "view"}}, Rules: []*rbacv1.PolicyRule{rule(l("get"), l(""), l("services"))}},
		{Metadata: meta("", "viewer"), AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []*corev1.LabelSelector{{MatchLabels: map[string]string{"agg": "view"}}}}},
	})
	s.RoleBindingsHandler().Replace([]*rbacv1.RoleBinding{
		{Metadata: meta("dev", "bob-reads"), Subjects: []*rbacv1.Subject{{Kind: "User", Name: "bob"}}, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"}},
		{Metadata: meta("dev", "sa-views"), Subjects: []*rbacv1.Subject{{Kind: "ServiceAccount", Name: "robot"}}, RoleRef: &rbacv1.RoleRef{Kind: "ClusterRole", Name: "viewer"}},
		{Metadata: meta("dev", "dangling"), Subjects: []*rbacv1.Subject{{Kind: "User", Name: "carol"}}, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "gone"}},
	})
	s.ClusterRoleBindingsHandler().Replace([]*rbacv1.ClusterRoleBinding{
		{Metadata: meta("", "dev-edits"), Subjects: []*rbacv1.Subject{{Kind: "Group", Name: "dev"}}, RoleRef: &rbacv1.RoleRef{Kind: "ClusterRole", Name: "cm-editor"}},
		{Metadata: meta("", "role-ref"), Subjects: []*rbacv1.Subject{{Kind: "User", Name: "dave"}}, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"}},
	})
	return s
}

func TestAuthorize(t *testing.T) {
	a := New(fixture(t))
	bob := &authnv1.UserInfo{Username: "bob", Groups: l("system:authenticated")}
	dev := &authnv1.UserInfo{Username: "erin", Groups: l("dev")}
	robot := &authnv1.UserInfo{Username: "system:serviceaccount:dev:robot"}
	otherRobot := &authnv1.UserInfo{Username: "system:serviceaccount:prod:robot"}
	carol := &authnv1.UserInfo{Username: "carol"}
	dave := &authnv1.UserInfo{Username: "dave"}
	tests := map[string]struct {
		user   *authnv1.UserInfo
		attrs  *authzv1.Attributes
		want   authorizer.Decision
		reason string
	}{
		"role in its namespace":       {bob, res("list", "", "pods", "", "dev", ""), authorizer.Allow, ""},
		"role not elsewhere":          {bob, res("list", "", "pods", "", "prod", ""), authorizer.NoOpinion, ""},
		"role not cluster wide":       {bob, res("list", "", "pods", "", "", ""), authorizer.NoOpinion, ""},
		"role verbs":                  {bob, res("delete", "", "pods", "", "dev", "x"), authorizer.NoOpinion, ""},
		"group cluster role anywhere": {dev, res("delete", "", "configmaps", "", "prod", "x"), authorizer.Allow, ""},
		"group cluster role cluster":  {dev, res("list", "", "configmaps", "", "", ""), authorizer.Allow, ""},
		"service account in ns":       {robot, res("get", "", "services", "", "dev", "x"), authorizer.Allow, ""},
		"same name other namespace":   {otherRobot, res("get", "", "services", "", "dev", "x"), authorizer.NoOpinion, ""},
		"aggregated rules only":       {robot, res("get", "", "pods", "", "dev", "x"), authorizer.NoOpinion, ""},
		"missing role is the reason":  {carol, res("get", "", "pods", "", "dev", "x"), authorizer.NoOpinion, `RBAC: role.rbac.authorization.k8s.io "gone" not found`},
		"role in cluster binding":     {dave, res("get", "", "pods", "", "dev", "x"), authorizer.NoOpinion, `RBAC: a cluster role binding may not refer to role "pod-reader"`},
		"nothing bound":               {&authnv1.UserInfo{Username: "zed"}, res("get", "", "pods", "", "dev", "x"), authorizer.NoOpinion, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, reason, err := a.Authorize(context.Background(), tc.user, tc.attrs)
			if err != nil || d != tc.want || reason != tc.reason {
				t.Fatalf("got %v %q %v, want %v %q", d, reason, err, tc.want, tc.reason)
			}
		})
	}
}

func TestNotSynced(t *testing.T) {
	s := NewStore(nil)
	s.Roles().Replace(nil)
	d, _, err := New(s).Authorize(context.Background(), &authnv1.UserInfo{Username: "x"}, res("get", "", "pods", "", "a", "b"))
	if d != authorizer.NoOpinion || !errors.Is(err, ErrNotSynced) {
		t.Fatalf("got %v %v", d, err)
	}
}

func TestChangesTakeEffect(t *testing.T) {
	changes := 0
	s := NewStore(func() { changes++ })
	s.Roles().Replace(nil)
	s.ClusterRoles().Replace(nil)
	s.RoleBindingsHandler().Replace(nil)
	s.ClusterRoleBindingsHandler().Replace(nil)
	a := New(s)
	u := &authnv1.UserInfo{Username: "u"}
	at := res("get", "", "pods", "", "a", "b")
	if d, _, _ := a.Authorize(context.Background(), u, at); d != authorizer.NoOpinion {
		t.Fatal("allowed before any binding")
	}
	s.ClusterRoles().Upsert(&rbacv1.ClusterRole{Metadata: meta("", "r"), Rules: []*rbacv1.PolicyRule{rule(l("get"), l(""), l("pods"))}})
	b := &rbacv1.RoleBinding{Metadata: meta("a", "b"), Subjects: []*rbacv1.Subject{{Kind: "User", Name: "u"}}, RoleRef: &rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}}
	s.RoleBindingsHandler().Upsert(b)
	if d, _, _ := a.Authorize(context.Background(), u, at); d != authorizer.Allow {
		t.Fatal("binding not in effect")
	}
	s.RoleBindingsHandler().Delete(b)
	if d, _, _ := a.Authorize(context.Background(), u, at); d != authorizer.NoOpinion {
		t.Fatal("deleted binding still in effect")
	}
	if changes != 7 {
		t.Errorf("changes = %d, want 7", changes)
	}
}

func TestRulesFor(t *testing.T) {
	a := New(fixture(t))
	got, inc, err := a.RulesFor(context.Background(), &authnv1.UserInfo{Username: "bob", Groups: l("dev")}, "dev")
	if err != nil || inc {
		t.Fatal(err, inc)
	}
	if len(got.Resource) != 2 {
		t.Fatalf("rules %+v", got.Resource)
	}
	_, inc, err = a.RulesFor(context.Background(), &authnv1.UserInfo{Username: "carol"}, "dev")
	if !inc || err == nil {
		t.Fatal("a dangling binding makes the list incomplete")
	}
}

func TestCovers(t *testing.T) {
	pr := func(verbs, groups, resources []string, names ...string) *authzv1.PolicyRule {
		return &authzv1.PolicyRule{Verbs: verbs, ApiGroups: groups, Resources: resources, ResourceNames: names}
	}
	owner := authorizer.Rules{
		Resource: []authorizer.ResourceRule{
			{Verbs: l("get", "list"), APIGroups: l(""), Resources: l("pods", "pods/log")},
			{Verbs: l("*"), APIGroups: l("apps"), Resources: l("deployments")},
			{Verbs: l("update"), APIGroups: l(""), Resources: l("*/status")},
			{Verbs: l("get"), APIGroups: l(""), Resources: l("secrets"), ResourceNames: l("tls")},
		},
		NonResource: []authorizer.NonResourceRule{{Verbs: l("get"), NonResourceURLs: l("/apis/*")}},
	}
	tests := map[string]struct {
		req     []*authzv1.PolicyRule
		covered bool
		missing int
	}{
		"subset":                      {[]*authzv1.PolicyRule{pr(l("get"), l(""), l("pods"))}, true, 0},
		"more verbs":                  {[]*authzv1.PolicyRule{pr(l("get", "delete"), l(""), l("pods"))}, false, 1},
		"star verb on star":           {[]*authzv1.PolicyRule{pr(l("*"), l("apps"), l("deployments"))}, true, 0},
		"star verb not held":          {[]*authzv1.PolicyRule{pr(l("*"), l(""), l("pods"))}, false, 1},
		"star status":                 {[]*authzv1.PolicyRule{pr(l("update"), l(""), l("pods/status", "nodes/status"))}, true, 0},
		"named secret":                {[]*authzv1.PolicyRule{pr(l("get"), l(""), l("secrets"), "tls")}, true, 0},
		"all secrets from one":        {[]*authzv1.PolicyRule{pr(l("get"), l(""), l("secrets"))}, false, 1},
		"other secret":                {[]*authzv1.PolicyRule{pr(l("get"), l(""), l("secrets"), "tls", "db")}, false, 1},
		"paths":                       {[]*authzv1.PolicyRule{{Verbs: l("get"), NonResourceUrls: l("/apis/apps", "/apis/*")}}, true, 0},
		"path outside":                {[]*authzv1.PolicyRule{{Verbs: l("get"), NonResourceUrls: l("/metrics")}}, false, 1},
		"nothing requested":           {nil, true, 0},
		"each missing piece is named": {[]*authzv1.PolicyRule{pr(l("create", "delete"), l("", "batch"), l("jobs"))}, false, 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, missing := Covers(owner, tc.req)
			if ok != tc.covered || len(missing) != tc.missing {
				t.Fatalf("got %v, missing %v", ok, missing)
			}
		})
	}
}

// BenchmarkAuthorize is one RBAC decision that a cache miss costs authz:
// 200 cluster role bindings and 50 role bindings in the namespace, the
// allowing rule in the last of them.
func BenchmarkAuthorize(b *testing.B) {
	s := NewStore(nil)
	var crbs []*rbacv1.ClusterRoleBinding
	for i := range 200 {
		crbs = append(crbs, &rbacv1.ClusterRoleBinding{Metadata: meta("", "crb"+string(rune('a'+i%26))+string(rune('a'+i/26))),
			Subjects: []*rbacv1.Subject{{Kind: "Group", Name: "other"}}, RoleRef: &rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}})
	}
	var rbs []*rbacv1.RoleBinding
	for i := range 50 {
		rbs = append(rbs, &rbacv1.RoleBinding{Metadata: meta("dev", "rb"+string(rune('a'+i%26))+string(rune('a'+i/26))),
			Subjects: []*rbacv1.Subject{{Kind: "User", Name: "bob"}}, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "reader"}})
	}
	s.ClusterRoleBindingsHandler().Replace(crbs)
	s.RoleBindingsHandler().Replace(rbs)
	s.ClusterRoles().Replace([]*rbacv1.ClusterRole{{Metadata: meta("", "r"), Rules: []*rbacv1.PolicyRule{rule(l("get"), l(""), l("nodes"))}}})
	s.Roles().Replace([]*rbacv1.Role{{Metadata: meta("dev", "reader"), Rules: []*rbacv1.PolicyRule{
		rule(l("get"), l("apps"), l("deployments")), rule(l("get", "list"), l(""), l("pods"))}}})
	a := New(s)
	u := &authnv1.UserInfo{Username: "bob", Groups: l("dev", "system:authenticated")}
	at := res("list", "", "pods", "", "dev", "")
	b.ReportAllocs()
	for range b.N {
		if d, _, _ := a.Authorize(context.Background(), u, at); d != authorizer.Allow {
			b.Fatal(d)
		}
	}
}
