package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portico-dev/portico/internal/testpeers"
	"github.com/portico-dev/portico/internal/testwait"
)

// The real peers (internal/testpeers) are built into bin/peers/ by `go
// tool task peers`; outside CI a test skips when they are not built.

// TestPeersKubeAPIServer: the built etcd and kube-apiserver v1.37.2 serve
// the real kubectl, which writes a ConfigMap and reads it back.
func TestPeersKubeAPIServer(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	s := testpeers.StartKubeAPIServer(t, etcd)
	kubectl := func(args ...string) string {
		t.Helper()
		r := run(t, "", "kubectl", append([]string{"--kubeconfig", s.Kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
		if r.err != nil {
			t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
		}
		return r.stdout
	}
	if v := kubectl("version", "-o", "json"); !strings.Contains(v, `"gitVersion": "v1.37.2"`) {
		t.Errorf("the server is not v1.37.2:\n%s", v)
	}
	kubectl("create", "configmap", "peers-check", "--from-literal=answer=42")
	if got := kubectl("get", "configmap", "peers-check", "-o", "jsonpath={.data.answer}"); got != "42" {
		t.Fatalf("configmap peers-check answer = %q, want 42", got)
	}
	if who := kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); who != testpeers.AdminUser {
		t.Errorf("whoami = %q, want %q", who, testpeers.AdminUser)
	}
}

// TestPeersEtcdCluster: three built etcd members with TLS form one
// cluster; every member answers its status with the same leader and no
// errors, and a write through one member is read through another.
func TestPeersEtcdCluster(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{Members: 3, TLS: true})
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   etcd.Endpoints(),
		TLS:         etcd.TLS.Config(t),
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	members, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members.Members) != 3 {
		t.Fatalf("member list has %d members, want 3: %v", len(members.Members), members.Members)
	}
	var leader uint64
	for _, ep := range etcd.Endpoints() {
		st, err := cli.Status(ctx, ep)
		if err != nil {
			t.Fatalf("status of %s: %v", ep, err)
		}
		if len(st.Errors) > 0 {
			t.Errorf("%s reports errors: %v", ep, st.Errors)
		}
		if st.Leader == 0 || (leader != 0 && st.Leader != leader) {
			t.Errorf("%s sees leader %x, others %x", ep, st.Leader, leader)
		}
		leader = st.Leader
		if !strings.HasPrefix(st.Version, "3.7.") {
			t.Errorf("%s is etcd %s, want 3.7.x", ep, st.Version)
		}
	}

	eps := etcd.Endpoints()
	one := clientOn(t, etcd, eps[0])
	other := clientOn(t, etcd, eps[2])
	if _, err := one.Put(ctx, "/peers-check", "written-through-m0"); err != nil {
		t.Fatal(err)
	}
	resp, err := other.Get(ctx, "/peers-check")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "written-through-m0" {
		t.Fatalf("m2 reads %v, want the value written through m0", resp.Kvs)
	}
}

// clientOn is a client of one member only.
func clientOn(t *testing.T, etcd *testpeers.Etcd, endpoint string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, TLS: etcd.TLS.Config(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPeersControlPlane: the built kube-scheduler, kube-controller-manager
// and kwok run against the built kube-apiserver: a node that kwok manages
// becomes Ready, the controller manager makes the namespace's default
// service account, and a pod is scheduled onto the node and runs there.
func TestPeersControlPlane(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	s := testpeers.StartKubeAPIServer(t, etcd)
	testpeers.StartKubeControllerManager(t, s)
	testpeers.StartKubeScheduler(t, s)
	testpeers.StartKwok(t, s)

	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	key, value, _ := strings.Cut(testpeers.KwokNodeSelector, "=")
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        "kwok-node-0",
		Labels:      map[string]string{key: value},
		Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"},
	}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "kwok makes the node Ready", func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	testwait.Until(t, 30*time.Second, "the controller manager makes the default service account", func() bool {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "peers-check"},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{key: value},
			Containers:   []corev1.Container{{Name: "c", Image: "registry.invalid/never-pulled"}},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var last string
	testwait.Until(t, 30*time.Second, "the pod scheduled onto the kwok node and Running", func() bool {
		p, err := cs.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("node %q phase %s", p.Spec.NodeName, p.Status.Phase)
		return p.Spec.NodeName == node.Name && p.Status.Phase == corev1.PodRunning
	})
	t.Logf("pod: %s", last)
}
