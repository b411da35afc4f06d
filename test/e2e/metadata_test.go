package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portico-dev/portico/internal/testwait"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// TestMetadataOnly drives the metadata-only answers the garbage collector
// and metadata informers read: client-go's metadata client and informer,
// raw requests in JSON and protobuf, 406 for what cannot be produced, and
// the gRPC form.
func TestMetadataOnly(t *testing.T) {
	p := startPortico(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "meta"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 4096)
	for _, name := range []string{"one", "two"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "meta"}}, Data: map[string]string{"big": big}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("metadata informer", func(t *testing.T) { metadataInformer(t, ctx, cfg, cs) })
	t.Run("metadata client", func(t *testing.T) {
		mc, err := metadata.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := mc.Resource(configMapsGVR).Namespace(ns).Get(ctx, "one", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "one" || got.Labels["app"] != "meta" || got.UID == "" {
			t.Errorf("get: %+v", got.ObjectMeta)
		}
		list, err := mc.Resource(configMapsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 2 || list.ResourceVersion == "" {
			t.Errorf("list: %d items, resourceVersion %q", len(list.Items), list.ResourceVersion)
		}
	})

	hc := p.secureClient(t, p.pki("admin.crt"), p.pki("admin.key"))
	get := func(t *testing.T, path, accept string) (int, string, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.secureURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	const (
		item = "/api/v1/namespaces/" + ns + "/configmaps/one"
		coll = "/api/v1/namespaces/" + ns + "/configmaps"
	)
	t.Run("json", func(t *testing.T) {
		tests := map[string]struct {
			path, accept, kind string
			items              int
		}{
			"get":  {path: item, accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", kind: "PartialObjectMetadata"},
			"list": {path: coll, accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", kind: "PartialObjectMetadataList", items: 2},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				code, ct, body := get(t, tc.path, tc.accept)
				if code != http.StatusOK || ct != "application/json" {
					t.Fatalf("%d %s: %s", code, ct, body)
				}
				if strings.Contains(string(body), big) {
					t.Error("the answer holds the configmap's data")
				}
				var got struct {
					Kind, APIVersion string
					Items            []metav1.PartialObjectMetadata
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				if got.Kind != tc.kind || got.APIVersion != "meta.k8s.io/v1" || len(got.Items) != tc.items {
					t.Errorf("got %s %s with %d items: %s", got.APIVersion, got.Kind, len(got.Items), body)
				}
				for _, it := range got.Items {
					if it.Kind != "PartialObjectMetadata" || it.APIVersion != "meta.k8s.io/v1" || it.Name == "" {
						t.Errorf("item %+v", it)
					}
				}
			})
		}
	})
	t.Run("protobuf", func(t *testing.T) {
		tests := map[string]struct {
			path, accept, kind string
			into               interface{ Unmarshal([]byte) error }
		}{
			"get":  {path: item, accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", kind: "PartialObjectMetadata", into: &metav1.PartialObjectMetadata{}},
			"list": {path: coll, accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json", kind: "PartialObjectMetadataList", into: &metav1.PartialObjectMetadataList{}},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				code, ct, body := get(t, tc.path, tc.accept)
				if code != http.StatusOK || ct != "application/vnd.kubernetes.protobuf" || !strings.HasPrefix(string(body), "k8s\x00") {
					t.Fatalf("%d %s: %q", code, ct, body)
				}
				// apimachinery's own types read it: the envelope, then the object.
				var u runtime.Unknown
				if err := u.Unmarshal(body[4:]); err != nil {
					t.Fatal(err)
				}
				if u.Kind != tc.kind || u.APIVersion != "meta.k8s.io/v1" {
					t.Fatalf("envelope %s %s", u.APIVersion, u.Kind)
				}
				if err := tc.into.Unmarshal(u.Raw); err != nil {
					t.Fatal(err)
				}
				switch got := tc.into.(type) {
				case *metav1.PartialObjectMetadata:
					if got.Name != "one" || got.Labels["app"] != "meta" {
						t.Errorf("decoded %+v", got.ObjectMeta)
					}
				case *metav1.PartialObjectMetadataList:
					if len(got.Items) != 2 || got.Items[1].Name != "two" || got.ResourceVersion == "" {
						t.Errorf("decoded %+v", got)
					}
				}
			})
		}
	})
	t.Run("not acceptable", func(t *testing.T) {
		tests := map[string]struct {
			path, accept, message string
		}{
			"unknown as":     {path: coll, accept: "application/json;as=Foo;g=meta.k8s.io;v=v1", message: "only the following media types are accepted: application/json, application/vnd.kubernetes.protobuf"},
			"unknown group":  {path: item, accept: "application/json;as=PartialObjectMetadata;g=example.com;v=v1", message: "only the following media types are accepted"},
			"list as object": {path: coll, accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1", message: "you requested PartialObjectMetadata, but the requested object is a list (*v1.ConfigMapList)"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				code, _, body := get(t, tc.path, tc.accept)
				var st metav1.Status
				if err := json.Unmarshal(body, &st); err != nil {
					t.Fatal(err)
				}
				if code != http.StatusNotAcceptable || st.Kind != "Status" || st.Reason != metav1.StatusReasonNotAcceptable || st.Code != 406 || !strings.HasPrefix(st.Message, tc.message) {
					t.Errorf("%d %s", code, body)
				}
			})
		}
	})
	t.Run("tables still", func(t *testing.T) {
		for _, accept := range []string{
			"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
			"application/json;as=Table;v=v1beta1;g=meta.k8s.io",
			"application/json;as=Foo;g=meta.k8s.io;v=v1, application/json;as=Table;v=v1;g=meta.k8s.io",
		} {
			code, _, body := get(t, coll, accept)
			if code != http.StatusOK || !strings.Contains(string(body), `"kind":"Table"`) {
				t.Errorf("Accept %s: %d %s", accept, code, body)
			}
		}
	})
	t.Run("grpc", func(t *testing.T) {
		r := p.grpcurl(t, p.pki("admin.crt"), p.pki("admin.key"), "-d", `{"namespace":"meta","metadataOnly":true}`, p.apiAddr(), "portico.core.v1.ConfigMapService/ListConfigMaps")
		if r.err != nil {
			t.Fatal(r)
		}
		if !strings.Contains(r.stdout, `"partialObjectMetadataItems"`) || strings.Contains(r.stdout, big) {
			t.Errorf("grpcurl: %s", r.stdout)
		}
	})
}

// metadataInformer: a metadata informer (protobuf list and watch of
// PartialObjectMetadata) sees a configmap's add, update and delete.
func metadataInformer(t *testing.T, ctx context.Context, cfg *rest.Config, cs kubernetes.Interface) {
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	factory := metadatainformer.NewFilteredSharedInformerFactory(mc, 0, "meta", nil)
	inf := factory.ForResource(configMapsGVR).Informer()
	var mu sync.Mutex
	var seen []string
	record := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s)
	}
	name := func(o any) string {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		m := o.(*metav1.PartialObjectMetadata)
		return m.Name
	}
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if name(o) == "watched" {
				record("add watched")
			}
		},
		UpdateFunc: func(_, n any) {
			if m := n.(*metav1.PartialObjectMetadata); m.Name == "watched" {
				record("update watched " + m.Labels["v"])
			}
		},
		DeleteFunc: func(o any) {
			if name(o) == "watched" {
				record("delete watched")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("metadata informer did not sync")
	}
	if n := len(inf.GetStore().List()); n != 2 {
		t.Errorf("the informer lists %d configmaps, want 2", n)
	}
	cms := cs.CoreV1().ConfigMaps("meta")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "watched", Labels: map[string]string{"v": "1"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Labels["v"] = "2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "watched", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]string{"add watched", "update watched 2", "delete watched"})
	testwait.Until(t, 20*time.Second, "the metadata informer to see "+want, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(seen) == want
	})
}

