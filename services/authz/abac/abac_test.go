package abac

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// exampleFile is kube-apiserver's example_policy_file.jsonl, with a
// comment and a blank line.
const exampleFile = `# kube-apiserver's example policy
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group":"system:authenticated",  "nonResourcePath": "*", "readonly": true}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group":"system:unauthenticated", "nonResourcePath": "*", "readonly": true}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"admin",     "namespace": "*",              "resource": "*",         "apiGroup": "*"                   }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"scheduler", "namespace": "*",              "resource": "pods",                       "readonly": true }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"scheduler", "namespace": "*",              "resource": "bindings"                                     }}

{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"kubelet",   "namespace": "*",              "resource": "pods",                       "readonly": true }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"kubelet",   "namespace": "*",              "resource": "services",                   "readonly": true }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"kubelet",   "namespace": "*",              "resource": "endpoints",                  "readonly": true }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"kubelet",   "namespace": "*",              "resource": "events"                                       }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"alice",     "namespace": "projectCaribou", "resource": "*",         "apiGroup": "*"                   }}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user":"bob",       "namespace": "projectCaribou", "resource": "*",         "apiGroup": "*", "readonly": true }}
`

// v0File is the unversioned test policy of kube-apiserver's abac_test.go.
const v0File = `{"readonly": true, "resource": "events"}
{"user":"scheduler", "readonly": true, "resource": "pods"}
{"user":"scheduler", "resource": "bindings"}
{"user":"kubelet",  "readonly": true, "resource": "bindings"}
{"user":"kubelet", "resource": "events"}
{"user":"alice", "namespace": "projectCaribou"}
{"user":"bob", "readonly": true, "namespace": "projectCaribou"}
`

func mustParse(t testing.TB, text string) List {
	t.Helper()
	res, err := Parse(strings.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	return res.Policies
}

func user(name string, groups ...string) *authnv1.UserInfo {
	return &authnv1.UserInfo{Username: name, Groups: groups}
}

func resource(verb, group, res, ns string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, ApiGroup: group, Resource: res, Namespace: ns, ResourceRequest: true}
}

func path(verb, p string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, Path: p}
}

