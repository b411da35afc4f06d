package noderestriction

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// objects is an in-memory Getter.
type objects struct {
	pods  map[string]*corev1.Pod
	nodes map[string]*corev1.Node
}

func (o objects) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	if p, ok := o.pods[ns+"/"+name]; ok {
		return p, nil
	}
	return nil, apierrors.NotFound("", "pods", name)
}

func (o objects) GetNode(_ context.Context, name string) (*corev1.Node, error) {
	if n, ok := o.nodes[name]; ok {
		return n, nil
	}
	return nil, apierrors.NotFound("", "nodes", name)
}

func podOf(t *testing.T, js string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	if err := protojson.Unmarshal([]byte(js), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func nodeOfJSON(t *testing.T, js string) *corev1.Node {
	t.Helper()
	n := &corev1.Node{}
	if err := protojson.Unmarshal([]byte(js), n); err != nil {
		t.Fatal(err)
	}
	return n
}

var (
	kubelet  = &authnv1.UserInfo{Username: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}}
	nameless = &authnv1.UserInfo{Username: "system:node:", Groups: []string{"system:nodes"}}
	admin    = &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters"}}
	// notNode has the name but not the group: not a kubelet.
	notNode = &authnv1.UserInfo{Username: "system:node:n1"}
)

func as(u *authnv1.UserInfo) context.Context { return identity.WithUser(context.Background(), u) }

// check compares an error with a wanted message ("" = nil) and 403.
func check(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %v", err)
	case want == "":
	case err == nil:
		t.Errorf("admitted, want %q", want)
	case !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want %q", err, want)
	case apierrors.ReasonOf(err) != apierrors.ReasonForbidden && apierrors.ReasonOf(err) != apierrors.ReasonNotFound:
		t.Errorf("reason %s, want Forbidden", apierrors.ReasonOf(err))
	}
}

const mirror = `"annotations":{"kubernetes.io/config.mirror":"x"},"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"n1-uid","controller":true}]`