// TestWatchBookmarks: a watch with allowWatchBookmarks gets BOOKMARK
// events every --watch-bookmark-interval (typed and metadata-only, the
// latter in protobuf), never older than the events before them.
func TestWatchBookmarks(t *testing.T) {
	p := startPortico(t, "--watch-bookmark-interval", "500ms")
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bm"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	timeout := int64(30)
	opts := metav1.ListOptions{AllowWatchBookmarks: true, ResourceVersion: created.ResourceVersion, TimeoutSeconds: &timeout}
	tests := map[string]func() (watch.Interface, error){
		"typed": func() (watch.Interface, error) { return cs.CoreV1().ConfigMaps("default").Watch(ctx, opts) },
		"metadata": func() (watch.Interface, error) {
			return mc.Resource(configMapsGVR).Namespace("default").Watch(ctx, opts)
		},
	}
	for name, start := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := start()
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			last := parseRV(t, created.ResourceVersion)
			bookmarks := 0
			deadline := time.After(15 * time.Second)
			for bookmarks < 3 {
				select {
				case <-deadline:
					t.Fatalf("%d bookmarks in 15s, want 3", bookmarks)
				case ev, ok := <-w.ResultChan():
					if !ok {
						t.Fatal("the watch ended")
					}
					m, err := metaAccessor(ev.Object)
					if err != nil {
						t.Fatalf("%s event: %v", ev.Type, err)
					}
					rv := parseRV(t, m.GetResourceVersion())
					switch ev.Type {
					case watch.Bookmark:
						bookmarks++
						if rv < last {
							t.Errorf("bookmark at %d, older than the event at %d before it", rv, last)
						}
						if bookmarks == 1 {
							if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bm-" + name}}, metav1.CreateOptions{}); err != nil {
								t.Fatal(err)
							}
						}
					default:
						last = max(last, rv)
					}
				}
			}
		})
	}
}

func metaAccessor(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", o)
	}
	return m, nil
}

func parseRV(t *testing.T, rv string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(rv, &n); err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}

// TestExplainDescriptions: kubectl explain prints the fields'
// descriptions, as against kube-apiserver.
func TestExplainDescriptions(t *testing.T) {
	p := startPortico(t)
	tests := map[string]struct {
		field string
		want  []string
	}{
		"containers": {field: "pod.spec.containers", want: []string{
			"FIELD: containers <[]Container>",
			"List of containers belonging to the pod. Containers cannot currently be\n    added or removed.",
			"A single application container that you want to run within a pod.",
			"image\t<string>\n    Container image name.",
		}},
		"image": {field: "pod.spec.containers.image", want: []string{
			"Container image name. More info:\n    https://kubernetes.io/docs/concepts/containers/images This field is optional",
		}},
		"configmap": {field: "configmap", want: []string{"ConfigMap holds configuration data for pods to consume.", "apiVersion\t<string>\n    APIVersion defines the versioned schema"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := p.mustKubectl(t, "explain", tc.field)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("kubectl explain %s lacks %q:\n%s", tc.field, w, out)
				}
			}
		})
	}
}
