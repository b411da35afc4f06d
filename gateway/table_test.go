package gateway

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/resources"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

func TestTableRewrite(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tb := newTabler(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	tb.now = func() time.Time { return created.Add(90 * time.Second) }
	ns := func(name, phase string) *corev1.Namespace {
		return &corev1.Namespace{
			Metadata: &corev1.ObjectMeta{Name: name, ResourceVersion: "7", CreationTimestamp: timestamppb.New(created)},
			Status:   &corev1.NamespaceStatus{Phase: phase},
		}
	}
	list := &corev1.ListNamespacesResponse{Metadata: &corev1.ListMeta{ResourceVersion: "9"}, Items: []*corev1.Namespace{ns("a", "Active"), ns("b", "Terminating")}}
	tests := map[string]struct {
		ctx       context.Context
		msg       any
		wantCells [][]any
		wantRV    string
		isTable   bool
	}{
		"list as table": {
			ctx: context.WithValue(context.Background(), tableKey{}, tableRequest{includeObject: "Metadata"}),
			msg: list, isTable: true, wantRV: "9",
			wantCells: [][]any{{"a", "Active", "90s"}, {"b", "Terminating", "90s"}},
		},
		"object as table": {
			ctx: context.WithValue(context.Background(), tableKey{}, tableRequest{includeObject: "None"}),
			msg: ns("a", "Active"), isTable: true, wantRV: "7",
			wantCells: [][]any{{"a", "Active", "90s"}},
		},
		"not asked": {ctx: context.Background(), msg: list},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := tb.rewrite(tc.ctx, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := out.(*metav1.Table)
			if ok != tc.isTable {
				t.Fatalf("rewrite gave %T", out)
			}
			if !ok {
				return
			}
			if got.ResourceVersion != tc.wantRV || len(got.Rows) != len(tc.wantCells) {
				t.Fatalf("table = %+v", got)
			}
			for i, row := range got.Rows {
				b1, _ := json.Marshal(row.Cells)
				b2, _ := json.Marshal(tc.wantCells[i])
				if string(b1) != string(b2) {
					t.Errorf("row %d = %s, want %s", i, b1, b2)
				}
			}
			var names []string
			for _, c := range got.ColumnDefinitions {
				names = append(names, c.Name)
			}
			if b, _ := json.Marshal(names); string(b) != `["Name","Status","Age"]` {
				t.Errorf("columns = %s", b)
			}
		})
	}
}

// TestKindCells: the cells kube-apiserver's printers compute, for the
// kinds whose columns are more than fields.
func TestKindCells(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	now := created.Add(90 * time.Second)
	meta := &corev1.ObjectMeta{Name: "x", CreationTimestamp: timestamppb.New(created)}
	tests := map[string]struct {
		kind string
		obj  proto.Message
		want []any
	}{
		"event without times": {"Event", &corev1.Event{Metadata: meta, Type: "Normal", Reason: "Pulled", Message: " hi ",
			InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "p", FieldPath: "spec.containers{c}"},
			Source:         &corev1.EventSource{Component: "kubelet", Host: "n1"}},
			[]any{"<unknown>", "Normal", "Pulled", "pod/p", "spec.containers{c}", "kubelet, n1", "hi", "<unknown>", 1, "x"}},
		"event with eventTime and series": {"Event", &corev1.Event{Metadata: meta, Type: "Warning", ReportingComponent: "sched",
			EventTime:      &corev1.MicroTime{Seconds: created.Unix()},
			Series:         &corev1.EventSeries{Count: 4, LastObservedTime: &corev1.MicroTime{Seconds: created.Add(30 * time.Second).Unix()}},
			InvolvedObject: &corev1.ObjectReference{Kind: "Node"}},
			[]any{"60s", "Warning", "", "node", "", "sched", "", "90s", 4, "x"}},
		"event with timestamps": {"Event", &corev1.Event{Metadata: meta, Count: 3,
			FirstTimestamp: timestamppb.New(created), LastTimestamp: timestamppb.New(created.Add(80 * time.Second)),
			InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "p"}},
			[]any{"10s", "", "", "pod/p", "", "", "", "90s", 3, "x"}},
		"role binding": {"RoleBinding", &rbacv1.RoleBinding{Metadata: meta, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "r"},
			Subjects: []*rbacv1.Subject{{Kind: "User", Name: "a"}, {Kind: "Group", Name: "g"}, {Kind: "User", Name: "b"}, {Kind: "ServiceAccount", Name: "s", Namespace: "ns"}}},
			[]any{"x", "Role/r", "90s", "a, b", "g", "ns/s"}},
		"role (default table)": {"Role", &rbacv1.Role{Metadata: meta}, []any{"x", "2026-11-27T08:00:00Z"}},
		"node": {"Node", &corev1.Node{Metadata: meta, Status: &corev1.NodeStatus{
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "False"}},
			Addresses:  []*corev1.NodeAddress{{Type: "Hostname", Address: "h"}, {Type: "InternalIP", Address: "10.0.0.1"}},
			NodeInfo:   &corev1.NodeSystemInfo{KubeletVersion: "v1", OsImage: "os"}}},
			[]any{"x", "NotReady", "<none>", "90s", "v1", "10.0.0.1", "<none>", "os", "<unknown>", "<unknown>"}},
	}
	tb := newTabler(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	tb.now = func() time.Time { return now }
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tb.build(tableRequest{includeObject: "None"}, tc.kind, []protoreflect.Message{tc.obj.ProtoReflect()}, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			b1, _ := json.Marshal(got.Rows[0].Cells)
			b2, _ := json.Marshal(tc.want)
			if string(b1) != string(b2) {
				t.Errorf("cells = %s, want %s", b1, b2)
			}
			if len(got.ColumnDefinitions) != len(tc.want) {
				t.Errorf("%d column definitions for %d cells", len(got.ColumnDefinitions), len(tc.want))
			}
		})
	}
}

