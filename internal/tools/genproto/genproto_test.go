package main

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	authenticationv1 "k8s.io/api/authentication/v1"
	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/portico-dev/portico/internal/resources"
	_ "github.com/portico-dev/portico/proto/portico/coordination/v1"
	_ "github.com/portico-dev/portico/proto/portico/core/v1"
	_ "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// repoRoot is where the generated files are checked in.
const repoRoot = "../../.."

func testModules(t *testing.T) map[string]module {
	t.Helper()
	mods, err := moduleDirs(map[string]string{"k8s.io/api": "", "k8s.io/apimachinery": ""})
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

func TestSnakeCase(t *testing.T) {
	for _, tc := range []struct{ in, snake, json string }{
		{"podIP", "pod_ip", "podIP"},
		{"podIPs", "pod_ips", "podIPs"},
		{"hostIPC", "host_ipc", "hostIPC"},
		{"containerID", "container_id", "containerID"},
		{"externalIPs", "external_ips", "externalIPs"},
		{"targetWWNs", "target_wwns", "targetWWNs"},
		{"setHostnameAsFQDN", "set_hostname_as_fqdn", "setHostnameAsFQDN"},
		{"scaleIO", "scale_io", "scaleIO"},
		{"nonResourceURLs", "non_resource_urls", "nonResourceURLs"},
		{"Raw", "raw", "Raw"},
		{"metadata", "metadata", "metadata"},
		{"terminationGracePeriodSeconds", "termination_grace_period_seconds", "terminationGracePeriodSeconds"},
	} {
		if got := snakeCase(tc.in); got != tc.snake {
			t.Errorf("snakeCase(%q) = %q, want %q", tc.in, got, tc.snake)
		}
		// protoc's default JSON name differs exactly when json_name is needed.
		if def := protocJSONName(tc.snake); (def != tc.in) != (tc.json != protocJSONName(tc.snake)) {
			t.Errorf("%q: default JSON name %q", tc.in, def)
		}
	}
}

// TestGenerationReproducible: two runs give the same bytes, and the
// checked-in files are what a run gives.
func TestGenerationReproducible(t *testing.T) {
	mods := testModules(t)
	a, err := generate(mods)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate(mods)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s differs between two runs", a[i].Path)
		}
		disk, err := os.ReadFile(filepath.Join(repoRoot, a[i].Path))
		if err != nil || !bytes.Equal(disk, a[i].Data) {
			t.Errorf("%s is not up to date (%v): go tool task generate", a[i].Path, err)
		}
	}
}

// k8sScalarKinds are the protoreflect kinds of k8s proto scalar types.
var k8sScalarKinds = map[string]protoreflect.Kind{
	"string": protoreflect.StringKind, "bytes": protoreflect.BytesKind, "bool": protoreflect.BoolKind,
	"int32": protoreflect.Int32Kind, "int64": protoreflect.Int64Kind, "double": protoreflect.DoubleKind,
	"float": protoreflect.FloatKind, "uint32": protoreflect.Uint32Kind, "uint64": protoreflect.Uint64Kind,
}

