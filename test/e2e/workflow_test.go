package e2e

import (
	"cmp"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wfNamespace holds the namespaced objects of TestKubectlWorkflow; the
// last subtest deletes it.
const wfNamespace = "wf"

// kindCase is the everyday workflow of one kind, as a real cluster
// answers it. Manifests name their object NAME.
type kindCase struct {
	resource string // what kubectl calls it
	name     string // the object the workflow drives
	v1, v2   string // manifests: create/apply, then apply with a change
	// changed is a jsonpath and its value once v2 is applied.
	changed [2]string
	// narrow and wide are the columns kubectl prints for a real cluster
	// (get, get -o wide); row is the wide row of the object after create.
	narrow, wide []string
	row          map[string]string
	describe     []string // regexps the describe output matches
	// strategic is a spec-level strategic merge patch and what it
	// leaves (jsonpath -> value); empty when the kind has nothing to merge.
	strategic      string
	strategicWants map[string]string
	// extra runs after the common steps (status, binding, cordon).
	extra func(t *testing.T, p *portico, c kindCase)
	// deleteEvents are the watch events of the watched object's delete.
	deleteEvents []string
	// reapplied is what applying the same manifest again prints:
	// "unchanged" unless the manifest holds write-only fields.
	reapplied string
}

func (c kindCase) manifest(v, name string) string { return strings.ReplaceAll(v, "NAME", name) }

var workflowKinds = []kindCase{
	{
		resource: "namespace", name: "wf-demo-ns",
		v1:      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: NAME\n  labels: {stage: one}\n",
		v2:      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: NAME\n  labels: {stage: two}\n",
		changed: [2]string{"{.metadata.labels.stage}", "two"},
		narrow:  []string{"NAME", "STATUS", "AGE"}, wide: []string{"NAME", "STATUS", "AGE"},
		row:          map[string]string{"NAME": "wf-demo-ns", "STATUS": "Active", "AGE": "~AGE"},
		describe:     []string{`Name:\s+wf-demo-ns`, `Status:\s+Active`, `stage=one`},
		deleteEvents: []string{"MODIFIED", "DELETED"},
	},
	{
		resource: "configmap", name: "demo",
		v1:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: NAME, labels: {app: web}}\ndata: {color: blue}\n",
		v2:      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: NAME, labels: {app: web}}\ndata: {color: green, size: \"3\"}\n",
		changed: [2]string{"{.data.color}/{.data.size}", "green/3"},
		narrow:  []string{"NAME", "DATA", "AGE"}, wide: []string{"NAME", "DATA", "AGE"},
		row:      map[string]string{"NAME": "demo", "DATA": "1", "AGE": "~AGE"},
		describe: []string{`Name:\s+demo`, `Namespace:\s+wf`, `color:\n----\nblue`},
	},
	{
		resource: "secret", name: "demo",
		v1:      "apiVersion: v1\nkind: Secret\nmetadata: {name: NAME}\nstringData: {password: one}\n",
		v2:      "apiVersion: v1\nkind: Secret\nmetadata: {name: NAME}\nstringData: {password: two, user: admin}\n",
		changed: [2]string{"{.data.password}/{.data.user}/{.type}", "dHdv/YWRtaW4=/Opaque"},
		narrow:  []string{"NAME", "TYPE", "DATA", "AGE"}, wide: []string{"NAME", "TYPE", "DATA", "AGE"},
		row:      map[string]string{"NAME": "demo", "TYPE": "Opaque", "DATA": "1", "AGE": "~AGE"},
		describe: []string{`Name:\s+demo`, `Type:\s+Opaque`, `password:\s+3 bytes`},
		// stringData is never stored, so every apply sends it again.
		reapplied: "configured",
	},
	{
		resource: "serviceaccount", name: "robot",
		v1:      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: NAME}\n",
		v2:      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: NAME}\nautomountServiceAccountToken: false\n",
		changed: [2]string{"{.automountServiceAccountToken}", "false"},
		narrow:  []string{"NAME", "AGE"}, wide: []string{"NAME", "AGE"},
		row:      map[string]string{"NAME": "robot", "AGE": "~AGE"},
		describe: []string{`Name:\s+robot`, `Mountable secrets:\s+<none>`},
	},
	{
		resource: "service", name: "web",
		v1: "apiVersion: v1\nkind: Service\nmetadata: {name: NAME}\nspec:\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443, targetPort: 8443}\n",
		// The second apply drops a port: kubectl deletes it only when the
		// OpenAPI schema names the list's merge key.
		v2:      "apiVersion: v1\nkind: Service\nmetadata: {name: NAME}\nspec:\n  selector: {app: web, tier: front}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n",
		changed: [2]string{"{.spec.selector.tier}/{.spec.ports[*].port}", "front/80"},
		narrow:  []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
		wide:    []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"},
		// CLUSTER-IP is not checked: a real cluster allocates one, Portico does not.
		row:      map[string]string{"NAME": "web", "TYPE": "ClusterIP", "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP,443/TCP", "AGE": "~AGE", "SELECTOR": "app=web"},
		describe: []string{`Name:\s+web`, `Selector:\s+app=web`, `Port:\s+http\s+80/TCP`, `TargetPort:\s+8080/TCP`, `Port:\s+https\s+443/TCP`},
		// Ports merge by their key, port: 443 comes back, first (the
		// strategic merge puts patched items before the others), 80 stays.
		strategic:      `{"spec":{"ports":[{"name":"https","port":443,"targetPort":8443}]}}`,
		strategicWants: map[string]string{"{.spec.ports[*].port}": "443 80", "{.spec.ports[*].targetPort}": "8443 8080"},
	},
	{
		resource: "endpoints", name: "web",
		v1:      "apiVersion: v1\nkind: Endpoints\nmetadata: {name: NAME}\nsubsets:\n- addresses: [{ip: 10.1.2.3}]\n  ports: [{name: http, port: 8080}]\n",
		v2:      "apiVersion: v1\nkind: Endpoints\nmetadata: {name: NAME}\nsubsets:\n- addresses: [{ip: 10.1.2.3}, {ip: 10.1.2.4}]\n  ports: [{name: http, port: 8080}]\n",
		changed: [2]string{"{.subsets[0].addresses[*].ip}", "10.1.2.3 10.1.2.4"},
		narrow:  []string{"NAME", "ENDPOINTS", "AGE"}, wide: []string{"NAME", "ENDPOINTS", "AGE"},
		row:      map[string]string{"NAME": "web", "ENDPOINTS": "10.1.2.3:8080", "AGE": "~AGE"},
		describe: []string{`Name:\s+web`, `Addresses:\s+10\.1\.2\.3`},
	},
	{
		resource: "pod", name: "demo",
		v1:      "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME, labels: {app: web}}\nspec:\n  containers:\n  - name: nginx\n    image: nginx:1.27\n    ports: [{containerPort: 80}]\n",
		v2:      "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME, labels: {app: web}}\nspec:\n  containers:\n  - name: nginx\n    image: nginx:1.28\n    ports: [{containerPort: 80}]\n",
		changed: [2]string{"{.spec.containers[0].image}", "nginx:1.28"},
		narrow:  []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
		wide:    []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"},
		row: map[string]string{"NAME": "demo", "READY": "0/1", "STATUS": "Pending", "RESTARTS": "0", "AGE": "~AGE",
			"IP": "<none>", "NODE": "<none>", "NOMINATED NODE": "<none>", "READINESS GATES": "<none>"},
		describe: []string{`Name:\s+demo`, `Status:\s+Pending`, `Image:\s+nginx:1\.27`, `Port:\s+80/TCP`, `QoS Class:\s+BestEffort`, `Priority:\s+0`},
		// Containers merge by name: the image changes, the ports stay.
		strategic:      `{"spec":{"containers":[{"name":"nginx","image":"nginx:1.29"}]}}`,
		strategicWants: map[string]string{"{.spec.containers[*].image}": "nginx:1.29", "{.spec.containers[0].ports[0].containerPort}": "80"},
		extra:          podStatusAndBinding,
		// Pods are deleted gracefully: marked (grace 0 when not bound), then removed.
		deleteEvents: []string{"MODIFIED", "DELETED"},
	},
	{
		resource: "event", name: "demo.1",
		v1: "apiVersion: v1\nkind: Event\nmetadata: {name: NAME}\ninvolvedObject: {kind: Pod, name: demo, namespace: wf, fieldPath: 'spec.containers{nginx}'}\n" +
			"reason: Pulled\nmessage: about NAME\ntype: Normal\nsource: {component: kubelet, host: wf-node}\n",
		v2: "apiVersion: v1\nkind: Event\nmetadata: {name: NAME}\ninvolvedObject: {kind: Pod, name: demo, namespace: wf, fieldPath: 'spec.containers{nginx}'}\n" +
			"reason: Pulled\nmessage: again about NAME\ntype: Normal\nsource: {component: kubelet, host: wf-node}\n",
		changed: [2]string{"{.message}", "again about demo.1"},
		narrow:  []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
		wide:    []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT", "NAME"},
		// No first or last timestamp: a real cluster prints <unknown>.
		row: map[string]string{"LAST SEEN": "<unknown>", "TYPE": "Normal", "REASON": "Pulled", "OBJECT": "pod/demo",
			"SUBOBJECT": "spec.containers{nginx}", "SOURCE": "kubelet, wf-node", "MESSAGE": "about demo.1",
			"FIRST SEEN": "<unknown>", "COUNT": "1", "NAME": "demo.1"},
		describe: []string{`Name:\s+demo\.1`, `Reason:\s+Pulled`, `Message:\s+about demo\.1`},
	},
	{
		resource: "node", name: "wf-node",
		v1:      "apiVersion: v1\nkind: Node\nmetadata:\n  name: NAME\n  labels: {node-role.kubernetes.io/worker: \"\"}\n",
		v2:      "apiVersion: v1\nkind: Node\nmetadata:\n  name: NAME\n  labels: {node-role.kubernetes.io/worker: \"\", topology.kubernetes.io/zone: a}\n",
		changed: [2]string{"{.metadata.labels.topology\\.kubernetes\\.io/zone}", "a"},
		narrow:  []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"},
		wide:    []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"},
		row: map[string]string{"NAME": "wf-node", "STATUS": "Unknown", "ROLES": "worker", "AGE": "~AGE", "VERSION": "",
			"INTERNAL-IP": "<none>", "EXTERNAL-IP": "<none>", "OS-IMAGE": "<unknown>", "KERNEL-VERSION": "<unknown>", "CONTAINER-RUNTIME": "<unknown>"},
		describe: []string{`Name:\s+wf-node`, `Roles:\s+worker`, `Unschedulable:\s+false`},
		extra:    nodeStatusAndCordon,
	},
	{
		resource: "role", name: "reader",
		v1:      "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: NAME}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [get, list]}\n",
		v2:      "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: NAME}\nrules:\n- {apiGroups: [\"\"], resources: [pods], verbs: [get, list, watch]}\n",
		changed: [2]string{"{.rules[0].verbs}", `["get","list","watch"]`},
		// Roles have no printer in kube-apiserver: its default table.
		narrow: []string{"NAME", "CREATED AT"}, wide: []string{"NAME", "CREATED AT"},
		row:      map[string]string{"NAME": "reader", "CREATED AT": "~RFC3339"},
		describe: []string{`Name:\s+reader`, `pods\s+\[\]\s+\[\]\s+\[get list\]`},
	},
	{
		resource: "clusterrole", name: "wf-reader",
		v1:      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: NAME}\nrules:\n- {apiGroups: [\"\"], resources: [nodes], verbs: [get]}\n",
		v2:      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: NAME}\nrules:\n- {apiGroups: [\"\"], resources: [nodes], verbs: [get, list]}\n",
		changed: [2]string{"{.rules[0].verbs}", `["get","list"]`},
		narrow:  []string{"NAME", "CREATED AT"}, wide: []string{"NAME", "CREATED AT"},
		row:      map[string]string{"NAME": "wf-reader", "CREATED AT": "~RFC3339"},
		describe: []string{`Name:\s+wf-reader`, `nodes\s+\[\]\s+\[\]\s+\[get\]`},
	},
	{
		resource: "rolebinding", name: "read-pods",
		v1: "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: NAME}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n" +
			"subjects:\n- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}\n- {kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}\n- {kind: ServiceAccount, name: robot, namespace: wf}\n",
		v2: "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: NAME}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n" +
			"subjects:\n- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}\n- {kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}\n",
		changed:  [2]string{"{.subjects[*].name}", "alice bob"},
		narrow:   []string{"NAME", "ROLE", "AGE"},
		wide:     []string{"NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"},
		row:      map[string]string{"NAME": "read-pods", "ROLE": "Role/reader", "AGE": "~AGE", "USERS": "alice", "GROUPS": "devs", "SERVICEACCOUNTS": "wf/robot"},
		describe: []string{`Name:\s+read-pods`, `Kind:\s+Role\n\s+Name:\s+reader`, `User\s+alice`},
	},
	{
		resource: "clusterrolebinding", name: "wf-read-nodes",
		v1: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: NAME}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wf-reader}\n" +
			"subjects:\n- {kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}\n- {kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}\n",
		v2: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: NAME}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wf-reader}\n" +
			"subjects:\n- {kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}\n",
		changed:  [2]string{"{.subjects[*].name}", "devs"},
		narrow:   []string{"NAME", "ROLE", "AGE"},
		wide:     []string{"NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"},
		row:      map[string]string{"NAME": "wf-read-nodes", "ROLE": "ClusterRole/wf-reader", "AGE": "~AGE", "USERS": "", "GROUPS": "devs, ops", "SERVICEACCOUNTS": ""},
		describe: []string{`Name:\s+wf-read-nodes`, `Kind:\s+ClusterRole\n\s+Name:\s+wf-reader`, `Group\s+ops`},
	},
}

