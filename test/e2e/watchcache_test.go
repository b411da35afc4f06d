package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// TestWatchCache: the REST surface is the same with the watch cache as
// without it: a write is seen by the next read on either port, also a
// write made straight to etcd; a watch resumes from every
// resourceVersion it handed out; paged lists keep their snapshot.
func TestWatchCache(t *testing.T) {
	for name, flag := range map[string]string{"with the cache": "--watch-cache=true", "without the cache": "--watch-cache=false"} {
		t.Run(name, func(t *testing.T) {
			p := startPortico(t, flag, "--default-watch-cache-size", "50")
			base := p.insecureURL() + "/api/v1/namespaces/wc"
			p.mustKubectlIn(t, "", "create", "namespace", "wc")
			value := func(get func(t *testing.T, args ...string) result) string {
				t.Helper()
				r := get(t, "get", "configmap", "c", "-n", "wc", "-o", "jsonpath={.data.v}")
				if r.err != nil {
					t.Fatalf("kubectl get: %s", r)
				}
				return r.stdout
			}

			t.Run("a write is read back at once on either port", func(t *testing.T) {
				p.mustKubectlIn(t, "", "create", "configmap", "c", "-n", "wc", "--from-literal=v=start")
				for i := range 5 {
					want := fmt.Sprint("v", i)
					p.mustKubectlIn(t, "", "patch", "configmap", "c", "-n", "wc", "-p", `{"data":{"v":"`+want+`"}}`)
					if got := value(p.kubectlSecure); got != want {
						t.Fatalf("secure port after write %d: %q", i, got)
					}
					if got := value(p.kubectl); got != want {
						t.Fatalf("insecure port after write %d: %q", i, got)
					}
				}
			})

			t.Run("a write straight to etcd is read back at once", func(t *testing.T) {
				// The api's own store on the api's etcd client: the
				// write bypasses the api (and its cache) altogether.
				s := storage.NewStore(dialEtcd(t, p, "api"), "/registry/configmaps/", func() *corev1.ConfigMap { return new(corev1.ConfigMap) })
				for i := range 5 {
					want := fmt.Sprint("etcd", i)
					cm, err := s.Get(t.Context(), "wc", "c")
					if err != nil {
						t.Fatal(err)
					}
					cm.Data = map[string]string{"v": want}
					if _, err := s.Update(t.Context(), "wc", "c", cm); err != nil {
						t.Fatal(err)
					}
					code, _, body := httpDo(t, http.DefaultClient, "GET", base+"/configmaps/c", "", "")
					if got := jsonStr(decodeJSON(t, body), "data", "v"); code != http.StatusOK || got != want {
						t.Fatalf("GET after write %d to etcd: %d %q", i, code, got)
					}
					code, _, body = httpDo(t, http.DefaultClient, "GET", base+"/configmaps?fieldSelector=metadata.name%3Dc", "", "")
					if got := jsonStr(jsonAt(decodeJSON(t, body), "items", 0), "data", "v"); code != http.StatusOK || got != want {
						t.Fatalf("LIST after write %d to etcd: %d %q", i, code, got)
					}
				}
			})

			t.Run("a watch resumes from every resourceVersion", func(t *testing.T) {
				p.mustKubectlIn(t, "", "create", "configmap", "r-start", "-n", "wc")
				from := jsonStr(p.getJSON(t, "configmap", "r-start", "-n", "wc"), "metadata", "resourceVersion")
				p.mustKubectlIn(t, "", "create", "configmap", "r", "-n", "wc", "--from-literal=n=0")
				for i := 1; i <= 3; i++ {
					p.mustKubectlIn(t, "", "patch", "configmap", "r", "-n", "wc", "-p", fmt.Sprintf(`{"data":{"n":"%d"}}`, i))
				}
				p.mustKubectlIn(t, "", "delete", "configmap", "r", "-n", "wc")
				watch := base + "/configmaps?watch=true&fieldSelector=metadata.name%3Dr&resourceVersion="
				all := describeEvents(readWatch(t, watch+from, 5))
				if want := []string{"ADDED n=0", "MODIFIED n=1", "MODIFIED n=2", "MODIFIED n=3", "DELETED n=3"}; !slices.Equal(eventKinds(all), want) {
					t.Fatalf("watch from %s: %v, want %v", from, all, want)
				}
				for i := range len(all) - 1 {
					rv := strings.Fields(all[i])[0]
					if got := describeEvents(readWatch(t, watch+rv, len(all)-i-1)); !slices.Equal(got, all[i+1:]) {
						t.Errorf("watch from %s: %v, want %v", rv, got, all[i+1:])
					}
				}
				last := strings.Fields(all[len(all)-1])[0]
				if code, events := watchOnce(t, watch+last+"&timeoutSeconds=1"); code != http.StatusOK || len(events) != 0 {
					t.Errorf("watch from the last resourceVersion %s: %d %v", last, code, events)
				}
			})

			t.Run("kubectl watches", func(t *testing.T) {
				w := p.watchKubectl(t, "configmaps", "-n", "wc")
				p.mustKubectlIn(t, "", "create", "configmap", "kw", "-n", "wc")
				p.mustKubectlIn(t, "", "delete", "configmap", "kw", "-n", "wc")
				w.waitOutput(t, "kubectl printing the create and the delete", func(stdout, _ string) bool {
					return isSubsequence([]string{"ADDED", "DELETED"}, watchEvents(stdout, "kw"))
				})
			})

			t.Run("resourceVersion 0", func(t *testing.T) {
				// Any state may answer, at once; a watch from it follows.
				p.mustKubectlIn(t, "", "create", "configmap", "z", "-n", "wc")
				code, _, body := httpDo(t, http.DefaultClient, "GET", base+"/configmaps?resourceVersion=0", "", "")
				if code != http.StatusOK {
					t.Fatalf("list from resourceVersion 0: %d %s", code, body)
				}
				rv := jsonStr(decodeJSON(t, body), "metadata", "resourceVersion")
				p.mustKubectlIn(t, "", "label", "configmap", "z", "-n", "wc", "x=1")
				events := readWatch(t, base+"/configmaps?watch=true&fieldSelector=metadata.name%3Dz&resourceVersion="+rv, 1)
				if typ := jsonStr(events[0], "type"); typ != "MODIFIED" && typ != "ADDED" {
					t.Errorf("watch from the list's %s: %v", rv, events)
				}
			})

			t.Run("a paged list keeps its snapshot", func(t *testing.T) {
				for i := range 4 {
					p.mustKubectlIn(t, "", "create", "configmap", fmt.Sprint("page", i), "-n", "wc", "--from-literal=v=old")
				}
				list := base + "/configmaps?labelSelector=&fieldSelector=&limit=2"
				_, _, body := httpDo(t, http.DefaultClient, "GET", list, "", "")
				first := decodeJSON(t, body)
				names := itemNames(first)
				cont := jsonStr(first, "metadata", "continue")
				// Written after the first page: not in the later pages.
				p.mustKubectlIn(t, "", "create", "configmap", "page-late", "-n", "wc")
				p.mustKubectlIn(t, "", "patch", "configmap", "page3", "-n", "wc", "-p", `{"data":{"v":"new"}}`)
				for cont != "" {
					code, _, body := httpDo(t, http.DefaultClient, "GET", list+"&continue="+url.QueryEscape(cont), "", "")
					if code != http.StatusOK {
						t.Fatalf("next page: %d %s", code, body)
					}
					page := decodeJSON(t, body)
					if rv := jsonStr(page, "metadata", "resourceVersion"); rv != jsonStr(first, "metadata", "resourceVersion") {
						t.Errorf("a page at %s, the first at %s", rv, jsonStr(first, "metadata", "resourceVersion"))
					}
					for _, it := range jsonAt(page, "items").([]any) {
						if v := jsonStr(it, "data", "v"); jsonStr(it, "metadata", "name") == "page3" && v != "old" {
							t.Errorf("page3 on a later page: v=%s, want the snapshot's old", v)
						}
					}
					names = append(names, itemNames(page)...)
					cont = jsonStr(page, "metadata", "continue")
				}
				if slices.Contains(names, "page-late") || !slices.Contains(names, "page3") {
					t.Errorf("pages: %v", names)
				}
			})
		})
	}
}

// describeEvents is "<resourceVersion> <type> n=<data.n>" for each event.
func describeEvents(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = fmt.Sprintf("%s %s n=%s", jsonStr(ev, "object", "metadata", "resourceVersion"), jsonStr(ev, "type"), jsonStr(ev, "object", "data", "n"))
	}
	return out
}

// eventKinds drops the resourceVersions of describeEvents.
func eventKinds(described []string) []string {
	out := make([]string, len(described))
	for i, d := range described {
		out[i] = strings.SplitN(d, " ", 2)[1]
	}
	return out
}