// TestFieldsMatchK8s compares the descriptors of the generated Go code
// (compiled by buf from the generated .proto) with k8s.io's generated.proto
// and with the protobuf and json tags of the k8s.io Go types: the same
// field numbers, cardinality and types, the Kubernetes JSON name, and
// explicit presence exactly for Go pointers to scalars.
func TestFieldsMatchK8s(t *testing.T) {
	mods := testModules(t)
	k8s := map[string]*k8sMessage{}
	for _, f := range k8sFiles {
		pf, err := parseK8sProto(filepath.Join(mods[f.Module].Dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pf.Messages {
			k8s[m.FullName] = m
		}
	}
	type pair struct {
		ours protoreflect.MessageDescriptor
		k8s  string       // k8s full name
		gt   reflect.Type // nil for the opaque messages
	}
	var queue []pair
	find := func(name string) protoreflect.MessageDescriptor {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return mt.Descriptor()
	}
	for _, k := range kinds {
		queue = append(queue, pair{find(k.Pkg.Proto + "." + k.Go.Name()), goProtoName(k.Go), k.Go})
	}
	for _, gt := range extraRoots {
		queue = append(queue, pair{find("portico.core.v1." + gt.Name()), goProtoName(gt), gt})
	}
	seen := map[string]bool{}
	checked := 0
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p.k8s] {
			continue
		}
		seen[p.k8s] = true
		checked++
		km := k8s[p.k8s]
		if km == nil {
			t.Errorf("%s: not in the k8s protos", p.k8s)
			continue
		}
		if string(p.ours.Name()) != km.Name {
			t.Errorf("%s is %s", p.k8s, p.ours.FullName())
		}
		if p.ours.Fields().Len() != len(km.Fields) {
			t.Errorf("%s: %d fields, k8s has %d", p.ours.FullName(), p.ours.Fields().Len(), len(km.Fields))
		}
		goFields := map[int]reflect.StructField{}
		if p.gt != nil && p.gt.Kind() == reflect.Struct {
			for i := 0; i < p.gt.NumField(); i++ {
				sf := p.gt.Field(i)
				if tag, ok := sf.Tag.Lookup("protobuf"); ok && tag != "-" {
					n, _, err := parseProtoTag(tag)
					if err != nil {
						t.Fatal(err)
					}
					goFields[n] = sf
				}
			}
		}
		for _, kf := range km.Fields {
			fd := p.ours.Fields().ByNumber(protoreflect.FieldNumber(kf.Number))
			where := string(p.ours.FullName()) + "." + kf.Name
			if fd == nil {
				t.Errorf("%s: no field %d", where, kf.Number)
				continue
			}
			// The JSON name is k8s's, or the Go type's where they differ.
			wantJSON := kf.Name
			sf, hasGo := goFields[kf.Number]
			if _, own := opaque[p.k8s]; hasGo && !own {
				if name, _, inline := parseJSONTag(sf); !inline && name != "-" {
					wantJSON = name
				}
			}
			if fd.JSONName() != wantJSON {
				t.Errorf("%s: JSON name %q, want %q", where, fd.JSONName(), wantJSON)
			}
			switch kf.Label {
			case "map":
				if !fd.IsMap() || fd.MapKey().Kind() != k8sScalarKinds[kf.KeyType] {
					t.Errorf("%s: want map<%s, %s>", where, kf.KeyType, kf.Type)
					continue
				}
				fd = fd.MapValue()
			case "repeated":
				if !fd.IsList() {
					t.Errorf("%s: want repeated", where)
				}
			default:
				if fd.IsList() || fd.IsMap() {
					t.Errorf("%s: want singular", where)
				}
			}
			if kind, scalar := k8sScalarKinds[kf.Type]; scalar {
				if fd.Kind() != kind {
					t.Errorf("%s: kind %v, want %s", where, fd.Kind(), kf.Type)
				}
				if kf.Label == "optional" && hasGo {
					if ptr := sf.Type.Kind() == reflect.Pointer; fd.HasPresence() != ptr {
						t.Errorf("%s: presence %v, Go type %v", where, fd.HasPresence(), sf.Type)
					}
				}
				continue
			}
			if fd.Kind() != protoreflect.MessageKind {
				t.Errorf("%s: kind %v, want message %s", where, fd.Kind(), kf.Type)
				continue
			}
			if kf.Type == k8sTime {
				if fd.Message().FullName() != timestampType {
					t.Errorf("%s: %s, want Timestamp", where, fd.Message().FullName())
				}
				continue
			}
			var next reflect.Type
			if hasGo {
				next = sf.Type
				if kf.Label != "optional" {
					next = next.Elem() // the map value, the list element
				}
				if next.Kind() == reflect.Pointer {
					next = next.Elem()
				}
				if goProtoName(next) != kf.Type {
					t.Errorf("%s: Go type %v is not %s", where, next, kf.Type)
				}
			}
			queue = append(queue, pair{fd.Message(), kf.Type, next})
		}
	}
	if checked < 150 {
		t.Errorf("only %d messages checked", checked)
	}
	t.Logf("%d messages checked", checked)
}

