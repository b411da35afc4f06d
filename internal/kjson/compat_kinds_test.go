package kjson_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

// richObjects exercise the messages with their own encoding (IntOrString,
// Quantity, MicroTime, FieldsV1), inline fields, EmitNull and
// non-omitempty fields, as k8s.io/api has them.
func richObjects() []k8sObject {
	micro := metav1.NewMicroTime(t1.Add(123456000)) // JSON carries microseconds
	pod := &k8scorev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "default", CreationTimestamp: t1,
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "kubectl", Operation: "Update", APIVersion: "v1", Time: &t1, FieldsType: "FieldsV1",
				FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{}}}}`)},
			}},
		},
		Spec: k8scorev1.PodSpec{
			Volumes: []k8scorev1.Volume{
				{Name: "host", VolumeSource: k8scorev1.VolumeSource{HostPath: &k8scorev1.HostPathVolumeSource{Path: "/x"}}},
				{Name: "cm", VolumeSource: k8scorev1.VolumeSource{ConfigMap: &k8scorev1.ConfigMapVolumeSource{
					LocalObjectReference: k8scorev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr(int32(420)),
					Items: []k8scorev1.KeyToPath{{Key: "k", Path: "p"}},
				}}},
				{Name: "empty", VolumeSource: k8scorev1.VolumeSource{EmptyDir: &k8scorev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("1Gi"))}}},
			},
			Containers: []k8scorev1.Container{{
				Name: "c", Image: "busybox:1.36",
				Ports: []k8scorev1.ContainerPort{{ContainerPort: 80, Protocol: "TCP"}},
				Env: []k8scorev1.EnvVar{{Name: "A", ValueFrom: &k8scorev1.EnvVarSource{ConfigMapKeyRef: &k8scorev1.ConfigMapKeySelector{
					LocalObjectReference: k8scorev1.LocalObjectReference{Name: "cfg"}, Key: "k"}}}},
				Resources: k8scorev1.ResourceRequirements{
					Requests: k8scorev1.ResourceList{"cpu": resource.MustParse("100m"), "memory": resource.MustParse("64Mi")},
					Limits:   k8scorev1.ResourceList{"cpu": resource.MustParse("1")},
				},
				LivenessProbe: &k8scorev1.Probe{
					ProbeHandler:        k8scorev1.ProbeHandler{HTTPGet: &k8scorev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
					InitialDelaySeconds: 3,
				},
				ReadinessProbe:         &k8scorev1.Probe{ProbeHandler: k8scorev1.ProbeHandler{TCPSocket: &k8scorev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}},
				TerminationMessagePath: "/dev/termination-log", ImagePullPolicy: "IfNotPresent",
			}},
			RestartPolicy:                 "Always",
			TerminationGracePeriodSeconds: ptr(int64(30)),
			Tolerations:                   []k8scorev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr(int64(300))}},
			SecurityContext:               &k8scorev1.PodSecurityContext{},
			Priority:                      ptr(int32(0)),
			EnableServiceLinks:            ptr(true),
		},
		Status: k8scorev1.PodStatus{Phase: "Pending", QOSClass: "Burstable", Conditions: []k8scorev1.PodCondition{{Type: "PodScheduled", Status: "True", LastTransitionTime: t2}}},
	}
	svc := &k8scorev1.Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"},
		Spec: k8scorev1.ServiceSpec{
			Ports: []k8scorev1.ServicePort{
				{Name: "http", Protocol: "TCP", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "https", Protocol: "TCP", Port: 443, TargetPort: intstr.FromInt32(8443), NodePort: 30443},
				{Name: "zero", Port: 1},
			},
			Selector: map[string]string{"app": "x"}, ClusterIP: "10.0.0.1", ClusterIPs: []string{"10.0.0.1"}, Type: "ClusterIP",
		},
	}
	event := &k8scorev1.Event{
		TypeMeta:       metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
		ObjectMeta:     metav1.ObjectMeta{Name: "e", Namespace: "default"},
		InvolvedObject: k8scorev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default"},
		Reason:         "Scheduled", Message: "ok", Type: "Normal", Count: 2,
		FirstTimestamp: t1, LastTimestamp: t2, EventTime: micro,
		Series: &k8scorev1.EventSeries{Count: 2, LastObservedTime: micro},
		Source: k8scorev1.EventSource{Component: "scheduler"},
	}
	node := &k8scorev1.Node{
		TypeMeta:   metav1.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "n"},
		Status: k8scorev1.NodeStatus{
			Capacity:    k8scorev1.ResourceList{"cpu": resource.MustParse("2"), "pods": resource.MustParse("110"), "memory": resource.MustParse("4Gi")},
			Allocatable: k8scorev1.ResourceList{"cpu": resource.MustParse("1500m")},
			Addresses:   []k8scorev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.2"}},
		},
	}
	secret := &k8scorev1.Secret{
		TypeMeta:   metav1.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "sec", Namespace: "default"},
		Data:       map[string][]byte{"token": []byte("s3cr3t<>&")},
		Type:       "Opaque",
	}
	role := &k8srbacv1.Role{TypeMeta: metav1.TypeMeta{Kind: "Role", APIVersion: "rbac.authorization.k8s.io/v1"}, ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"}}
	roleRules := &k8srbacv1.Role{
		TypeMeta:   metav1.TypeMeta{Kind: "Role", APIVersion: "rbac.authorization.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"},
		Rules:      []k8srbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, {}},
	}
	binding := &k8srbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{Kind: "ClusterRoleBinding", APIVersion: "rbac.authorization.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "b"},
		Subjects:   []k8srbacv1.Subject{{Kind: "User", Name: "bob"}},
		RoleRef:    k8srbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
	}
	return []k8sObject{
		{name: "pod", k8s: pod, ours: &corev1.Pod{}},
		{name: "pod empty", k8s: &k8scorev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}}, ours: &corev1.Pod{}},
		{name: "service", k8s: svc, ours: &corev1.Service{}},
		{name: "event", k8s: event, ours: &corev1.Event{}},
		{name: "node", k8s: node, ours: &corev1.Node{}},
		{name: "secret", k8s: secret, ours: &corev1.Secret{}},
		{name: "role without rules", k8s: role, ours: &rbacv1.Role{}},
		{name: "role", k8s: roleRules, ours: &rbacv1.Role{}},
		{name: "clusterrolebinding", k8s: binding, ours: &rbacv1.ClusterRoleBinding{}},
	}
}

// TestCompatRichKinds runs the compatibility checks of
// TestCompatWithKubernetesTypes over richObjects.
func TestCompatRichKinds(t *testing.T) {
	checkCompat(t, richObjects())
}

func TestEncodingsGolden(t *testing.T) {
	m := newMarshaler()
	for _, tc := range []struct {
		name string
		msg  proto.Message
		want string
	}{
		{"int or string", &corev1.ServicePort{Port: 80, TargetPort: &corev1.IntOrString{IntVal: 8080}}, `{"port":80,"targetPort":8080}`},
		{"int or string, string", &corev1.ServicePort{Port: 80, TargetPort: &corev1.IntOrString{Type: 1, StrVal: "http"}}, `{"port":80,"targetPort":"http"}`},
		{"quantity", &corev1.ResourceRequirements{Requests: map[string]*corev1.Quantity{"cpu": {String_: "100m"}, "x": {}}}, `{"requests":{"cpu":"100m","x":"0"}}`},
		{"micro time", &corev1.EventSeries{Count: 1, LastObservedTime: &corev1.MicroTime{Seconds: 1795767377, Nanos: 123456789}}, `{"count":1,"lastObservedTime":"2026-11-27T08:16:17.123456Z"}`},
		{"micro time unset", &corev1.EventSeries{Count: 1}, `{"count":1,"lastObservedTime":null}`},
		{"raw json", &corev1.ManagedFieldsEntry{FieldsV1: &corev1.FieldsV1{Raw: []byte(` { "f:a" : { "<&>" : [ 1 , 2 ] } } `)}}, `{"fieldsV1":{"f:a":{"\u003c\u0026\u003e":[1,2]}}}`},
		{"inline", &corev1.Volume{Name: "v", VolumeSource: &corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}}, `{"name":"v","hostPath":{"path":"/x"}}`},
		{"inline unset", &corev1.Volume{Name: "v"}, `{"name":"v"}`},
		{"emit null", &rbacv1.Role{}, `{"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{},"rules":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			back := tc.msg.ProtoReflect().New().Interface()
			if err := m.Unmarshal(got, back); err != nil {
				t.Fatalf("decode: %v", err)
			}
			again, _ := m.Marshal(back)
			if string(again) != string(got) {
				t.Errorf("round trip: %s", again)
			}
		})
	}
	// Invalid raw JSON is refused, not written.
	if _, err := m.Marshal(&corev1.FieldsV1{Raw: []byte(`{"a":`)}); err == nil {
		t.Error("invalid raw JSON written")
	}
}