func TestPod(t *testing.T) {
	a := New(objects{nodes: map[string]*corev1.Node{"n1": nodeOfJSON(t, `{"metadata":{"name":"n1","uid":"n1-uid"}}`)}})
	tests := map[string]struct {
		user *authnv1.UserInfo
		pod  string
		want string
	}{
		"mirror pod":          {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1"}}`, ""},
		"not a mirror":        {kubelet, `{"metadata":{"name":"p"},"spec":{"nodeName":"n1"}}`, `pods "p" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`},
		"another node":        {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n2"}}`, `pods "m" is forbidden: node "n1" can only create pods with spec.nodeName set to itself`},
		"unbound":             {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{}}`, `can only create pods with spec.nodeName set to itself`},
		"no owner":            {kubelet, `{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"}},"spec":{"nodeName":"n1"}}`, `node "n1" can only create pods with an owner reference set to itself`},
		"owner not node":      {kubelet, `{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"},"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n2","uid":"x","controller":true}]},"spec":{"nodeName":"n1"}}`, `can only create pods with an owner reference set to itself`},
		"not controller":      {kubelet, `{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"},"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"n1-uid"}]},"spec":{"nodeName":"n1"}}`, `with a controller owner reference set to itself`},
		"wrong node uid":      {kubelet, `{"metadata":{"name":"m","annotations":{"kubernetes.io/config.mirror":"x"},"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"old","controller":true}]},"spec":{"nodeName":"n1"}}`, `node n1 UID mismatch: expected old got n1-uid`},
		"service account":     {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1","serviceAccountName":"default"}}`, `node "n1" can not create pods that reference a service account`},
		"secret volume":       {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1","volumes":[{"name":"v","volumeSource":{"secret":{"secretName":"s"}}}]}}`, `can not create pods that reference secrets`},
		"secret env":          {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1","containers":[{"name":"c","env":[{"name":"X","valueFrom":{"secretKeyRef":{"localObjectReference":{"name":"s"},"key":"k"}}}]}]}}`, `can not create pods that reference secrets`},
		"config map":          {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1","volumes":[{"name":"v","volumeSource":{"configMap":{"localObjectReference":{"name":"c"}}}}]}}`, `can not create pods that reference configmaps`},
		"claim":               {kubelet, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1","volumes":[{"name":"v","volumeSource":{"persistentVolumeClaim":{"claimName":"c"}}}]}}`, `can not create pods that reference persistentvolumeclaims`},
		"nameless node":       {nameless, `{"metadata":{"name":"m",` + mirror + `},"spec":{"nodeName":"n1"}}`, `could not determine node from user "system:node:"`},
		"admin":               {admin, `{"metadata":{"name":"p"},"spec":{"nodeName":"n2","serviceAccountName":"x"}}`, ""},
		"node name, no group": {notNode, `{"metadata":{"name":"p"},"spec":{}}`, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			check(t, a.Pod(as(tc.user), podOf(t, tc.pod), nil), tc.want)
		})
	}
	t.Run("update", func(t *testing.T) {
		p := podOf(t, `{"metadata":{"name":"m"},"spec":{"nodeName":"n1"}}`)
		check(t, a.Pod(as(kubelet), p, p), `unexpected operation "UPDATE", node "n1" can only create and delete mirror pods`)
	})
	t.Run("missing node", func(t *testing.T) {
		err := New(objects{}).Pod(as(kubelet), podOf(t, `{"metadata":{"name":"m",`+mirror+`},"spec":{"nodeName":"n1"}}`), nil)
		if apierrors.ReasonOf(err) != apierrors.ReasonNotFound {
			t.Errorf("err = %v, want NotFound", err)
		}
	})
}

func TestPodDeleteAndStatus(t *testing.T) {
	a := New(objects{})
	mine := podOf(t, `{"metadata":{"name":"p","labels":{"a":"1"}},"spec":{"nodeName":"n1"}}`)
	theirs := podOf(t, `{"metadata":{"name":"q"},"spec":{"nodeName":"n2"}}`)
	relabelled := podOf(t, `{"metadata":{"name":"p","labels":{"a":"2"}},"spec":{"nodeName":"n1"}}`)
	tests := map[string]struct {
		err  error
		want string
	}{
		"delete own":       {a.PodDelete(as(kubelet), mine), ""},
		"delete another's": {a.PodDelete(as(kubelet), theirs), `pods "q" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself`},
		"admin deletes":    {a.PodDelete(as(admin), theirs), ""},
		"own status":       {a.PodStatus(as(kubelet), mine, mine), ""},
		"another's status": {a.PodStatus(as(kubelet), theirs, theirs), `node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		"labels by status": {a.PodStatus(as(kubelet), relabelled, mine), `node "n1" cannot update labels through pod status`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { check(t, tc.err, tc.want) })
	}
}

func TestLease(t *testing.T) {
	a := New(objects{})
	tests := map[string]struct {
		err  error
		want string
	}{
		"own lease":             {a.Lease(as(kubelet), NodeLeaseNamespace, "n1"), ""},
		"another node's lease":  {a.Lease(as(kubelet), NodeLeaseNamespace, "n2"), `leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node`},
		"outside its namespace": {a.Lease(as(kubelet), "default", "n1"), `can only access leases in the "kube-node-lease" system namespace`},
		"admin anywhere":        {a.Lease(as(admin), "default", "leader"), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { check(t, tc.err, tc.want) })
	}
}

func TestNode(t *testing.T) {
	a := New(objects{})
	const base = `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1"}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`
	tests := map[string]struct {
		user     *authnv1.UserInfo
		obj, old string // old "" is a create
		want     string
	}{
		"register":         {kubelet, base, "", ""},
		"register another": {kubelet, `{"metadata":{"name":"n2"}}`, "", `nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"`},
		"register as control plane": {kubelet, `{"metadata":{"name":"n1","labels":{"node-role.kubernetes.io/control-plane":""}}}`, "",
			`nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane`},
		"register config source": {kubelet, `{"metadata":{"name":"n1"},"spec":{"configSource":{}}}`, "", `is not allowed to create pods with a non-nil configSource`},
		"register with taints":   {kubelet, base, "", ""},
		"allowed labels": {kubelet, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1","kubernetes.io/arch":"amd64","topology.kubernetes.io/zone":"z",
			"node.kubernetes.io/instance-type":"big","kubelet.kubernetes.io/x":"y","a.node.kubernetes.io/b":"c","beta.kubernetes.io/os":"linux","example.com/team":"blue"}},
			"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`, base, ""},
		"control plane label": {kubelet, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1","node-role.kubernetes.io/control-plane":""}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`, base,
			`nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/control-plane`},
		"restricted and k8s.io labels": {kubelet, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1","node-restriction.kubernetes.io/gpu":"y","x.k8s.io/y":"z"}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`, base,
			`is not allowed to modify labels: node-restriction.kubernetes.io/gpu, x.k8s.io/y`},
		"remove a restricted label": {kubelet, base, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1","node-role.kubernetes.io/worker":""}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`,
			`is not allowed to modify labels: node-role.kubernetes.io/worker`},
		"unchanged restricted label": {kubelet, `{"metadata":{"name":"n1","labels":{"node-role.kubernetes.io/worker":""}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`,
			`{"metadata":{"name":"n1","labels":{"node-role.kubernetes.io/worker":""}},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]}}`, ""},
		"remove taints":  {kubelet, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1"}}}`, base, `nodes "n1" is forbidden: node "n1" is not allowed to modify taints`},
		"update another": {kubelet, `{"metadata":{"name":"n2"}}`, `{"metadata":{"name":"n2"}}`, `node "n1" is not allowed to modify node "n2"`},
		"new config source": {kubelet, `{"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1"}},"spec":{"configSource":{"configMap":{"name":"c"}},"taints":[{"key":"k","effect":"NoSchedule"}]}}`, base,
			`is not allowed to update configSource to a new non-nil configSource`},
		"admin labels": {admin, `{"metadata":{"name":"n1","labels":{"node-role.kubernetes.io/control-plane":""}}}`, base, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var old *corev1.Node
			if tc.old != "" {
				old = nodeOfJSON(t, tc.old)
			}
			check(t, a.Node(as(tc.user), nodeOfJSON(t, tc.obj), old), tc.want)
		})
	}
	check(t, a.NodeDelete(as(kubelet), nodeOfJSON(t, `{"metadata":{"name":"n2"}}`)), `node "n1" is not allowed to modify node "n2"`)
	check(t, a.NodeDelete(as(kubelet), nodeOfJSON(t, `{"metadata":{"name":"n1"}}`)), "")
}

func TestTokenRequest(t *testing.T) {
	a := New(objects{pods: map[string]*corev1.Pod{
		"ns/mine":   podOf(t, `{"metadata":{"name":"mine","uid":"mine-uid"},"spec":{"nodeName":"n1"}}`),
		"ns/theirs": podOf(t, `{"metadata":{"name":"theirs","uid":"theirs-uid"},"spec":{"nodeName":"n2"}}`),
	}})
	ref := func(kind, name, uid string) *corev1.TokenRequestSpec {
		return &corev1.TokenRequestSpec{BoundObjectRef: &corev1.BoundObjectReference{ApiVersion: "v1", Kind: kind, Name: name, Uid: uid}}
	}
	tests := map[string]struct {
		user *authnv1.UserInfo
		spec *corev1.TokenRequestSpec
		want string
	}{
		"own pod":         {kubelet, ref("Pod", "mine", "mine-uid"), ""},
		"unbound":         {kubelet, &corev1.TokenRequestSpec{}, `serviceaccounts "sa" is forbidden: node requested token not bound to a pod`},
		"bound to secret": {kubelet, ref("Secret", "s", "x"), "node requested token not bound to a pod"},
		"bound to node":   {kubelet, ref("Node", "n1", "x"), "node requested token not bound to a pod"},
		"no uid":          {kubelet, ref("Pod", "mine", ""), "node requested token with a pod binding without a uid"},
		"stale uid":       {kubelet, ref("Pod", "mine", "old"), "the UID in the bound object reference (old) does not match the UID in record"},
		"another's pod":   {kubelet, ref("Pod", "theirs", "theirs-uid"), "node requested token bound to a pod scheduled on a different node"},
		"missing pod":     {kubelet, ref("Pod", "gone", "x"), `pods "gone" not found`},
		"admin, unbound":  {admin, &corev1.TokenRequestSpec{}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			check(t, a.TokenRequest(as(tc.user), "ns", "sa", tc.spec), tc.want)
		})
	}
}

func TestForbiddenLabels(t *testing.T) {
	tests := map[string]struct {
		labels, old map[string]string
		want        string
	}{
		"none":           {nil, nil, ""},
		"own domain":     {map[string]string{"example.com/x": "1", "plain": "2"}, nil, ""},
		"kubelet's":      {map[string]string{"kubernetes.io/os": "linux", "failure-domain.beta.kubernetes.io/zone": "z"}, nil, ""},
		"role":           {map[string]string{"node-role.kubernetes.io/worker": ""}, nil, "node-role.kubernetes.io/worker"},
		"sub-domain":     {map[string]string{"foo.node-restriction.kubernetes.io/x": ""}, nil, "foo.node-restriction.kubernetes.io/x"},
		"other k8s.io":   {map[string]string{"k8s.io/x": "", "kubernetes.io/hostname": "h"}, nil, "k8s.io/x"},
		"value changed":  {map[string]string{"node-role.kubernetes.io/a": "2"}, map[string]string{"node-role.kubernetes.io/a": "1"}, "node-role.kubernetes.io/a"},
		"unchanged":      {map[string]string{"node-role.kubernetes.io/a": "1"}, map[string]string{"node-role.kubernetes.io/a": "1"}, ""},
		"sorted, joined": {map[string]string{"z.kubernetes.io/a": "", "a.k8s.io/b": ""}, nil, "a.k8s.io/b, z.kubernetes.io/a"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := strings.Join(forbiddenLabels(tc.labels, tc.old), ", "); got != tc.want {
				t.Errorf("forbiddenLabels = %q, want %q", got, tc.want)
			}
		})
	}
}