// unknownPaths lists where m (recursively) holds unknown fields.
func unknownPaths(m protoreflect.Message, path string) []string {
	var out []string
	if len(m.GetUnknown()) > 0 {
		out = append(out, path)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + fd.JSONName()
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					out = append(out, unknownPaths(mv.Message(), p+"["+k.String()+"]")...)
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len(); i++ {
					out = append(out, unknownPaths(v.List().Get(i).Message(), p)...)
				}
			}
		case fd.Message() != nil:
			out = append(out, unknownPaths(v.Message(), p)...)
		}
		return true
	})
	return out
}

// k8sObject is a k8s.io Go type with gogo protobuf methods.
type k8sObject interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// roundTrip: k8s Marshal, proto.Unmarshal into ours with nothing unknown,
// proto.Marshal, k8s Unmarshal: semantically equal to the start.
func roundTrip(t *testing.T, name string, in k8sObject, ours proto.Message) {
	t.Helper()
	data, err := in.Marshal()
	if err != nil {
		t.Fatalf("%s: k8s Marshal: %v", name, err)
	}
	if err := proto.Unmarshal(data, ours); err != nil {
		t.Fatalf("%s: Unmarshal into %T: %v", name, ours, err)
	}
	if u := unknownPaths(ours.ProtoReflect(), name); len(u) > 0 {
		t.Errorf("%s: unknown fields at %v", name, u)
	}
	back, err := proto.Marshal(ours)
	if err != nil {
		t.Fatalf("%s: Marshal %T: %v", name, ours, err)
	}
	out := reflect.New(reflect.TypeOf(in).Elem()).Interface().(k8sObject)
	if err := out.Unmarshal(back); err != nil {
		t.Fatalf("%s: k8s Unmarshal: %v", name, err)
	}
	if !equality.Semantic.DeepEqual(in, out) {
		t.Errorf("%s: round trip differs:\nin  %+v\nout %+v", name, in, out)
	}
}

// newOurs returns an empty Portico message mirroring the k8s Go value.
func newOurs(t *testing.T, v any) proto.Message {
	t.Helper()
	gt := reflect.TypeOf(v).Elem()
	pkg, _ := fileOf(strings.ReplaceAll(gt.PkgPath(), "/", "."))
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(pkg.Proto + "." + gt.Name()))
	if err != nil {
		t.Fatal(err)
	}
	return mt.New().Interface()
}

func ptr[T any](v T) *T { return &v }

