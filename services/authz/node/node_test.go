package node

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

func pod(t testing.TB, js string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	if err := protojson.Unmarshal([]byte(js), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// web uses one object of each kind, in every way a spec can name it.
const web = `{"metadata":{"namespace":"demo","name":"web"},"spec":{
  "nodeName":"node-1","serviceAccountName":"web-sa",
  "imagePullSecrets":[{"name":"pull"}],
  "volumes":[
    {"name":"a","volumeSource":{"secret":{"secretName":"vol-secret"}}},
    {"name":"b","volumeSource":{"configMap":{"localObjectReference":{"name":"vol-cm"}}}},
    {"name":"c","volumeSource":{"projected":{"sources":[
      {"secret":{"localObjectReference":{"name":"proj-secret"}}},
      {"configMap":{"localObjectReference":{"name":"proj-cm"}}}]}}},
    {"name":"d","volumeSource":{"persistentVolumeClaim":{"claimName":"data"}}},
    {"name":"e","volumeSource":{"csi":{"driver":"x","nodePublishSecretRef":{"name":"csi-secret"}}}},
    {"name":"f","volumeSource":{"ephemeral":{}}},
    {"name":"g","volumeSource":{"cephfs":{"secretRef":{"name":"ceph-secret"}}}}],
  "initContainers":[{"name":"i","envFrom":[{"secretRef":{"localObjectReference":{"name":"init-env"}}}]}],
  "containers":[{"name":"c","env":[
    {"name":"X","valueFrom":{"secretKeyRef":{"localObjectReference":{"name":"env-secret"},"key":"k"}}},
    {"name":"Y","valueFrom":{"configMapKeyRef":{"localObjectReference":{"name":"env-cm"},"key":"k"}}}],
    "envFrom":[{"configMapRef":{"localObjectReference":{"name":"envfrom-cm"}}}]}]}}`

func TestGraph(t *testing.T) {
	changes := 0
	g := NewGraph(func() { changes++ })
	if g.Synced() {
		t.Fatal("synced before Replace")
	}
	g.Replace(nil)
	a := pod(t, `{"metadata":{"namespace":"n","name":"a"},"spec":{"nodeName":"node-1","volumes":[{"name":"v","volumeSource":{"secret":{"secretName":"shared"}}}]}}`)
	b := pod(t, `{"metadata":{"namespace":"n","name":"b"},"spec":{"nodeName":"node-1","volumes":[{"name":"v","volumeSource":{"secret":{"secretName":"shared"}}}]}}`)
	g.Upsert(a)
	g.Upsert(b)
	if !g.Reachable("node-1", Secrets, "n", "shared") || g.Reachable("node-2", Secrets, "n", "shared") {
		t.Fatal("shared secret")
	}
	before := changes
	g.Upsert(a) // the same edges: no change
	if changes != before {
		t.Error("an update that changes no edge was reported")
	}
	g.Delete(a)
	if !g.Reachable("node-1", Secrets, "n", "shared") {
		t.Fatal("b still uses the secret")
	}
	moved := pod(t, `{"metadata":{"namespace":"n","name":"b"},"spec":{"nodeName":"node-2","volumes":[{"name":"v","volumeSource":{"secret":{"secretName":"shared"}}}]}}`)
	g.Upsert(moved)
	if g.Reachable("node-1", Secrets, "n", "shared") || !g.Reachable("node-2", Pods, "n", "b") {
		t.Fatal("moving a pod did not move its edges")
	}
	unbound := pod(t, `{"metadata":{"namespace":"n","name":"b"},"spec":{}}`)
	g.Upsert(unbound)
	if g.Reachable("node-2", Pods, "n", "b") || len(g.counts) != 0 || len(g.pods) != 0 {
		t.Fatalf("unbinding left edges: %v %v", g.counts, g.pods)
	}
}

func kubelet(name string) *authnv1.UserInfo {
	return &authnv1.UserInfo{Username: UserPrefix + name, Groups: []string{Group, "system:authenticated"}}
}

func attrs(verb, resource, sub, ns, name string) *authzv1.Attributes {
	return &authzv1.Attributes{Verb: verb, Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true}
}

func leaseAttrs(verb, ns, name string) *authzv1.Attributes {
	a := attrs(verb, "leases", "", ns, name)
	a.ApiGroup = "coordination.k8s.io"
	return a
}

func TestAuthorize(t *testing.T) {
	g := NewGraph(nil)
	g.Replace([]*corev1.Pod{pod(t, web), pod(t, `{"metadata":{"namespace":"demo","name":"other"},"spec":{"nodeName":"node-2","volumes":[{"name":"s","volumeSource":{"secret":{"secretName":"other-secret"}}}]}}`)})
	a := New(g)
	n1 := kubelet("node-1")
	listOn := func(sel string) *authzv1.Attributes {
		at := attrs("list", "pods", "", "", "")
		at.FieldSelector = sel
		return at
	}
	tests := map[string]struct {
		user   *authnv1.UserInfo
		attrs  *authzv1.Attributes
		want   authorizer.Decision
		reason string
	}{
		"not a node":              {&authnv1.UserInfo{Username: "bob"}, attrs("get", "services", "", "demo", ""), authorizer.NoOpinion, ""},
		"node name without group": {&authnv1.UserInfo{Username: "system:node:node-1"}, attrs("get", "services", "", "demo", ""), authorizer.NoOpinion, ""},
		"empty node name":         {kubelet(""), attrs("get", "services", "", "demo", ""), authorizer.NoOpinion, `unknown node for user "system:node:"`},
		"list services":           {n1, attrs("list", "services", "", "", ""), authorizer.Allow, ""},
		"watch endpoints":         {n1, attrs("watch", "endpoints", "", "demo", ""), authorizer.Allow, ""},
		"no service writes":       {n1, attrs("create", "services", "", "demo", ""), authorizer.NoOpinion, ""},
		"own node":                {n1, attrs("get", "nodes", "", "", "node-1"), authorizer.Allow, ""},
		"other node":              {n1, attrs("get", "nodes", "", "", "node-2"), authorizer.NoOpinion, "node 'node-1' cannot read 'node-2', only its own Node object"},
		"all nodes":               {n1, attrs("list", "nodes", "", "", ""), authorizer.NoOpinion, "node 'node-1' cannot read all nodes, only its own Node object"},
		"update own node":         {n1, attrs("patch", "nodes", "", "", "node-1"), authorizer.Allow, ""},
		"update other node":       {n1, attrs("update", "nodes", "", "", "node-2"), authorizer.NoOpinion, "node 'node-1' cannot modify 'node-2', only its own Node object"},
		"own node status":         {n1, attrs("update", "nodes", "status", "", "node-1"), authorizer.Allow, ""},
		"other node status":       {n1, attrs("patch", "nodes", "status", "", "node-2"), authorizer.NoOpinion, ""},
		"create node (admission checks the name)": {n1, attrs("create", "nodes", "", "", ""), authorizer.Allow, ""},
		"own pod":                             {n1, attrs("get", "pods", "", "demo", "web"), authorizer.Allow, ""},
		"update a lease (admission: its own)": {n1, leaseAttrs("update", "kube-node-lease", "node-1"), authorizer.Allow, ""},
		"create a lease":                      {n1, leaseAttrs("create", "kube-node-lease", ""), authorizer.Allow, ""},
		"no lease lists":                      {n1, leaseAttrs("list", "kube-node-lease", ""), authorizer.NoOpinion, ""},
		"lease in the core group":             {n1, attrs("get", "leases", "", "kube-node-lease", "node-1"), authorizer.NoOpinion, ""},
		"other node's pod":                    {n1, attrs("get", "pods", "", "demo", "other"), authorizer.NoOpinion, "no relationship found between node 'node-1' and this object"},
		"pods on own node":                    {n1, listOn("spec.nodeName=node-1"), authorizer.Allow, ""},
		"pods on other node":                  {n1, listOn("spec.nodeName=node-2"), authorizer.NoOpinion, "can only list/watch pods with spec.nodeName field selector"},
		"all pods":                            {n1, listOn(""), authorizer.NoOpinion, "can only list/watch pods with spec.nodeName field selector"},
		"create pod (admission: mirror pods)": {n1, attrs("create", "pods", "", "demo", ""), authorizer.Allow, ""},
		"delete own pod":                      {n1, attrs("delete", "pods", "", "demo", "web"), authorizer.Allow, ""},
		"own pod status":                      {n1, attrs("update", "pods", "status", "demo", "web"), authorizer.Allow, ""},
		"other pod status":                    {n1, attrs("patch", "pods", "status", "demo", "other"), authorizer.NoOpinion, "no relationship found between node 'node-1' and this object"},
		"used secret":                         {n1, attrs("get", "secrets", "", "demo", "env-secret"), authorizer.Allow, ""},
		"watch used secret by name":           {n1, attrs("watch", "secrets", "", "demo", "vol-secret"), authorizer.Allow, ""},
		"other node's secret":                 {n1, attrs("get", "secrets", "", "demo", "other-secret"), authorizer.NoOpinion, "no relationship found between node 'node-1' and this object"},
		"secret in another ns":                {n1, attrs("get", "secrets", "", "other", "env-secret"), authorizer.NoOpinion, "no relationship found between node 'node-1' and this object"},
		"all secrets":                         {n1, attrs("list", "secrets", "", "demo", ""), authorizer.NoOpinion, "No Object name found"},
		"secrets everywhere":                  {n1, attrs("list", "secrets", "", "", ""), authorizer.NoOpinion, "can only read namespaced object of this type"},
		"write a secret":                      {n1, attrs("update", "secrets", "", "demo", "env-secret"), authorizer.NoOpinion, "can only read resources of this type"},
		"used config map":                     {n1, attrs("get", "configmaps", "", "demo", "proj-cm"), authorizer.Allow, ""},
		"used claim":                          {n1, attrs("get", "persistentvolumeclaims", "", "demo", "data"), authorizer.Allow, ""},
		"used service account":                {n1, attrs("get", "serviceaccounts", "", "demo", "web-sa"), authorizer.Allow, ""},
		"token for it":                        {n1, attrs("create", "serviceaccounts", "token", "demo", "web-sa"), authorizer.Allow, ""},
		"token for another":                   {n1, attrs("create", "serviceaccounts", "token", "demo", "default"), authorizer.NoOpinion, "no relationship found between node 'node-1' and this object"},
		"create event":                        {n1, attrs("create", "events", "", "demo", ""), authorizer.Allow, ""},
		"read events":                         {n1, attrs("list", "events", "", "demo", ""), authorizer.NoOpinion, ""},
		"non-resource":                        {n1, &authzv1.Attributes{Verb: "get", Path: "/healthz"}, authorizer.NoOpinion, ""},
		"configmaps of other group":           {n1, &authzv1.Attributes{Verb: "get", ApiGroup: "x.io", Resource: "configmaps", Namespace: "demo", Name: "vol-cm", ResourceRequest: true}, authorizer.NoOpinion, ""},
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
	a := New(NewGraph(nil))
	d, _, err := a.Authorize(context.Background(), kubelet("node-1"), attrs("get", "pods", "", "demo", "web"))
	if d != authorizer.NoOpinion || !errors.Is(err, ErrNotSynced) {
		t.Fatalf("got %v %v, want an error", d, err)
	}
	if d, _, err := a.Authorize(context.Background(), kubelet("node-1"), attrs("get", "services", "", "demo", "x")); d != authorizer.Allow || err != nil {
		t.Fatalf("services need no graph: %v %v", d, err)
	}
}

func TestRulesFor(t *testing.T) {
	a := New(NewGraph(nil))
	if _, inc, err := a.RulesFor(context.Background(), kubelet("node-1"), "demo"); !inc || !errors.Is(err, ErrNoRules) {
		t.Errorf("kubelet: incomplete %v, %v", inc, err)
	}
	if r, inc, err := a.RulesFor(context.Background(), &authnv1.UserInfo{Username: "bob"}, "demo"); inc || err != nil || len(r.Resource) != 0 {
		t.Errorf("bob: %v %v %v", r, inc, err)
	}
}