func TestAuthorize(t *testing.T) {
	example, v0 := mustParse(t, exampleFile), mustParse(t, v0File)
	authd := "system:authenticated"
	tests := map[string]struct {
		policy List
		user   *authnv1.UserInfo
		attrs  *authzv1.Attributes
		want   authorizer.Decision
	}{
		// kube-apiserver's abac_test.go vectors on the unversioned policy.
		"v0 scheduler lists pods":           {v0, user("scheduler", authd), resource("list", "", "pods", "ns1"), authorizer.Allow},
		"v0 scheduler may not create pods":  {v0, user("scheduler", authd), resource("create", "", "pods", "ns1"), authorizer.NoOpinion},
		"v0 alice updates in her namespace": {v0, user("alice", authd), resource("update", "bar", "widgets", "projectCaribou"), authorizer.Allow},
		"v0 alice not in ns1":               {v0, user("alice", authd), resource("get", "", "pods", "ns1"), authorizer.NoOpinion},
		"v0 bob reads his namespace":        {v0, user("bob", authd), resource("get", "", "pods", "projectCaribou"), authorizer.Allow},
		"v0 bob may not write":              {v0, user("bob", authd), resource("update", "", "pods", "projectCaribou"), authorizer.NoOpinion},
		"v0 anyone reads events":            {v0, user("chuck", authd), resource("get", "", "events", "ns1"), authorizer.Allow},
		"v0 nobody updates events":          {v0, user("chuck", authd), resource("update", "", "events", "ns1"), authorizer.NoOpinion},
		"v0 no path for chuck":              {v0, user("chuck", authd), path("get", "/"), authorizer.NoOpinion},
		"v0 namespaced line has no paths":   {v0, user("alice", authd), path("get", "/api"), authorizer.NoOpinion},
		"v0 bare user line has paths":       {mustParse(t, `{"user":"admin"}`), user("admin"), path("post", "/api"), authorizer.Allow},
		"v0 empty subject is authenticated": {v0, user("anon", "system:unauthenticated"), resource("get", "", "events", "ns1"), authorizer.NoOpinion},

		// The example file.
		"admin anything":                    {example, user("admin"), resource("delete", "apps", "deployments", "x"), authorizer.Allow},
		"admin cluster scope":               {example, user("admin"), resource("create", "", "namespaces", ""), authorizer.Allow},
		"kubelet core pods only":            {example, user("kubelet"), resource("get", "apps", "pods", "x"), authorizer.NoOpinion},
		"kubelet core pods":                 {example, user("kubelet"), resource("watch", "", "pods", "x"), authorizer.Allow},
		"kubelet writes events":             {example, user("kubelet"), resource("create", "", "events", "x"), authorizer.Allow},
		"subresources ride on the resource": {example, user("kubelet"), &authzv1.Attributes{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "x", ResourceRequest: true}, authorizer.Allow},
		"authenticated reads paths":         {example, user("carol", authd), path("get", "/version"), authorizer.Allow},
		"unauthenticated reads paths":       {example, user("system:anonymous", "system:unauthenticated"), path("get", "/healthz"), authorizer.Allow},
		"head is not read only":             {example, user("carol", authd), path("head", "/healthz"), authorizer.NoOpinion},
		"no post on paths":                  {example, user("carol", authd), path("post", "/version"), authorizer.NoOpinion},
		"resource line is not a path":       {example, user("admin"), path("get", "/metrics"), authorizer.NoOpinion},
		"path line is not a resource":       {example, user("carol", authd), resource("get", "", "pods", "x"), authorizer.NoOpinion},

		// Wildcards.
		"star user is authenticated":     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"*","namespace":"*","resource":"*","apiGroup":"*"}}`), user("x", authd), resource("get", "", "pods", "a"), authorizer.Allow},
		"star user is not anonymous":     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"*","namespace":"*","resource":"*","apiGroup":"*"}}`), user("system:anonymous", "system:unauthenticated"), resource("get", "", "pods", "a"), authorizer.NoOpinion},
		"star namespace has clusters":    {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","namespace":"*","resource":"nodes"}}`), user("u"), resource("get", "", "nodes", ""), authorizer.Allow},
		"empty namespace is clusters":    {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","resource":"nodes"}}`), user("u"), resource("get", "", "nodes", ""), authorizer.Allow},
		"empty namespace is not ns":      {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","resource":"pods"}}`), user("u"), resource("get", "", "pods", "a"), authorizer.NoOpinion},
		"path prefix":                    {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","nonResourcePath":"/apis/*"}}`), user("u"), path("get", "/apis/apps/v1"), authorizer.Allow},
		"path prefix not the parent":     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","nonResourcePath":"/apis/*"}}`), user("u"), path("get", "/apis"), authorizer.NoOpinion},
		"path exact":                     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","nonResourcePath":"/version"}}`), user("u"), path("get", "/version/"), authorizer.NoOpinion},
		"user and group both needed":     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","group":"g","namespace":"*","resource":"*","apiGroup":"*"}}`), user("u", "h"), resource("get", "", "pods", "a"), authorizer.NoOpinion},
		"group line":                     {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"group":"dev","namespace":"dev","resource":"*","apiGroup":"*"}}`), user("x", "dev"), resource("create", "apps", "deployments", "dev"), authorizer.Allow},
		"no subject matches nobody":      {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"namespace":"*","resource":"*","apiGroup":"*"}}`), user("x", authd), resource("get", "", "pods", "a"), authorizer.NoOpinion},
		"explicit v0 apiVersion":         {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v0","kind":"Policy","user":"u","resource":"pods"}`), user("u"), resource("delete", "", "pods", "zz"), authorizer.Allow},
		"empty file has no opinion":      {nil, user("admin", "system:masters"), resource("get", "", "pods", "a"), authorizer.NoOpinion},
		"readonly allows get list watch": {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","namespace":"*","resource":"*","readonly":true}}`), user("u"), resource("watch", "", "pods", "a"), authorizer.Allow},
		"readonly refuses patch":         {mustParse(t, `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","namespace":"*","resource":"*","readonly":true}}`), user("u"), resource("patch", "", "pods", "a"), authorizer.NoOpinion},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, reason, err := tc.policy.Authorize(context.Background(), tc.user, tc.attrs)
			if err != nil || d != tc.want {
				t.Fatalf("got %v (%q, %v), want %v", d, reason, err, tc.want)
			}
			if d == authorizer.NoOpinion && reason != NoMatch {
				t.Errorf("reason %q, want %q", reason, NoMatch)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	good := `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"u","resource":"pods"}}`
	tests := map[string]struct {
		text, want string
	}{
		"not JSON":            {good + "\n# c\n{nope\n", "line 3"},
		"unknown field":       {good + "\n" + `{"user":"u","namspace":"x"}`, `line 2: {"user":"u","namspace":"x"}: json: unknown field "namspace"`},
		"unknown spec field":  {`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"usr":"u"}}`, `line 1`},
		"wrong apiVersion":    {`{"apiVersion":"abac.authorization.kubernetes.io/v2","kind":"Policy","spec":{"user":"u"}}`, `line 1`},
		"wrong kind":          {`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Rule","spec":{"user":"u"}}`, `line 1`},
		"kind alone":          {`{"kind":"Policy","user":"u"}`, `line 1`},
		"no spec":             {`{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy"}`, `line 1: {"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy"}: spec is required`},
		"null":                {"null", "line 1"},
		"array":               {`[{"user":"u"}]`, "line 1"},
		"two objects":         {`{"user":"u"} {"user":"v"}`, "line 1"},
		"wrong type":          {`{"user":"u","readonly":"yes"}`, "line 1"},
		"too long":            {good + "\n" + `{"user":"` + strings.Repeat("x", MaxLineBytes) + `"}`, "line 2: bufio.Scanner: token too long"},
		"line after comments": {"\n\n   # x\n" + good + "\n\t\n{", "line 6"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.text), "policy.jsonl")
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), "policy file policy.jsonl, "+tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestParseEmptyAndComments(t *testing.T) {
	res, err := Parse(strings.NewReader("\n# nothing\n   \n"), "x")
	if err != nil || len(res.Policies) != 0 {
		t.Fatalf("got %v, %v", res, err)
	}
	res, err = Parse(strings.NewReader(v0File), "x")
	if err != nil || res.Unversioned != 7 {
		t.Fatalf("unversioned = %d, %v", res.Unversioned, err)
	}
}

func TestRulesFor(t *testing.T) {
	l := mustParse(t, exampleFile)
	got, inc, err := l.RulesFor(context.Background(), user("bob", "system:authenticated"), "projectCaribou")
	if err != nil || inc {
		t.Fatal(err, inc)
	}
	// The non-resource line has no namespace: kube-apiserver lists it only
	// for the cluster scope.
	want := authorizer.Rules{
		Resource: []authorizer.ResourceRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	got, _, _ = l.RulesFor(context.Background(), user("bob", "system:authenticated"), "")
	want = authorizer.Rules{NonResource: []authorizer.NonResourceRule{{Verbs: []string{"get", "list", "watch"}, NonResourceURLs: []string{"*"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cluster scope: got %+v\nwant %+v", got, want)
	}
	got, _, _ = mustParse(t, v0File).RulesFor(context.Background(), user("alice", "system:authenticated"), "other")
	want = authorizer.Rules{Resource: []authorizer.ResourceRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"*"}, Resources: []string{"events"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v0: got %+v\nwant %+v", got, want)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestReload: a changed file is in force after Reload; a changed file
// that does not parse leaves the previous policy in force and logs why.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.jsonl")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	line := func(u string) string {
		return `{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"` + u + `","namespace":"*","resource":"*","apiGroup":"*"}}` + "\n"
	}
	write(line("alice"))
	var logs bytes.Buffer
	changes := 0
	a, err := New(Options{PolicyFile: file, Logger: slog.New(slog.NewTextHandler(&logs, nil)), OnChange: func() { changes++ }})
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(name string) bool {
		d, _, _ := a.Authorize(context.Background(), user(name), resource("get", "", "pods", "x"))
		return d == authorizer.Allow
	}
	if !allowed("alice") || allowed("bob") {
		t.Fatal("initial policy not in force")
	}
	if a.Reload() || changes != 0 {
		t.Fatal("reload of an unchanged file")
	}
	write(line("bob"))
	if !a.Reload() || changes != 1 || allowed("alice") || !allowed("bob") {
		t.Fatalf("new policy not in force (changes %d)", changes)
	}
	write(line("carol") + "{broken\n")
	if a.Reload() || changes != 1 || !allowed("bob") || allowed("carol") {
		t.Fatal("a bad file replaced the policy")
	}
	if !strings.Contains(logs.String(), "keeping the policy in force") || !strings.Contains(logs.String(), "line 2") {
		t.Errorf("the log does not say why:\n%s", logs.String())
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if a.Reload() || !allowed("bob") {
		t.Fatal("a missing file replaced the policy")
	}
	write(line("dave"))
	if !a.Reload() || !allowed("dave") {
		t.Fatal("the file came back but was not loaded")
	}
}

func TestNewRefusesBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(file, []byte("# ok\n{\"user\":\"u\"}\n{\"user\":\"u\",\"x\":1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{PolicyFile: file, Logger: discard()})
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("got %v, want an error naming line 3", err)
	}
	if _, err := New(Options{PolicyFile: filepath.Join(t.TempDir(), "missing"), Logger: discard()}); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

// FuzzParse: the parser never panics, and every policy it accepts writes
// back as a line that parses to the same policy and decides alike.
func FuzzParse(f *testing.F) {
	for _, l := range strings.Split(exampleFile+v0File, "\n") {
		f.Add(l)
	}
	f.Add(`{"apiVersion":"abac.authorization.kubernetes.io/v0","kind":"Policy","user":"*"}`)
	f.Add("# comment\n\n{\"group\":\"g\"}")
	f.Fuzz(func(t *testing.T, text string) {
		res, err := Parse(strings.NewReader(text), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "policy file fuzz, line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, p := range res.Policies {
			b, err := p.MarshalLine()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(bytes.NewReader(b), "again")
			if err != nil || len(again.Policies) != 1 || again.Policies[0] != p {
				t.Fatalf("%+v wrote %s which parsed to %+v, %v", p, b, again.Policies, err)
			}
			if p.User == "*" || p.Group == "*" {
				t.Fatalf("a * subject survived conversion: %+v", p)
			}
		}
	})
}