func TestWireCompatible(t *testing.T) {
	created := metav1.NewTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	meta := metav1.ObjectMeta{
		Name: "web", Namespace: "default", UID: "7d3c1d0e-1f7e-4b8e-9b55-1d2b3c4d5e6f", ResourceVersion: "42", Generation: 3,
		CreationTimestamp: created, DeletionGracePeriodSeconds: ptr[int64](30),
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "x"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "u1", Controller: ptr(true), BlockOwnerDeletion: ptr(false)}},
		Finalizers:      []string{"example.com/f"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
			Time: &created, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{}}`)}}},
	}
	probe := &k8scorev1.Probe{
		ProbeHandler:        k8scorev1.ProbeHandler{HTTPGet: &k8scorev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"), HTTPHeaders: []k8scorev1.HTTPHeader{{Name: "X", Value: "y"}}}},
		InitialDelaySeconds: 5, PeriodSeconds: 10, TerminationGracePeriodSeconds: ptr[int64](0),
	}
	pod := &k8scorev1.Pod{
		ObjectMeta: meta,
		Spec: k8scorev1.PodSpec{
			Volumes: []k8scorev1.Volume{
				{Name: "cfg", VolumeSource: k8scorev1.VolumeSource{ConfigMap: &k8scorev1.ConfigMapVolumeSource{LocalObjectReference: k8scorev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr[int32](0o644), Items: []k8scorev1.KeyToPath{{Key: "a", Path: "b"}}}}},
				{Name: "tmp", VolumeSource: k8scorev1.VolumeSource{EmptyDir: &k8scorev1.EmptyDirVolumeSource{Medium: k8scorev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("64Mi"))}}},
				{Name: "proj", VolumeSource: k8scorev1.VolumeSource{Projected: &k8scorev1.ProjectedVolumeSource{Sources: []k8scorev1.VolumeProjection{{ServiceAccountToken: &k8scorev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr[int64](3600)}}}}}},
			},
			InitContainers: []k8scorev1.Container{{Name: "init", Image: "busybox", Command: []string{"sh", "-c", "true"}}},
			Containers: []k8scorev1.Container{{
				Name: "app", Image: "nginx:1.27", Args: []string{"-g", "daemon off;"}, WorkingDir: "/",
				Ports: []k8scorev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: k8scorev1.ProtocolTCP}, {ContainerPort: 53, HostPort: 5353, Protocol: k8scorev1.ProtocolUDP, HostIP: "127.0.0.1"}},
				Env: []k8scorev1.EnvVar{
					{Name: "A", Value: "1"},
					{Name: "B", ValueFrom: &k8scorev1.EnvVarSource{SecretKeyRef: &k8scorev1.SecretKeySelector{LocalObjectReference: k8scorev1.LocalObjectReference{Name: "s"}, Key: "k", Optional: ptr(true)}}},
					{Name: "C", ValueFrom: &k8scorev1.EnvVarSource{FieldRef: &k8scorev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
					{Name: "D", ValueFrom: &k8scorev1.EnvVarSource{ResourceFieldRef: &k8scorev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
				},
				EnvFrom: []k8scorev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &k8scorev1.ConfigMapEnvSource{LocalObjectReference: k8scorev1.LocalObjectReference{Name: "cfg"}}}},
				Resources: k8scorev1.ResourceRequirements{
					Limits:   k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("500m"), k8scorev1.ResourceMemory: resource.MustParse("128Mi")},
					Requests: k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("0.25"), k8scorev1.ResourceMemory: resource.MustParse("1e6")},
				},
				VolumeMounts:   []k8scorev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true}},
				LivenessProbe:  probe,
				ReadinessProbe: &k8scorev1.Probe{ProbeHandler: k8scorev1.ProbeHandler{TCPSocket: &k8scorev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}},
				StartupProbe:   &k8scorev1.Probe{ProbeHandler: k8scorev1.ProbeHandler{Exec: &k8scorev1.ExecAction{Command: []string{"true"}}}, FailureThreshold: 30},
				Lifecycle:      &k8scorev1.Lifecycle{PreStop: &k8scorev1.LifecycleHandler{Sleep: &k8scorev1.SleepAction{Seconds: 5}}},
				SecurityContext: &k8scorev1.SecurityContext{
					Capabilities: &k8scorev1.Capabilities{Add: []k8scorev1.Capability{"NET_ADMIN"}, Drop: []k8scorev1.Capability{"ALL"}},
					Privileged:   ptr(false), RunAsUser: ptr[int64](1000), RunAsNonRoot: ptr(true), ReadOnlyRootFilesystem: ptr(true),
					AllowPrivilegeEscalation: ptr(false), SeccompProfile: &k8scorev1.SeccompProfile{Type: k8scorev1.SeccompProfileTypeRuntimeDefault},
				},
				ImagePullPolicy: k8scorev1.PullIfNotPresent, TerminationMessagePath: "/dev/termination-log", Stdin: true,
			}},
			RestartPolicy: k8scorev1.RestartPolicyAlways, TerminationGracePeriodSeconds: ptr[int64](30), ActiveDeadlineSeconds: ptr[int64](600),
			DNSPolicy: k8scorev1.DNSClusterFirst, NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			ServiceAccountName: "default", AutomountServiceAccountToken: ptr(false), NodeName: "node-1",
			HostNetwork: true, HostPID: true, HostIPC: true, ShareProcessNamespace: ptr(true),
			SecurityContext: &k8scorev1.PodSecurityContext{RunAsUser: ptr[int64](1000), FSGroup: ptr[int64](2000), SupplementalGroups: []int64{3000},
				Sysctls: []k8scorev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}},
			ImagePullSecrets: []k8scorev1.LocalObjectReference{{Name: "regcred"}},
			Affinity: &k8scorev1.Affinity{NodeAffinity: &k8scorev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &k8scorev1.NodeSelector{
				NodeSelectorTerms: []k8scorev1.NodeSelectorTerm{{MatchExpressions: []k8scorev1.NodeSelectorRequirement{{Key: "zone", Operator: k8scorev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}}}}},
			Tolerations: []k8scorev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: k8scorev1.TolerationOpExists, Effect: k8scorev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](300)},
				{Key: "dedicated", Operator: k8scorev1.TolerationOpEqual, Value: "gpu", Effect: k8scorev1.TaintEffectNoSchedule},
			},
			HostAliases: []k8scorev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db"}}},
			Priority:    ptr[int32](-5), PreemptionPolicy: ptr(k8scorev1.PreemptLowerPriority), EnableServiceLinks: ptr(false),
			Overhead:                  k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("10m")},
			TopologySpreadConstraints: []k8scorev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: k8scorev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}}}}},
			SetHostnameAsFQDN:         ptr(true),
			EphemeralContainers:       []k8scorev1.EphemeralContainer{{EphemeralContainerCommon: k8scorev1.EphemeralContainerCommon{Name: "debug", Image: "busybox", TTY: true}, TargetContainerName: "app"}},
		},
		Status: k8scorev1.PodStatus{
			Phase: k8scorev1.PodRunning, HostIP: "10.0.0.2", HostIPs: []k8scorev1.HostIP{{IP: "10.0.0.2"}}, PodIP: "10.1.0.5", PodIPs: []k8scorev1.PodIP{{IP: "10.1.0.5"}, {IP: "fd00::5"}},
			StartTime: &created, QOSClass: k8scorev1.PodQOSBurstable,
			Conditions: []k8scorev1.PodCondition{{Type: k8scorev1.PodReady, Status: k8scorev1.ConditionTrue, LastTransitionTime: created}},
			ContainerStatuses: []k8scorev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 2, Image: "nginx:1.27", ImageID: "sha256:abc", ContainerID: "containerd://1", Started: ptr(true),
				State:                k8scorev1.ContainerState{Running: &k8scorev1.ContainerStateRunning{StartedAt: created}},
				LastTerminationState: k8scorev1.ContainerState{Terminated: &k8scorev1.ContainerStateTerminated{ExitCode: 137, Signal: 9, Reason: "OOMKilled", FinishedAt: created}},
				AllocatedResources:   k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("250m")}}},
		},
	}
	svc := &k8scorev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: k8scorev1.ServiceSpec{
			Type: k8scorev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::a"},
			Ports: []k8scorev1.ServicePort{{Name: "http", Protocol: k8scorev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http"), NodePort: 30080, AppProtocol: ptr("http")},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9091)}},
			ExternalIPs: []string{"1.2.3.4"}, SessionAffinity: k8scorev1.ServiceAffinityClientIP,
			SessionAffinityConfig: &k8scorev1.SessionAffinityConfig{ClientIP: &k8scorev1.ClientIPConfig{TimeoutSeconds: ptr[int32](10800)}},
			IPFamilies:            []k8scorev1.IPFamily{k8scorev1.IPv4Protocol, k8scorev1.IPv6Protocol}, IPFamilyPolicy: ptr(k8scorev1.IPFamilyPolicyPreferDualStack),
			ExternalTrafficPolicy: k8scorev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 0, InternalTrafficPolicy: ptr(k8scorev1.ServiceInternalTrafficPolicyCluster),
		},
		Status: k8scorev1.ServiceStatus{
			LoadBalancer: k8scorev1.LoadBalancerStatus{Ingress: []k8scorev1.LoadBalancerIngress{{IP: "5.6.7.8", Ports: []k8scorev1.PortStatus{{Port: 80, Protocol: k8scorev1.ProtocolTCP}}}}},
			Conditions:   []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: created, Reason: "Ok", Message: "fine"}},
		},
	}
	secret := &k8scorev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Immutable:  ptr(true),
		Data:       map[string][]byte{"bin": {0, 1, 2, 0xff, 0xfe}, "empty": {}, "text": []byte("hunter2")},
		StringData: map[string]string{"more": "x"},
		Type:       k8scorev1.SecretTypeOpaque,
	}
	node := &k8scorev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Spec: k8scorev1.NodeSpec{PodCIDR: "10.1.0.0/24", PodCIDRs: []string{"10.1.0.0/24", "fd00:1::/64"}, ProviderID: "kind://node-1", Unschedulable: true,
			Taints: []k8scorev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: k8scorev1.TaintEffectNoSchedule, TimeAdded: &created}}},
		Status: k8scorev1.NodeStatus{
			Capacity:        k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("4"), k8scorev1.ResourceMemory: resource.MustParse("16Gi"), k8scorev1.ResourcePods: resource.MustParse("110")},
			Allocatable:     k8scorev1.ResourceList{k8scorev1.ResourceCPU: resource.MustParse("3800m"), k8scorev1.ResourceMemory: resource.MustParse("15Gi")},
			Phase:           k8scorev1.NodeRunning,
			Conditions:      []k8scorev1.NodeCondition{{Type: k8scorev1.NodeReady, Status: k8scorev1.ConditionTrue, LastHeartbeatTime: created, LastTransitionTime: created, Reason: "KubeletReady", Message: "ok"}},
			Addresses:       []k8scorev1.NodeAddress{{Type: k8scorev1.NodeInternalIP, Address: "10.0.0.2"}, {Type: k8scorev1.NodeHostName, Address: "node-1"}},
			DaemonEndpoints: k8scorev1.NodeDaemonEndpoints{KubeletEndpoint: k8scorev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: k8scorev1.NodeSystemInfo{MachineID: "m", SystemUUID: "u", BootID: "b", KernelVersion: "6.1", OSImage: "Debian", ContainerRuntimeVersion: "containerd://2.0",
				KubeletVersion: "v1.34.0", OperatingSystem: "linux", Architecture: "amd64"},
			Images:       []k8scorev1.ContainerImage{{Names: []string{"nginx:1.27"}, SizeBytes: 1 << 30}},
			VolumesInUse: []k8scorev1.UniqueVolumeName{"kubernetes.io/csi/x"},
			Config:       &k8scorev1.NodeConfigStatus{Error: "none"},
		},
	}
	event := &k8scorev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: k8scorev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u", APIVersion: "v1", ResourceVersion: "42", FieldPath: "spec.containers{app}"},
		Reason:         "Pulled", Message: "pulled", Source: k8scorev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: created, LastTimestamp: created, Count: 3, Type: k8scorev1.EventTypeNormal,
		EventTime: metav1.NewMicroTime(time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)),
		Series:    &k8scorev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(time.Date(2025, 3, 4, 5, 6, 8, 1000, time.UTC))},
		Action:    "Pull", Related: &k8scorev1.ObjectReference{Kind: "Node", Name: "node-1"},
		ReportingController: "kubelet", ReportingInstance: "node-1",
	}
	rb := &k8srbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read", Namespace: "default"},
		Subjects: []k8srbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"},
			{Kind: "ServiceAccount", Name: "default", Namespace: "default"}},
		RoleRef: k8srbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "reader"},
	}
	cr := &k8srbacv1.ClusterRole{
		ObjectMeta:      metav1.ObjectMeta{Name: "agg"},
		Rules:           []k8srbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, ResourceNames: []string{"web"}}, {Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
		AggregationRule: &k8srbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"agg": "true"}}}},
	}
	tr := &authenticationv1.TokenRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"},
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"api"}, ExpirationSeconds: ptr[int64](3600),
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: "u"}},
		Status: authenticationv1.TokenRequestStatus{Token: "t", ExpirationTimestamp: created},
	}
	status := &metav1.Status{Status: metav1.StatusFailure, Message: "no", Reason: metav1.StatusReasonInvalid, Code: 422,
		ListMeta: metav1.ListMeta{ResourceVersion: "1", Continue: "c", RemainingItemCount: ptr[int64](0)},
		Details:  &metav1.StatusDetails{Name: "web", Kind: "pods", UID: "u", RetryAfterSeconds: 1, Causes: []metav1.StatusCause{{Type: metav1.CauseTypeFieldValueInvalid, Message: "bad", Field: "spec"}}}}
	del := &metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0), Preconditions: &metav1.Preconditions{UID: ptr(types.UID("u")), ResourceVersion: ptr("1")},
		PropagationPolicy: ptr(metav1.DeletePropagationForeground), DryRun: []string{"All"}, OrphanDependents: ptr(false)}
	for _, tc := range []struct {
		name string
		obj  k8sObject
	}{
		{"pod", pod}, {"service", svc}, {"secret", secret}, {"node", node}, {"event", event},
		{"rolebinding", rb}, {"clusterrole", cr}, {"tokenrequest", tr}, {"status", status}, {"deleteoptions", del},
		{"configmap", &k8scorev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"a": "b"}, BinaryData: map[string][]byte{"c": {1}}, Immutable: ptr(false)}},
		{"namespace", &k8scorev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Spec: k8scorev1.NamespaceSpec{Finalizers: []k8scorev1.FinalizerName{"kubernetes"}},
			Status: k8scorev1.NamespaceStatus{Phase: k8scorev1.NamespaceTerminating, Conditions: []k8scorev1.NamespaceCondition{{Type: "NamespaceDeletionContentFailure", Status: "False", LastTransitionTime: created}}}}},
		{"endpoints", &k8scorev1.Endpoints{ObjectMeta: meta, Subsets: []k8scorev1.EndpointSubset{{Addresses: []k8scorev1.EndpointAddress{{IP: "10.1.0.5", NodeName: ptr("node-1"), TargetRef: &k8scorev1.ObjectReference{Kind: "Pod", Name: "web"}}},
			Ports: []k8scorev1.EndpointPort{{Name: "http", Port: 80, Protocol: k8scorev1.ProtocolTCP}}}}}},
		{"serviceaccount", &k8scorev1.ServiceAccount{ObjectMeta: meta, Secrets: []k8scorev1.ObjectReference{{Name: "tok"}}, AutomountServiceAccountToken: ptr(true)}},
		{"binding", &k8scorev1.Binding{ObjectMeta: meta, Target: k8scorev1.ObjectReference{Kind: "Node", Name: "node-1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { roundTrip(t, tc.name, tc.obj, newOurs(t, tc.obj)) })
	}
}

// TestWireCompatibleFuzzed round-trips randomly filled k8s objects of every
// root type (k8s.io's own meta/v1 fill functions, plus valid quantities).
func TestWireCompatibleFuzzed(t *testing.T) {
	funcs := func(codecs serializer.CodecFactory) []any {
		return []any{
			func(q *resource.Quantity, c randfill.Continue) {
				*q = *resource.NewQuantity(c.Int63n(1<<40)-(1<<39), resource.DecimalSI)
			},
			func(q *metav1.FieldsV1, c randfill.Continue) { q.Raw = []byte(`{"f:a":{}}`) },
			// meta's own filler encodes a Status with a scheme it does
			// not register; any JSON object does here.
			func(r *runtime.RawExtension, c randfill.Continue) { r.Raw = []byte(`{"a":1}`) },
			func(s *string, c randfill.Continue) { *s = randString(c.Rand) },
		}
	}
	codecs := serializer.NewCodecFactory(runtime.NewScheme())
	f := randfill.New().NilChance(.3).NumElements(0, 2).RandSource(rand.NewSource(1)).
		Funcs(metafuzzer.Funcs(codecs)...).Funcs(funcs(codecs)...)
	var roots []reflect.Type
	for _, k := range kinds {
		roots = append(roots, k.Go)
	}
	roots = append(roots, extraRoots...)
	for _, gt := range roots {
		if _, ok := opaque[goProtoName(gt)]; ok {
			continue
		}
		t.Run(gt.Name(), func(t *testing.T) {
			for i := 0; i < 20; i++ {
				v := reflect.New(gt).Interface()
				f.Fill(v)
				roundTrip(t, gt.Name(), v.(k8sObject), newOurs(t, v))
				if t.Failed() {
					return
				}
			}
		})
	}
}

func randString(r *rand.Rand) string {
	const chars = "abcxyz-._/:0129 éß€"
	rs := []rune(chars)
	n := r.Intn(8)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(rs[r.Intn(len(rs))])
	}
	return b.String()
}

// TestHTTPRules: every RPC of every served service has exactly one rule.
func TestHTTPRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "proto/http.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^    - selector: (\S+)$`).FindAllSubmatch(data, -1) {
		rules[string(m[1])]++
	}
	n := 0
	for _, r := range resources.All() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(r.Service))
		if err != nil {
			t.Fatal(err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := 0; i < methods.Len(); i++ {
			name := string(methods.Get(i).FullName())
			if rules[name] != 1 {
				t.Errorf("%s has %d rules", name, rules[name])
			}
			n++
		}
	}
	if n != len(rules) {
		t.Errorf("%d RPCs, %d rules", n, len(rules))
	}
}
