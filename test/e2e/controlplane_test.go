package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portico-dev/portico/internal/testpeers"
	"github.com/portico-dev/portico/internal/testwait"
)

// The end-to-end test of issue 14, "A real control plane runs on
// Portico": the real kube-scheduler, kube-controller-manager and kwok
// v1.37.2 (bin/peers, `go tool task peers`) against one Portico, on its
// secure port with Node,RBAC, each as the user a real cluster gives it.

// cpNode is one of the three nodes kwok runs: two with SSDs of
// different sizes, one larger with a spinning disk.
type cpNode struct {
	name, disk, cpu string
	// fits is how many of the web Deployment's pods (500m CPU each, on
	// SSD nodes only) the node has room for.
	fits int
}

var cpNodes = []cpNode{
	{name: "kwok-ssd-2", disk: "ssd", cpu: "2", fits: 4},
	{name: "kwok-ssd-1", disk: "ssd", cpu: "1", fits: 2},
	{name: "kwok-hdd-8", disk: "hdd", cpu: "8", fits: 0},
}

// TestControlPlaneOnPortico: the real kube-scheduler (as
// system:kube-scheduler) and kube-controller-manager (as
// system:kube-controller-manager, each controller with its own service
// account) with leader election in kube-system leases, and kwok as its
// own service account bound to the ClusterRole kwok ships, run against
// Portico with its own controllers stepped aside
// (--builtin-controllers=). Three nodes kwok makes Ready, with
// heartbeats in kube-node-lease; a Deployment of 6 is bound across them
// by nodeSelector and CPU requests, and runs; a pod that fits nowhere is
// Pending with a FailedScheduling event; a Service gets EndpointSlices;
// scaling to 2 deletes 4 pods gracefully; the garbage collector and the
// namespace controller delete what they own; a Job and a CronJob's Job
// run to completion.
func TestControlPlaneOnPortico(t *testing.T) {
	p := startPortico(t, "--builtin-controllers=")
	p.waitPolicy(t)
	caFile := filepath.Join(p.dataDir, "certs", "apiserver.crt")
	// as is the apiserver as one component sees it: Portico's secure
	// port with that user's client certificate from the client CA.
	as := func(user string) *testpeers.KubeAPIServer {
		out := filepath.Join(t.TempDir(), "kubeconfig")
		if r := run(t, "", bins.portico, "kubeconfig", "--data-dir", p.dataDir, "--user", user, "--server", p.secureURL(), "--out", out); r.err != nil {
			t.Fatalf("portico kubeconfig --user %s: %s", user, r)
		}
		return &testpeers.KubeAPIServer{
			URL:                   p.secureURL(),
			CAFile:                caFile,
			Kubeconfig:            out,
			ServiceAccountKeyFile: filepath.Join(p.dataDir, "pki", "service-account.key"),
		}
	}
	sched := testpeers.StartKubeScheduler(t, as("system:kube-scheduler"), "--leader-elect=true")
	kcm := testpeers.StartKubeControllerManager(t, as("system:kube-controller-manager"), "--leader-elect=true")
	kubectl := func(args ...string) string {
		t.Helper()
		return p.mustKubectl(t, args...)
	}
	apply := func(manifest string) {
		t.Helper()
		p.mustKubectlIn(t, manifest, "apply", "-f", "-")
	}

	// kwok as kube-system/kwok-controller with the service account,
	// ClusterRole, binding and FlowSchema of its kustomize/rbac,
	// applied as they are.
	kubectl("apply", "-k", filepath.Join(testpeers.ModuleDir(t, testpeers.KwokModule), "kustomize", "rbac"))
	token := strings.TrimSpace(kubectl("create", "token", "kwok-controller", "-n", "kube-system", "--duration=2h"))
	kwokKubeconfig := writeFile(t, filepath.Join(t.TempDir(), "kwok.kubeconfig"), testpeers.TokenKubeconfig(t, p.secureURL(), caFile, token))
	kwok := testpeers.StartKwok(t, &testpeers.KubeAPIServer{Kubeconfig: kwokKubeconfig})

	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The CronJob comes first: "* * * * *" fires at the next minute,
	// which the steps below mostly wait out. Its check is the last.
	cronCreated := time.Now()
	kubectl("create", "cronjob", "tick", "--image=busybox", "--schedule=* * * * *")

	t.Run("leader election", func(t *testing.T) {
		for _, name := range []string{"kube-scheduler", "kube-controller-manager"} {
			testwait.Until(t, 30*time.Second, name+" holds its lease in kube-system", func() bool {
				l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
				return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != ""
			})
		}
	})

	key, value, _ := strings.Cut(testpeers.KwokNodeSelector, "=")
	for _, n := range cpNodes {
		apply(fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,"labels":{%q:%q,"disk":%q,"kubernetes.io/hostname":%q}},
"status":{"allocatable":{"cpu":%q,"memory":"8Gi","pods":"110"},"capacity":{"cpu":%q,"memory":"8Gi","pods":"110"}}}`,
			n.name, key, value, n.disk, n.name, n.cpu, n.cpu))
	}
	renewed := map[string]time.Time{}
	t.Run("kwok runs the nodes", func(t *testing.T) {
		for _, n := range cpNodes {
			testwait.Until(t, 30*time.Second, "kwok makes "+n.name+" Ready", func() bool {
				node, err := cs.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
				return err == nil && nodeReady(node)
			})
			testwait.Until(t, 30*time.Second, "kwok heartbeats "+n.name+" in kube-node-lease", func() bool {
				l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.name, metav1.GetOptions{})
				if err != nil || l.Spec.RenewTime == nil {
					return false
				}
				renewed[n.name] = l.Spec.RenewTime.Time
				return len(l.OwnerReferences) == 1 && l.OwnerReferences[0].Kind == "Node" && l.OwnerReferences[0].Name == n.name
			})
		}
	})
	if t.Failed() {
		return
	}

	apply(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":6,
"selector":{"matchLabels":{"app":"web"}},
"template":{"metadata":{"labels":{"app":"web"}},"spec":{"nodeSelector":{"disk":"ssd"},
"containers":[{"name":"web","image":"nginx","resources":{"requests":{"cpu":"500m"}}}]}}}}`)
	apply(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}`)
	kubectl("create", "job", "once", "--image=busybox")

	t.Run("deployment of 6 bound where it fits and Running", func(t *testing.T) {
		waitFor(t, 60*time.Second, "6 web pods bound and Running", func() (bool, string) {
			pods := listPods(ctx, t, cs, "default", "app=web")
			return len(pods) == 6 && allRunning(pods), describePods(pods)
		})
		pods := listPods(ctx, t, cs, "default", "app=web")
		perNode := map[string]int{}
		for _, pod := range pods {
			perNode[pod.Spec.NodeName]++
		}
		for _, n := range cpNodes {
			if perNode[n.name] != n.fits {
				t.Errorf("%s runs %d web pods, want %d (room for %s CPU, disk %s): %s", n.name, perNode[n.name], n.fits, n.cpu, n.disk, describePods(pods))
			}
		}
		rs, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs.Items) != 1 || len(rs.Items[0].OwnerReferences) != 1 || rs.Items[0].OwnerReferences[0].Name != "web" {
			t.Fatalf("the ReplicaSets of web: %+v", rs.Items)
		}
		for _, pod := range pods {
			if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != rs.Items[0].UID {
				t.Errorf("pod %s is owned by %+v, want ReplicaSet %s", pod.Name, pod.OwnerReferences, rs.Items[0].Name)
			}
		}
		testwait.Until(t, 30*time.Second, "the Deployment reports 6 available", func() bool {
			d, err := cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			return err == nil && d.Status.AvailableReplicas == 6 && d.Status.ObservedGeneration == d.Generation
		})
	})

	t.Run("a pod that fits nowhere stays Pending", func(t *testing.T) {
		apply(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"too-big"},"spec":{
"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"16"}}}]}}`)
		// The scheduler records events through events.k8s.io/v1 when
		// the server serves it, else as core/v1 Events (client-go's
		// EventBroadcasterAdapter); both are the same objects in
		// kube-apiserver, so the core view is the one to ask.
		var msg string
		testwait.Until(t, 30*time.Second, "a FailedScheduling event for too-big", func() bool {
			evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=too-big"})
			if err != nil {
				return false
			}
			for _, e := range evs.Items {
				if e.Reason == "FailedScheduling" && e.Type == corev1.EventTypeWarning {
					msg = e.Message
					return true
				}
			}
			return false
		})
		if !strings.Contains(msg, "Insufficient cpu") {
			t.Errorf("FailedScheduling says %q, want Insufficient cpu", msg)
		}
		pod, err := cs.CoreV1().Pods("default").Get(ctx, "too-big", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pod.Spec.NodeName != "" || pod.Status.Phase != corev1.PodPending || !podCondition(pod, corev1.PodScheduled, corev1.ConditionFalse, corev1.PodReasonUnschedulable) {
			t.Errorf("too-big: node %q phase %s conditions %+v, want Pending and Unschedulable", pod.Spec.NodeName, pod.Status.Phase, pod.Status.Conditions)
		}
	})

	t.Run("the Service gets EndpointSlices of the Running pods", func(t *testing.T) {
		waitEndpoints(ctx, t, cs, "web", "app=web", 6)
	})

	t.Run("scaling to 2 deletes 4 pods gracefully", func(t *testing.T) {
		before, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=web", ResourceVersion: before.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		kubectl("scale", "deployment", "web", "--replicas=2")
		// marked: the grace period each pod was marked with before it
		// went; gone: the pods deleted.
		marked, gone := map[string]int64{}, map[string]bool{}
		deadline := time.After(60 * time.Second)
		for len(gone) < 4 {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatalf("the pod watch ended; marked %v, gone %v", marked, gone)
				}
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod {
					t.Fatalf("pod watch: %s %#v", ev.Type, ev.Object)
				}
				if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
					if _, seen := marked[pod.Name]; !seen {
						marked[pod.Name] = *pod.DeletionGracePeriodSeconds
					}
				}
				if ev.Type == watch.Deleted {
					gone[pod.Name] = true
				}
			case <-deadline:
				t.Fatalf("not 4 pods deleted within 60s; marked %v, gone %v", marked, gone)
			}
		}
		for name := range gone {
			// Deleted by the ReplicaSet controller with the pod's own
			// terminationGracePeriodSeconds (30), then by kwok, the
			// "kubelet", with 0.
			if g, ok := marked[name]; !ok || g != 30 {
				t.Errorf("pod %s was deleted without being marked first with grace 30 (marked %v)", name, marked)
			}
		}
		testwait.Until(t, 30*time.Second, "2 web pods left, Running", func() bool {
			pods := listPods(ctx, t, cs, "default", "app=web")
			return len(pods) == 2 && allRunning(pods)
		})
		waitEndpoints(ctx, t, cs, "web", "app=web", 2)
	})

	t.Run("kwok renews the node leases", func(t *testing.T) {
		// kwok renews every quarter of --node-lease-duration-seconds
		// (40): within 10s and a jitter.
		for _, n := range cpNodes {
			testwait.Until(t, 30*time.Second, n.name+"'s lease renewed", func() bool {
				l, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.name, metav1.GetOptions{})
				return err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(renewed[n.name])
			})
		}
	})

	t.Run("deleting the Deployment deletes its ReplicaSet and pods", func(t *testing.T) {
		kubectl("delete", "deployment", "web")
		testwait.Until(t, 60*time.Second, "the garbage collector deletes web's ReplicaSet and pods", func() bool {
			rs, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			return err == nil && len(rs.Items) == 0 && len(listPods(ctx, t, cs, "default", "app=web")) == 0
		})
	})

	t.Run("deleting a namespace empties it", func(t *testing.T) {
		kubectl("create", "namespace", "doomed")
		kubectl("create", "-n", "doomed", "configmap", "c", "--from-literal=k=v")
		kubectl("create", "-n", "doomed", "deployment", "d", "--image=nginx", "--replicas=2")
		testwait.Until(t, 60*time.Second, "doomed's pods Running", func() bool {
			pods := listPods(ctx, t, cs, "doomed", "app=d")
			return len(pods) == 2 && allRunning(pods)
		})
		kubectl("delete", "namespace", "doomed", "--wait=false")
		testwait.Until(t, 90*time.Second, "the namespace controller empties and removes doomed", func() bool {
			_, err := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})

	t.Run("a Job runs to completion", func(t *testing.T) {
		waitJobComplete(ctx, t, cs, "once", 30*time.Second)
	})

	t.Run("the CronJob fires and its Job completes", func(t *testing.T) {
		// The next minute after the CronJob was made, plus the time to
		// run its Job.
		wait := time.Until(cronCreated.Truncate(time.Minute).Add(time.Minute)) + 30*time.Second
		var job string
		testwait.Until(t, wait, "a Job of the CronJob tick", func() bool {
			jobs, err := cs.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{})
			if err != nil {
				return false
			}
			for _, j := range jobs.Items {
				if len(j.OwnerReferences) == 1 && j.OwnerReferences[0].Kind == "CronJob" && j.OwnerReferences[0].Name == "tick" {
					job = j.Name
					return true
				}
			}
			return false
		})
		waitJobComplete(ctx, t, cs, job, 30*time.Second)
		testwait.Until(t, 30*time.Second, "the CronJob records its success", func() bool {
			cj, err := cs.BatchV1().CronJobs("default").Get(ctx, "tick", metav1.GetOptions{})
			return err == nil && cj.Status.LastScheduleTime != nil && cj.Status.LastSuccessfulTime != nil
		})
	})

	for _, c := range []*testpeers.Process{sched, kcm, kwok} {
		if c.Exited() {
			t.Errorf("%s exited during the test", c.Name)
		}
	}
	if t.Failed() {
		t.Logf("portico logs:\n%s", p.logs.String())
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podCondition(p *corev1.Pod, typ corev1.PodConditionType, status corev1.ConditionStatus, reason string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status == status && c.Reason == reason
		}
	}
	return false
}

