package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portico-dev/portico/internal/testwait"
)

// TestClientGo drives Portico with client-go: a typed clientset over the
// secure port (admin kubeconfig, protobuf as client-go sends it by
// default) and a shared informer that must see adds, updates and deletes.
func TestClientGo(t *testing.T) {
	p := startPortico(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, ct := range map[string]string{"json": "application/json", "protobuf": "application/vnd.kubernetes.protobuf"} {
		t.Run(name, func(t *testing.T) {
			c := *cfg
			c.ContentType = ct
			clientGoCRUD(t, &c, "cg-"+name)
		})
	}
	t.Run("informer", func(t *testing.T) { clientGoInformer(t, cfg) })
	t.Run("discovery and openapi", func(t *testing.T) { clientGoDiscovery(t, cfg) })
}

// clientGoDiscovery reads discovery and both OpenAPI documents the way
// client-go's discovery client does (v2 as gnostic protobuf).
func clientGoDiscovery(t *testing.T, cfg *rest.Config) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	found := map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			found[l.GroupVersion+"/"+r.Name] = true
		}
	}
	for _, want := range []string{"v1/pods", "v1/configmaps", "v1/namespaces", "rbac.authorization.k8s.io/v1/roles"} {
		if !found[want] {
			t.Errorf("discovery lacks %s", want)
		}
	}
	v2, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("openapi v2: %v", err)
	}
	var pod bool
	for _, d := range v2.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.core.v1.Pod" {
			pod = true
		}
	}
	if !pod {
		t.Error("openapi v2 has no io.k8s.api.core.v1.Pod definition")
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatalf("openapi v3: %v", err)
	}
	gv, ok := paths["api/v1"]
	if !ok {
		t.Fatalf("openapi v3 paths: %v", paths)
	}
	if b, err := gv.Schema("application/json"); err != nil || !strings.Contains(string(b), `"io.k8s.api.core.v1.Pod"`) {
		t.Errorf("openapi v3 api/v1: %v", err)
	}
}

func clientGoCRUD(t *testing.T, cfg *rest.Config, ns string) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	cms := cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Labels: map[string]string{"tier": "web"}},
		Data:       map[string]string{"color": "blue"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
		t.Errorf("server fields missing: %+v", cm.ObjectMeta)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create: %v", err)
	}
	cm.Data["color"] = "green"
	updated, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v", err)
	}
	patched, err := cms.Patch(ctx, "app", types.MergePatchType, []byte(`{"data":{"size":"3"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("merge patch: %v", err)
	}
	if patched.Data["color"] != "green" || patched.Data["size"] != "3" || patched.ResourceVersion == updated.ResourceVersion {
		t.Errorf("after patch: %+v", patched)
	}
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "tier=web"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list by label: %v, %v", list, err)
	}
	if list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "tier=db"}); err != nil || len(list.Items) != 0 {
		t.Errorf("list by another label: %v, %v", list, err)
	}
	if err := cms.Delete(ctx, "app", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := cms.Get(ctx, "app", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: %v", err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete namespace: %v", err)
	}
}

func clientGoInformer(t *testing.T, cfg *rest.Config) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "inf"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace("inf"))
	inf := factory.Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	var seen []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s)
	}
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { record("add " + o.(*corev1.ConfigMap).Name) },
		UpdateFunc: func(_, n any) {
			cm := n.(*corev1.ConfigMap)
			record(fmt.Sprintf("update %s %s", cm.Name, cm.Data["v"]))
		},
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			record("delete " + o.(*corev1.ConfigMap).Name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	cms := cs.CoreV1().ConfigMaps("inf")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["v"] = "2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add watched", "update watched 2", "delete watched"}
	testwait.Until(t, 20*time.Second, fmt.Sprintf("the informer to see %v", want), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(seen) == fmt.Sprint(want)
	})
}
