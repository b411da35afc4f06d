package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/testpeers"
)

// TestGroupsMatchKubeAPIServer: every resource Portico serves is
// discovered as a real kube-apiserver v1.37.2 discovers it, side by side
// in one run: its kind, scope, singular name, short names, categories,
// verbs and subresources (those Portico serves).
func TestGroupsMatchKubeAPIServer(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	kube := testpeers.StartKubeAPIServer(t, etcd)
	p := startPortico(t)
	kubeClient := kube.Client(t)

	discover := func(c *http.Client, base, groupVersion string) map[string]metav1.APIResource {
		t.Helper()
		path := "/apis/" + groupVersion
		if !strings.Contains(groupVersion, "/") {
			path = "/api/" + groupVersion
		}
		code, _, body := httpDo(t, c, "GET", base+path, "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s%s: %d %s", base, path, code, body)
		}
		var list metav1.APIResourceList
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]metav1.APIResource{}
		for _, r := range list.APIResources {
			out[r.Name] = r
		}
		return out
	}
	type key struct{ gv string }
	ours, theirs := map[key]map[string]metav1.APIResource{}, map[key]map[string]metav1.APIResource{}
	compared := 0
	for _, row := range resources.All() {
		gv := row.Version
		if row.Group != "" {
			gv = row.Group + "/" + row.Version
		}
		k := key{gv}
		if ours[k] == nil {
			ours[k] = discover(http.DefaultClient, p.insecureURL(), gv)
			theirs[k] = discover(kubeClient, kube.URL, gv)
		}
		mine, ok := ours[k][row.Resource]
		if !ok {
			t.Errorf("%s %s: not in Portico's discovery", gv, row.Resource)
			continue
		}
		real, ok := theirs[k][row.Resource]
		if !ok {
			t.Errorf("%s %s: kube-apiserver does not serve it", gv, row.Resource)
			continue
		}
		describe := func(r metav1.APIResource) string {
			verbs := slices.Sorted(slices.Values(r.Verbs))
			return fmt.Sprintf("kind=%s namespaced=%v singular=%s short=%v categories=%v verbs=%v", r.Kind, r.Namespaced, r.SingularName, r.ShortNames, r.Categories, verbs)
		}
		compared++
		if got, want := describe(mine), describe(real); got != want {
			t.Errorf("%s %s:\n portico        %s\n kube-apiserver %s", gv, row.Resource, got, want)
		}
		for _, sub := range row.Subresources {
			if _, ok := theirs[k][row.Resource+"/"+sub]; !ok {
				t.Errorf("%s %s/%s: kube-apiserver has no such subresource", gv, row.Resource, sub)
			}
			if _, ok := ours[k][row.Resource+"/"+sub]; !ok {
				t.Errorf("%s %s/%s: not in Portico's discovery", gv, row.Resource, sub)
			}
		}
	}
	if compared != len(resources.All()) {
		t.Errorf("compared %d resources, want every one of the table's %d", compared, len(resources.All()))
	}
	t.Logf("%d resources in %d group versions discovered as kube-apiserver does", compared, len(ours))
}