// listPods lists the pods of a selector that are not being deleted.
func listPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, selector string) []corev1.Pod {
	t.Helper()
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Logf("list pods %s: %v", selector, err)
		return nil
	}
	var live []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live
}

func allRunning(pods []corev1.Pod) bool {
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return false
		}
	}
	return true
}

func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "%s on %q %s; ", p.Name, p.Spec.NodeName, p.Status.Phase)
	}
	return b.String()
}

// waitEndpoints waits until the EndpointSlices of a Service hold exactly
// the IPs of the Running pods of selector, all ready.
func waitEndpoints(ctx context.Context, t *testing.T, cs kubernetes.Interface, service, selector string, want int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("the EndpointSlices of %s hold %d ready pods", service, want), func() (bool, string) {
		var ips []string
		for _, p := range listPods(ctx, t, cs, "default", selector) {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				ips = append(ips, p.Status.PodIP)
			}
		}
		slices.Sort(ips)
		eps, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, s := range eps.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					got = append(got, e.Addresses...)
				}
			}
		}
		slices.Sort(got)
		return len(ips) == want && slices.Equal(ips, got), fmt.Sprintf("pods %v, endpoints %v", ips, got)
	})
}

func waitJobComplete(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "Job "+name+" complete", func() (bool, string) {
		j, err := cs.BatchV1().Jobs("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		last := fmt.Sprintf("succeeded %d, conditions %+v", j.Status.Succeeded, j.Status.Conditions)
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
				return j.Status.Succeeded == 1, last
			}
		}
		return false, last
	})
}

// waitFor is testwait.Until with what the condition last saw, logged
// when it never held.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("%s: last seen: %s", what, last)
		}
	}()
	testwait.Until(t, timeout, what, func() bool {
		ok, seen := cond()
		last = seen
		return ok
	})
}