// printed builds kind's one-row Table of the object in Kubernetes JSON
// (its metadata made at created), printed at now.
func printed(t *testing.T, kind, body string, created, now time.Time) *metav1.Table {
	t.Helper()
	var obj proto.Message
	for _, r := range resources.All() {
		if r.Kind == kind {
			obj = r.New()
		}
	}
	if obj == nil {
		t.Fatalf("no kind %s", kind)
	}
	types := kjson.KubernetesTypes()
	if err := types.Decode([]byte(body), obj, kjson.DecodeOptions{}); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	if md := obj.ProtoReflect().Descriptor().Fields().ByName("metadata"); md != nil {
		meta := obj.ProtoReflect().Mutable(md).Message()
		meta.Set(meta.Descriptor().Fields().ByName("creation_timestamp"), protoreflect.ValueOfMessage(timestamppb.New(created).ProtoReflect()))
	}
	tb := newTabler(kjson.New(kjson.WithTypes(types)))
	tb.now = func() time.Time { return now }
	got, err := tb.build(tableRequest{includeObject: "None"}, kind, []protoreflect.Message{obj.ProtoReflect()}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPrinterCells: the cells kube-apiserver's printers compute from more
// than a field, one case per rule, from the object's Kubernetes JSON.
func TestPrinterCells(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	now := created.Add(90 * time.Second)
	const (
		podSpec   = `"spec":{"initContainers":[{"name":"i1","image":"a"},{"name":"i2","image":"b"}],"containers":[{"name":"c","image":"x"}]}`
		templated = `"template":{"spec":{"containers":[{"name":"c","image":"nginx"},{"name":"d","image":"redis"}]}}`
	)
	tests := map[string]struct {
		kind, body string
		want       []any
	}{
		"pod waiting for its first init container": {"Pod", `{"metadata":{"name":"p"},` + podSpec + `,
"status":{"phase":"Pending","initContainerStatuses":[{"name":"i1","state":{"running":{}}},{"name":"i2","state":{"waiting":{"reason":"PodInitializing"}}}]}}`,
			[]any{"p", "0/1", "Init:0/2", "0", "90s", "<none>", "<none>", "<none>", "<none>"}},
		"pod whose init container failed": {"Pod", `{"metadata":{"name":"p"},` + podSpec + `,
"status":{"phase":"Pending","initContainerStatuses":[{"name":"i1","restartCount":4,"state":{"terminated":{"exitCode":0}}},{"name":"i2","restartCount":2,"state":{"terminated":{"exitCode":3,"signal":9}}}]}}`,
			[]any{"p", "0/1", "Init:Signal:9", "6", "90s", "<none>", "<none>", "<none>", "<none>"}},
		"pod with a sidecar, restarted": {"Pod", `{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"s","image":"a","restartPolicy":"Always"}],"containers":[{"name":"c","image":"x"}],
"readinessGates":[{"conditionType":"g"}]},
"status":{"phase":"Running","podIPs":[{"ip":"10.0.0.7"},{"ip":"fd00::7"}],"conditions":[{"type":"g","status":"True"}],
"initContainerStatuses":[{"name":"s","ready":true,"started":true,"restartCount":1,"state":{"running":{}},"lastState":{"terminated":{"exitCode":1,"finishedAt":"2026-11-27T07:59:00Z"}}}],
"containerStatuses":[{"name":"c","ready":true,"state":{"running":{}}}]}}`,
			[]any{"p", "2/2", "Running", "1 (2m30s ago)", "90s", "10.0.0.7", "<none>", "<none>", "1/1"}},
		"pod whose containers completed but one runs": {"Pod", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"x"}]},
"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
"containerStatuses":[{"name":"a","ready":true,"state":{"running":{}}},{"name":"b","state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}`,
			[]any{"p", "1/2", "Running", "0", "90s", "<none>", "<none>", "<none>", "<none>"}},
		"pod being deleted": {"Pod", `{"metadata":{"name":"p","deletionTimestamp":"2026-11-27T08:01:00Z"},"spec":{"nodeName":"n"},"status":{"phase":"Running"}}`,
			[]any{"p", "0/0", "Terminating", "0", "90s", "<none>", "n", "<none>", "<none>"}},
		"scheduling gated pod": {"Pod", `{"metadata":{"name":"p"},"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"SchedulingGated"}]}}`,
			[]any{"p", "0/0", "SchedulingGated", "0", "90s", "<none>", "<none>", "<none>", "<none>"}},
		"node": {"Node", `{"metadata":{"name":"x","labels":{"kubernetes.io/role":"infra","node-role.kubernetes.io/control-plane":""}},"spec":{"unschedulable":true},
"status":{"conditions":[{"type":"Ready","status":"False"}],"addresses":[{"type":"Hostname","address":"h"},{"type":"InternalIP","address":"10.0.0.1"}],
"nodeInfo":{"kubeletVersion":"v1","osImage":"os","architecture":"arm64"}}}`,
			[]any{"x", "NotReady,SchedulingDisabled", "control-plane,infra", "90s", "v1", "10.0.0.1", "<none>", "os", "<unknown> (arm64)", "<unknown>"}},
		"headless endpoints, more than three": {"Endpoints", `{"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"10.0.0.1"},{"ip":"fd00::1"}],"ports":[{"port":80},{"port":81}]}]}`,
			[]any{"e", "10.0.0.1:80,[fd00::1]:80,10.0.0.1:81 + 1 more...", "90s"}},
		"endpoints without subsets": {"Endpoints", `{"metadata":{"name":"e"}}`, []any{"e", "<none>", "90s"}},
		"load balancer service": {"Service", `{"metadata":{"name":"s"},"spec":{"type":"LoadBalancer","clusterIPs":["10.0.0.5"],"externalIPs":["1.2.3.4"],
"ports":[{"port":80,"protocol":"TCP","nodePort":30001}]},"status":{"loadBalancer":{"ingress":[{"hostname":"b.example"},{"ip":"5.6.7.8"},{"ip":"5.6.7.8"}]}}}`,
			[]any{"s", "LoadBalancer", "10.0.0.5", "5.6.7.8,b.example,1.2.3.4", "80:30001/TCP", "90s", "<none>"}},
		"pending load balancer": {"Service", `{"metadata":{"name":"s"},"spec":{"type":"LoadBalancer","selector":{"b":"2","a":"1"}}}`,
			[]any{"s", "LoadBalancer", "<none>", "<pending>", "<none>", "90s", "a=1,b=2"}},
		"external name service": {"Service", `{"metadata":{"name":"s"},"spec":{"type":"ExternalName","externalName":"db.example"}}`,
			[]any{"s", "ExternalName", "<none>", "db.example", "<none>", "90s", "<none>"}},
		"persistent volume": {"PersistentVolume", `{"metadata":{"name":"v","annotations":{"volume.beta.kubernetes.io/storage-class":"beta"}},
"spec":{"capacity":{"storage":"2048Mi"},"accessModes":["ReadWriteOncePod","ReadWriteMany","ReadWriteMany"],"persistentVolumeReclaimPolicy":"Delete","storageClassName":"ignored",
"claimRef":{"namespace":"ns","name":"c"}},"status":{"phase":"Bound"}}`,
			[]any{"v", "2Gi", "RWX,RWOP", "Delete", "Bound", "ns/c", "beta", "<unset>", "", "90s", "<unset>"}},
		"unbound claim": {"PersistentVolumeClaim", `{"metadata":{"name":"c"},"spec":{"volumeMode":"Block"},"status":{"phase":"Pending","capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"]}}`,
			[]any{"c", "Pending", "", "", "", "", "<unset>", "90s", "Block"}},
		"resource quota": {"ResourceQuota", `{"metadata":{"name":"q"},"status":{"hard":{"pods":"10","limits.cpu":"2","cpu":"1000m"},"used":{"cpu":"500m"}}}`,
			[]any{"q", "cpu: 500m/1, pods: 0/10", "limits.cpu: 0/2", "90s"}},
		"replication controller without a template": {"ReplicationController", `{"metadata":{"name":"r"},"spec":{"selector":{"app":"a"}}}`,
			[]any{"r", 0, 0, 0, "90s", "", "", "app=a"}},
		"deployment": {"Deployment", `{"metadata":{"name":"d"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"a"},"matchExpressions":[{"key":"env","operator":"In","values":["b","a"]}]},` + templated + `},
"status":{"readyReplicas":1,"updatedReplicas":2,"availableReplicas":1}}`,
			[]any{"d", "1/3", 2, 1, "90s", "c,d", "nginx,redis", "app=a,env in (a,b)"}},
		"daemon set": {"DaemonSet", `{"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"spec":{"nodeSelector":{"zone":"a"},"containers":[{"name":"c","image":"x"}]}}},
"status":{"desiredNumberScheduled":3,"currentNumberScheduled":2,"numberReady":1,"updatedNumberScheduled":2,"numberAvailable":1}}`,
			[]any{"d", 3, 2, 1, 2, 1, "zone=a", "90s", "c", "x", "app=a"}},
		"completed job": {"Job", `{"metadata":{"name":"j"},"spec":{"parallelism":3,` + templated + `},
"status":{"succeeded":1,"startTime":"2026-11-27T08:00:00Z","completionTime":"2026-11-27T08:00:42Z","conditions":[{"type":"Complete","status":"True"}]}}`,
			[]any{"j", "Complete", "1/1 of 3", "42s", "90s", "c,d", "nginx,redis", "<none>"}},
		"failing job, not started": {"Job", `{"metadata":{"name":"j"},"spec":{"completions":5},"status":{"conditions":[{"type":"FailureTarget","status":"True"}]}}`,
			[]any{"j", "FailureTarget", "0/5", "", "90s", "", "", "<none>"}},
		"cron job": {"CronJob", `{"metadata":{"name":"c"},"spec":{"schedule":"@daily","jobTemplate":{"spec":{` + templated + `}}},"status":{"lastScheduleTime":"2026-11-27T08:00:30Z"}}`,
			[]any{"c", "@daily", "<none>", "<unset>", 0, "60s", "90s", "c,d", "nginx,redis", "<none>"}},
		"stateful set": {"StatefulSet", `{"metadata":{"name":"s"},"spec":{"replicas":2,` + templated + `},"status":{"readyReplicas":2}}`,
			[]any{"s", "2/2", "90s", "c,d", "nginx,redis"}},
		"controller revision": {"ControllerRevision", `{"metadata":{"name":"r","ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"p","uid":"1"},
{"apiVersion":"apps/v1","kind":"DaemonSet","name":"ds","uid":"2","controller":true}]},"revision":4}`,
			[]any{"r", "daemonset.apps/ds", 4, "90s"}},
		"hpa": {"HorizontalPodAutoscaler", `{"metadata":{"name":"h"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"maxReplicas":5,
"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"1Gi"}}},
{"type":"Object","object":{"target":{"type":"AverageValue","averageValue":"2"}}}]},
"status":{"currentReplicas":2,"currentMetrics":[{"type":"Resource","resource":{"name":"memory","current":{"averageValue":"512Mi"}}},{"type":"Object","object":{"current":{"value":"3"}}}]}}`,
			[]any{"h", "Deployment/web", "memory: 512Mi/1Gi, <unknown>/2 (avg)", "<unset>", 5, 2, "90s"}},
		"hpa without metrics": {"HorizontalPodAutoscaler", `{"metadata":{"name":"h"},"spec":{"minReplicas":1,"maxReplicas":3}}`,
			[]any{"h", "/", "<none>", "1", 3, 0, "90s"}},
		"csr issued": {"CertificateSigningRequest", `{"metadata":{"name":"c"},"spec":{"username":"u","expirationSeconds":86400},
"status":{"certificate":"AAE=","conditions":[{"type":"Approved","status":"True"}]}}`,
			[]any{"c", "90s", "<none>", "u", "24h", "Approved,Issued"}},
		"pdb": {"PodDisruptionBudget", `{"metadata":{"name":"p"},"spec":{"maxUnavailable":1},"status":{"disruptionsAllowed":2}}`,
			[]any{"p", "N/A", "1", 2, "90s"}},
		"ingress without rules": {"Ingress", `{"metadata":{"name":"i"},"spec":{"defaultBackend":{"service":{"name":"s","port":{"number":80}}}}}`,
			[]any{"i", "<none>", "*", "", "80", "90s"}},
		"ingress class": {"IngressClass", `{"metadata":{"name":"c"},"spec":{"controller":"x","parameters":{"kind":"K","name":"n"}}}`,
			[]any{"c", "x", "K/n", "90s"}},
		"ip address: an age without a column": {"IPAddress", `{"metadata":{"name":"10.0.0.1"},"spec":{"parentRef":{"group":"gateway.networking.k8s.io","resource":"Gateways","name":"g"}}}`,
			[]any{"10.0.0.1", "gateways.gateway.networking.k8s.io/g", "90s"}},
		"network policy selecting all": {"NetworkPolicy", `{"metadata":{"name":"n"},"spec":{}}`, []any{"n", "<none>", "90s"}},
		"endpoint slice": {"EndpointSlice", `{"metadata":{"name":"s"},"addressType":"IPv4","ports":[{},{"name":"a"},{"port":1},{"port":2}]}`,
			[]any{"s", "IPv4", "*,a,1 + 1 more...", "<unset>", "90s"}},
		"exempt priority level": {"PriorityLevelConfiguration", `{"metadata":{"name":"exempt"},"spec":{"type":"Exempt","exempt":{}}}`,
			[]any{"exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "90s"}},
		"flow schema": {"FlowSchema", `{"metadata":{"name":"f"},"spec":{"priorityLevelConfiguration":{"name":"pl"},"matchingPrecedence":100}}`,
			[]any{"f", "pl", 100, "<none>", "90s", "?"}},
		"policy binding by name, any namespace": {"ValidatingAdmissionPolicyBinding", `{"metadata":{"name":"b"},"spec":{"policyName":"p","paramRef":{"name":"x"}}}`,
			[]any{"b", "p", "*/x", "90s"}},
		"policy binding by selector": {"MutatingAdmissionPolicyBinding", `{"metadata":{"name":"b"},"spec":{"policyName":"p","paramRef":{"selector":{"matchLabels":{"a":"b"}}}}}`,
			[]any{"b", "p", "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}", "90s"}},
		"resource claim being deleted": {"ResourceClaim", `{"metadata":{"name":"c","deletionTimestamp":"2026-11-27T08:01:00Z"}}`, []any{"c", "deleted", "90s"}},
		"storage class defaults": {"StorageClass", `{"metadata":{"name":"s","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"p"}`,
			[]any{"s", "p", "Delete", "Immediate", false, "90s"}},
		"csi driver defaults": {"CSIDriver", `{"metadata":{"name":"d"},"spec":{}}`, []any{"d", true, false, false, "<unset>", false, "<none>", "90s"}},
		"storage version migration": {"StorageVersionMigration", `{"metadata":{"name":"m"},"spec":{"resource":{"resource":"secrets"}},
"status":{"conditions":[{"type":"Running","status":"True"},{"type":"Succeeded","status":"True"},{"type":"Failed","status":"False"}]}}`,
			[]any{"m", "secrets", "Succeeded"}},
		"secret counts data only":     {"Secret", `{"metadata":{"name":"s"},"type":"Opaque","data":{"a":"AA=="}}`, []any{"s", "Opaque", 1, "90s"}},
		"limit range (default table)": {"LimitRange", `{"metadata":{"name":"l"}}`, []any{"l", "2026-11-27T08:00:00Z"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := printed(t, tc.kind, tc.body, created, now)
			b1, _ := json.Marshal(got.Rows[0].Cells)
			b2, _ := json.Marshal(tc.want)
			if string(b1) != string(b2) {
				t.Errorf("cells = %s\n want   %s", b1, b2)
			}
		})
	}
}

// TestPrinterRows: what kube's printers add to a row or a list beyond
// the cells.
func TestPrinterRows(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tb := newTabler(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	tb.now = func() time.Time { return created }
	decode := func(kind string, bodies ...string) []protoreflect.Message {
		var out []protoreflect.Message
		for _, b := range bodies {
			for _, r := range resources.All() {
				if r.Kind == kind {
					obj := r.New()
					if err := kjson.KubernetesTypes().Decode([]byte(b), obj, kjson.DecodeOptions{}); err != nil {
						t.Fatal(err)
					}
					out = append(out, obj.ProtoReflect())
				}
			}
		}
		return out
	}
	firstCells := func(tab *metav1.Table) []string {
		var out []string
		for _, r := range tab.Rows {
			out = append(out, r.Cells[0].(string))
		}
		return out
	}
	classes := decode("StorageClass",
		`{"metadata":{"name":"a","creationTimestamp":"2026-11-27T08:00:00Z","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}`,
		`{"metadata":{"name":"b","creationTimestamp":"2026-11-27T08:00:05Z","annotations":{"storageclass.beta.kubernetes.io/is-default-class":"true"}}}`,
		`{"metadata":{"name":"c","creationTimestamp":"2026-11-27T08:00:09Z"}}`)
	schemas := decode("FlowSchema",
		`{"metadata":{"name":"b"},"spec":{"matchingPrecedence":10}}`,
		`{"metadata":{"name":"c"},"spec":{"matchingPrecedence":5}}`,
		`{"metadata":{"name":"a"},"spec":{"matchingPrecedence":10}}`)
	tests := map[string]struct {
		kind string
		objs []protoreflect.Message
		list bool
		want []string
	}{
		"the newest default class is marked in a list": {"StorageClass", classes, true, []string{"a", "b (default)", "c"}},
		"a class alone is not marked":                  {"StorageClass", classes[1:2], false, []string{"b"}},
		"flow schemas listed by precedence, then name": {"FlowSchema", schemas, true, []string{"c", "a", "b"}},
		"a watch event's flow schema is as it comes":   {"FlowSchema", schemas[:1], false, []string{"b"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tb.build(tableRequest{includeObject: "None"}, tc.kind, tc.objs, nil, tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if g := firstCells(got); !slices.Equal(g, tc.want) {
				t.Errorf("names = %v, want %v", g, tc.want)
			}
		})
	}

	// A finished pod's row is Completed.
	for phase, want := range map[string]string{"Succeeded": "Succeeded", "Failed": "Failed", "Running": ""} {
		pod := decode("Pod", `{"metadata":{"name":"p"},"status":{"phase":"`+phase+`"}}`)
		got, err := tb.build(tableRequest{includeObject: "None"}, "Pod", pod, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		conds := got.Rows[0].Conditions
		if reason := ""; len(conds) > 0 {
			reason = conds[0].Reason
			if conds[0].Type != metav1.RowCompleted || reason != want {
				t.Errorf("%s pod: conditions %+v", phase, conds)
			}
		} else if want != "" {
			t.Errorf("%s pod: no Completed condition", phase)
		}
	}
}

// TestEveryKindPrinted: every served kind has kube-apiserver's printer,
// or its default table where kube has no printer either; a row has a
// cell for every column and the columns' definitions are complete.
func TestEveryKindPrinted(t *testing.T) {
	noPrinter := map[string]bool{"Role": true, "ClusterRole": true, "LimitRange": true, "CSIStorageCapacity": true}
	printers := kindPrinters()
	for _, r := range resources.All() {
		p, ok := printers[r.Kind]
		if ok == noPrinter[r.Kind] {
			t.Errorf("%s: printer %v, want %v", r.Kind, ok, !noPrinter[r.Kind])
		}
		for i, c := range p.columns {
			if c.undeclared {
				continue
			}
			d := c.def
			if d.Name == "" || (d.Type != "string" && d.Type != "integer" && d.Type != "boolean" && d.Type != "date") || d.Priority < 0 || d.Priority > 1 || c.cell == nil {
				t.Errorf("%s column %d: %+v", r.Kind, i, d)
			}
		}
	}
}