// TestKubectlWorkflow drives every resource with the real kubectl
// through the everyday workflow: create from YAML, get -o json/yaml/wide,
// describe, apply twice with a change, patch (strategic, merge, JSON),
// label, annotate, get -w while another client writes; then deletes the
// namespace that holds them.
func TestKubectlWorkflow(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	p.mustKubectlIn(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: wf}\n", "create", "-f", "-")

	t.Run("kinds", func(t *testing.T) {
		for _, c := range workflowKinds {
			t.Run(c.resource, func(t *testing.T) {
				t.Parallel()
				kindWorkflow(t, p, c)
			})
		}
	})
	t.Run("typed create commands", func(t *testing.T) { typedCreates(t, p) })
	t.Run("delete namespace", func(t *testing.T) { deleteNamespaceWorkflow(t, p) })
}

// typedCreates runs kubectl's typed create commands, which send
// Kubernetes protobuf bodies, for every kind they make.
func typedCreates(t *testing.T, p *portico) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "configmap", "typed", "--from-literal=a=b"}, "configmap/typed created"},
		{[]string{"create", "secret", "generic", "typed", "--from-literal=a=b"}, "secret/typed created"},
		{[]string{"create", "serviceaccount", "typed"}, "serviceaccount/typed created"},
		{[]string{"create", "service", "clusterip", "typed", "--tcp=80:8080"}, "service/typed created"},
		{[]string{"run", "typed", "--image=nginx:1.27", "--labels=app=typed"}, "pod/typed created"},
		{[]string{"create", "role", "typed", "--verb=get", "--resource=pods"}, "role.rbac.authorization.k8s.io/typed created"},
		{[]string{"create", "rolebinding", "typed", "--role=typed", "--user=alice"}, "rolebinding.rbac.authorization.k8s.io/typed created"},
		{[]string{"create", "clusterrole", "wf-typed", "--verb=get", "--resource=nodes"}, "clusterrole.rbac.authorization.k8s.io/wf-typed created"},
		{[]string{"create", "clusterrolebinding", "wf-typed", "--clusterrole=wf-typed", "--group=devs"}, "clusterrolebinding.rbac.authorization.k8s.io/wf-typed created"},
	} {
		if out := p.mustKubectlIn(t, "", append(tc.args, "-n", wfNamespace)...); strings.TrimSpace(out) != tc.want {
			t.Errorf("kubectl %s printed %q, want %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
	if got := p.mustKubectlIn(t, "", "get", "secret", "typed", "-n", wfNamespace, "-o", "jsonpath={.data.a}"); got != "Yg==" {
		t.Errorf("typed secret data = %q", got)
	}
	// get all: the resources in the "all" category, each in its own table.
	all := p.mustKubectlIn(t, "", "get", "all", "-n", wfNamespace)
	for _, want := range []string{"pod/typed", "pod/demo", "service/typed", "service/web"} {
		if !strings.Contains(all, want) {
			t.Errorf("get all lacks %s:\n%s", want, all)
		}
	}
}

func kindWorkflow(t *testing.T, p *portico, c kindCase) {
	ns := []string{"-n", wfNamespace}
	k := func(stdin string, args ...string) string {
		t.Helper()
		return p.mustKubectlIn(t, stdin, append(args, ns...)...)
	}
	jsonpath := func(expr string) string {
		t.Helper()
		return k("", "get", c.resource, c.name, "-o", "jsonpath="+expr)
	}

	// create from YAML
	if out := k(c.manifest(c.v1, c.name), "create", "-f", "-"); !strings.Contains(out, "/"+c.name+" created") {
		t.Errorf("create printed %q", out)
	}
	if r := p.kubectlIn(t, c.manifest(c.v1, c.name), "create", "-f", "-", "-n", wfNamespace); r.err == nil || !strings.Contains(r.stderr, "AlreadyExists") {
		t.Errorf("second create: %s", r)
	}

	// get -o json / yaml
	obj := p.getJSON(t, append([]string{c.resource, c.name}, ns...)...)
	m := jsonAt(obj, "metadata")
	if jsonStr(m, "name") != c.name || jsonStr(m, "uid") == "" || jsonStr(m, "resourceVersion") == "" || jsonStr(m, "creationTimestamp") == "" {
		t.Errorf("get -o json: metadata %v", m)
	}
	yamlOut := k("", "get", c.resource, c.name, "-o", "yaml")
	for _, want := range []string{"apiVersion: ", "kind: ", "  name: " + c.name, "  uid: " + jsonStr(m, "uid")} {
		if !strings.Contains(yamlOut, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, yamlOut)
		}
	}

	// get, get -o wide: the columns of a real cluster
	narrow := parseTable(t, k("", "get", c.resource, c.name))
	if !slices.Equal(narrow.columns, c.narrow) {
		t.Errorf("get columns = %q, want %q", narrow.columns, c.narrow)
	}
	wide := parseTable(t, k("", "get", c.resource, c.name, "-o", "wide"))
	if !slices.Equal(wide.columns, c.wide) {
		t.Errorf("get -o wide columns = %q, want %q", wide.columns, c.wide)
	}
	if len(wide.rows) != 1 {
		t.Fatalf("get -o wide: %d rows, want 1", len(wide.rows))
	}
	checkRow(t, "get -o wide", wide.rows[0], c.row)

	// describe
	desc := k("", "describe", c.resource, c.name)
	for _, re := range c.describe {
		if !regexp.MustCompile(re).MatchString(desc) {
			t.Errorf("describe does not match %s:\n%s", re, desc)
		}
	}

	// apply: the first adds the last-applied annotation, the second changes the object
	if out := k(c.manifest(c.v1, c.name), "apply", "-f", "-"); !strings.Contains(out, "/"+c.name+" configured") {
		t.Errorf("first apply printed %q", out)
	}
	if out := k(c.manifest(c.v2, c.name), "apply", "-f", "-"); !strings.Contains(out, "/"+c.name+" configured") {
		t.Errorf("second apply printed %q", out)
	}
	if got := jsonpath(c.changed[0]); got != c.changed[1] {
		t.Errorf("after apply with a change: %s = %q, want %q", c.changed[0], got, c.changed[1])
	}
	reapplied := cmp.Or(c.reapplied, "unchanged")
	if out := k(c.manifest(c.v2, c.name), "apply", "-f", "-"); !strings.Contains(out, "/"+c.name+" "+reapplied) {
		t.Errorf("apply of the same manifest printed %q, want %s", out, reapplied)
	}

	// kubectl patch: strategic (the default), merge, JSON; label; annotate
	for _, args := range [][]string{
		{"patch", c.resource, c.name, "-p", `{"metadata":{"labels":{"patched":"strategic","strategic":"yes"}}}`},
		{"patch", c.resource, c.name, "--type=merge", "-p", `{"metadata":{"labels":{"patched":"merge"}}}`},
		{"patch", c.resource, c.name, "--type=json", "-p", `[{"op":"add","path":"/metadata/labels/jp","value":"1"}]`},
	} {
		if out := k("", args...); !strings.Contains(out, "/"+c.name+" patched") {
			t.Errorf("kubectl %s printed %q", strings.Join(args, " "), out)
		}
	}
	if out := k("", "label", c.resource, c.name, "tier=frontend"); !strings.Contains(out, "/"+c.name+" labeled") {
		t.Errorf("label printed %q", out)
	}
	if r := p.kubectlIn(t, "", "label", c.resource, c.name, "tier=backend", "-n", wfNamespace); r.err == nil || !strings.Contains(r.stderr, "already has a value") {
		t.Errorf("label without --overwrite: %s", r)
	}
	k("", "label", c.resource, c.name, "tier=backend", "--overwrite")
	if out := k("", "annotate", c.resource, c.name, "note=hello"); !strings.Contains(out, "/"+c.name+" annotated") {
		t.Errorf("annotate printed %q", out)
	}
	obj = p.getJSON(t, append([]string{c.resource, c.name}, ns...)...)
	for key, want := range map[string]string{"patched": "merge", "strategic": "yes", "jp": "1", "tier": "backend"} {
		if got := jsonStr(obj, "metadata", "labels", key); got != want {
			t.Errorf("label %s = %q, want %q (labels %v)", key, got, want, jsonAt(obj, "metadata", "labels"))
		}
	}
	if got := jsonStr(obj, "metadata", "annotations", "note"); got != "hello" {
		t.Errorf("annotation note = %q", got)
	}
	if got := jsonpath(c.changed[0]); got != c.changed[1] {
		t.Errorf("after the patches: %s = %q, want %q", c.changed[0], got, c.changed[1])
	}
	k("", "label", c.resource, c.name, "jp-")
	if _, ok := jsonAt(p.getJSON(t, append([]string{c.resource, c.name}, ns...)...), "metadata", "labels").(map[string]any)["jp"]; ok {
		t.Errorf("label jp- left the label")
	}
	if c.strategic != "" {
		k("", "patch", c.resource, c.name, "-p", c.strategic)
		for expr, want := range c.strategicWants {
			if got := jsonpath(expr); got != want {
				t.Errorf("after strategic patch %s: %s = %q, want %q", c.strategic, expr, got, want)
			}
		}
	}

	if c.extra != nil {
		c.extra(t, p, c)
	}

	// get -w while another client writes
	watched := c.name + "-watched"
	w := p.watchKubectl(t, c.resource, "--field-selector", "metadata.name="+watched, "-n", wfNamespace)
	k(c.manifest(c.v1, watched), "create", "-f", "-")
	k("", "label", c.resource, watched, "watched=yes")
	k("", "delete", c.resource, watched)
	want := append([]string{"ADDED", "MODIFIED"}, c.deleteEvents...)
	if c.deleteEvents == nil {
		want = append(want, "DELETED")
	}
	w.waitOutput(t, "watch events", func(stdout, _ string) bool {
		return isSubsequence(want, watchEvents(stdout, watched))
	})
	w.stop()
	if got := watchEvents(w.stdout.String(), watched); !slices.Equal(got, want) {
		t.Errorf("watch events of %s = %v, want %v\n%s", watched, got, want, w.stdout.String())
	}
	if !strings.HasPrefix(w.stdout.String(), "EVENT ") {
		t.Errorf("watch output has no EVENT column:\n%s", w.stdout.String())
	}
}

// podStatusAndBinding: the status subresource (and a main-resource write
// leaving status alone), and binding to a node.
func podStatusAndBinding(t *testing.T, p *portico, c kindCase) {
	k := func(args ...string) string {
		t.Helper()
		return p.mustKubectlIn(t, "", append(args, "-n", wfNamespace)...)
	}
	code, _, body := httpDo(t, http.DefaultClient, "POST", p.insecureURL()+"/api/v1/namespaces/wf/pods/"+c.name+"/binding", "application/json",
		`{"apiVersion":"v1","kind":"Binding","metadata":{"name":"`+c.name+`"},"target":{"apiVersion":"v1","kind":"Node","name":"wf-node"}}`)
	if code != http.StatusCreated || apiStatusOf(t, body).Status != "Success" {
		t.Errorf("binding: %d %s", code, body)
	}
	code, _, body = httpDo(t, http.DefaultClient, "POST", p.insecureURL()+"/api/v1/namespaces/wf/pods/"+c.name+"/binding", "application/json",
		`{"apiVersion":"v1","kind":"Binding","metadata":{"name":"`+c.name+`"},"target":{"apiVersion":"v1","kind":"Node","name":"other"}}`)
	if code != http.StatusConflict {
		t.Errorf("second binding: %d %s", code, body)
	}
	k("patch", "pod", c.name, "--subresource=status", "--type=merge", "-p",
		`{"status":{"phase":"Running","podIP":"10.244.0.5","podIPs":[{"ip":"10.244.0.5"}],"containerStatuses":[{"name":"nginx","ready":true,"restartCount":2,"image":"nginx:1.29","imageID":"","started":true,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]}}`)
	// A write to the pod itself does not change its status.
	k("patch", "pod", c.name, "--type=merge", "-p", `{"status":{"phase":"Failed"}}`)
	wide := parseTable(t, k("get", "pod", c.name, "-o", "wide"))
	checkRow(t, "pod after binding and status", wide.rows[0], map[string]string{
		"READY": "1/1", "STATUS": "Running", "RESTARTS": "2", "IP": "10.244.0.5", "NODE": "wf-node"})
	if got := k("get", "pod", c.name, "-o", "jsonpath={.status.phase} {.spec.nodeName}"); got != "Running wf-node" {
		t.Errorf("phase and node = %q", got)
	}
	status := p.getJSON(t, "pod", c.name, "-n", wfNamespace, "--subresource=status")
	if jsonStr(status, "status", "podIP") != "10.244.0.5" {
		t.Errorf("get --subresource=status: %v", status["status"])
	}
}

// nodeStatusAndCordon: the status a kubelet reports, then kubectl cordon.
func nodeStatusAndCordon(t *testing.T, p *portico, c kindCase) {
	p.mustKubectlIn(t, "", "patch", "node", c.name, "--subresource=status", "--type=merge", "-p",
		`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}],`+
			`"addresses":[{"type":"InternalIP","address":"192.168.1.10"},{"type":"Hostname","address":"wf-node"}],`+
			`"nodeInfo":{"kubeletVersion":"v1.34.4","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0-18-amd64","containerRuntimeVersion":"containerd://1.7.13",`+
			`"machineID":"","systemUUID":"","bootID":"","kubeProxyVersion":"","operatingSystem":"linux","architecture":"amd64"}}}`)
	// A write to the node itself does not change its status.
	p.mustKubectlIn(t, "", "patch", "node", c.name, "--type=merge", "-p", `{"status":{"nodeInfo":{"kubeletVersion":"v0.0.0"}}}`)
	if out := p.mustKubectlIn(t, "", "cordon", c.name); !strings.Contains(out, "node/"+c.name+" cordoned") {
		t.Errorf("cordon printed %q", out)
	}
	wide := parseTable(t, p.mustKubectlIn(t, "", "get", "node", c.name, "-o", "wide"))
	checkRow(t, "node after status and cordon", wide.rows[0], map[string]string{
		"STATUS": "Ready,SchedulingDisabled", "VERSION": "v1.34.4", "INTERNAL-IP": "192.168.1.10", "EXTERNAL-IP": "<none>",
		"OS-IMAGE": "Debian GNU/Linux 12 (bookworm)", "KERNEL-VERSION": "6.1.0-18-amd64 (amd64)", "CONTAINER-RUNTIME": "containerd://1.7.13"})
	p.mustKubectlIn(t, "", "uncordon", c.name)
	if got := p.mustKubectlIn(t, "", "get", "node", c.name, "-o", "jsonpath={.spec.unschedulable}"); got != "" && got != "false" {
		t.Errorf("after uncordon: unschedulable = %q", got)
	}
}

// deleteNamespaceWorkflow deletes the namespace holding the workflow's
// objects: a watcher sees it Terminating, then gone, and nothing it held
// is left.
func deleteNamespaceWorkflow(t *testing.T, p *portico) {
	var namespaced []string
	for _, c := range workflowKinds {
		if c.resource != "namespace" && c.resource != "node" && !strings.HasPrefix(c.resource, "cluster") {
			namespaced = append(namespaced, c.resource)
		}
	}
	// Everything is there before.
	for _, r := range namespaced {
		if out := p.mustKubectlIn(t, "", "get", r, "-n", wfNamespace, "-o", "name"); strings.TrimSpace(out) == "" {
			t.Errorf("no %s in %s before the delete", r, wfNamespace)
		}
	}
	w := p.watchKubectl(t, "namespace", wfNamespace)
	if out := p.mustKubectlIn(t, "", "delete", "namespace", wfNamespace); !strings.Contains(out, `namespace "wf" deleted`) {
		t.Errorf("delete namespace printed %q", out)
	}
	w.waitOutput(t, "namespace watch", func(stdout, _ string) bool { return slices.Contains(watchEvents(stdout, wfNamespace), "DELETED") })
	var terminating bool
	for _, line := range strings.Split(w.stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "MODIFIED" && f[1] == wfNamespace && f[2] == "Terminating" {
			terminating = true
		}
	}
	if got := watchEvents(w.stdout.String(), wfNamespace); !terminating || got[len(got)-1] != "DELETED" {
		t.Errorf("namespace watch: want MODIFIED ... Terminating, then DELETED:\n%s", w.stdout.String())
	}
	if r := p.kubectlIn(t, "", "get", "namespace", wfNamespace); r.err == nil || !strings.Contains(r.stderr, `namespaces "wf" not found`) {
		t.Errorf("get namespace after delete: %s", r)
	}
	for _, r := range namespaced {
		if out := p.mustKubectlIn(t, "", "get", r, "-A", "-o", "name", "--field-selector", "metadata.namespace="+wfNamespace); strings.TrimSpace(out) != "" {
			t.Errorf("%s left after the namespace was deleted: %s", r, out)
		}
	}
	if r := p.kubectlIn(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late}\n", "create", "-f", "-", "-n", wfNamespace); r.err == nil || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("create in the deleted namespace: %s", r)
	}
	// Cluster-scoped objects are not in a namespace: they stay.
	for _, c := range workflowKinds {
		if c.resource == "node" || strings.HasPrefix(c.resource, "cluster") || c.resource == "namespace" {
			if r := p.kubectlIn(t, "", "get", c.resource, c.name); r.err != nil {
				t.Errorf("%s/%s gone with the namespace: %s", c.resource, c.name, r)
			}
		}
	}
}
