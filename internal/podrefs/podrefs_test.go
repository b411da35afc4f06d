package podrefs

import (
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func pod(t testing.TB, js string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{}
	if err := protojson.Unmarshal([]byte(js), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// web uses one object of each kind, in every way a spec can name it.
const web = `{"metadata":{"namespace":"demo","name":"web"},"spec":{
  "nodeName":"node-1","serviceAccountName":"web-sa",
  "imagePullSecrets":[{"name":"pull"}],
  "volumes":[
    {"name":"a","volumeSource":{"secret":{"secretName":"vol-secret"}}},
    {"name":"b","volumeSource":{"configMap":{"localObjectReference":{"name":"vol-cm"}}}},
    {"name":"c","volumeSource":{"projected":{"sources":[
      {"secret":{"localObjectReference":{"name":"proj-secret"}}},
      {"configMap":{"localObjectReference":{"name":"proj-cm"}}}]}}},
    {"name":"d","volumeSource":{"persistentVolumeClaim":{"claimName":"data"}}},
    {"name":"e","volumeSource":{"csi":{"driver":"x","nodePublishSecretRef":{"name":"csi-secret"}}}},
    {"name":"f","volumeSource":{"ephemeral":{}}},
    {"name":"g","volumeSource":{"cephfs":{"secretRef":{"name":"ceph-secret"}}}}],
  "initContainers":[{"name":"i","envFrom":[{"secretRef":{"localObjectReference":{"name":"init-env"}}}]}],
  "containers":[{"name":"c","env":[
    {"name":"X","valueFrom":{"secretKeyRef":{"localObjectReference":{"name":"env-secret"},"key":"k"}}},
    {"name":"Y","valueFrom":{"configMapKeyRef":{"localObjectReference":{"name":"env-cm"},"key":"k"}}}],
    "envFrom":[{"configMapRef":{"localObjectReference":{"name":"envfrom-cm"}}}]}]}}`

func TestOf(t *testing.T) {
	got := map[Ref]bool{}
	for _, r := range Of(pod(t, web)) {
		got[r] = true
	}
	want := []Ref{
		{Pods, "demo", "web"}, {ServiceAccounts, "demo", "web-sa"},
		{Secrets, "demo", "pull"}, {Secrets, "demo", "vol-secret"}, {Secrets, "demo", "proj-secret"},
		{Secrets, "demo", "csi-secret"}, {Secrets, "demo", "ceph-secret"}, {Secrets, "demo", "init-env"},
		{Secrets, "demo", "env-secret"},
		{ConfigMaps, "demo", "vol-cm"}, {ConfigMaps, "demo", "proj-cm"}, {ConfigMaps, "demo", "env-cm"},
		{ConfigMaps, "demo", "envfrom-cm"},
		{PersistentVolumeClaims, "demo", "data"}, {PersistentVolumeClaims, "demo", "web-f"},
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %v", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d refs, want %d: %v", len(got), len(want), got)
	}
	if refs := Of(pod(t, `{"metadata":{"namespace":"n","name":"p"},"spec":{}}`)); len(refs) != 2 || refs[1] != (Ref{ServiceAccounts, "n", "default"}) {
		t.Errorf("a pod with no service account uses default: %v", refs)
	}
}
