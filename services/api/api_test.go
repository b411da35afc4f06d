package api

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/etcd"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/respmeta"
	"github.com/portico-dev/portico/internal/svcauth"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
)

// The engine's tests run the real Service over an in-process gRPC
// connection against an embedded etcd, without the authentication and
// authorization interceptors (those are tested on their own below).

var testEtcd *clientv3.Client

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "portico-api-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	e, err := etcd.StartEmbedded(ctx, etcd.EmbeddedOptions{DataDir: filepath.Join(dir, "etcd")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	if testEtcd, err = etcd.NewClient(ctx, etcd.ClientOptions{Endpoints: e.Endpoints()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testEtcd.Close()
	return m.Run()
}

type nopAuthn struct{}

func (nopAuthn) Authenticate(context.Context, string, []*x509.Certificate) (*authnv1.UserInfo, error) {
	return nil, apierrors.Unauthorized("Unauthorized")
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, *authnv1.UserInfo, *authzv1.Attributes) error { return nil }

// clients are the typed clients of one test's in-process api.
type clients struct {
	ns   corev1.NamespaceServiceClient
	cm   corev1.ConfigMapServiceClient
	pods corev1.PodServiceClient
	svc  *Service
	// conn reaches every other kind's service.
	conn *grpc.ClientConn
}

func newAPI(t *testing.T) clients {
	t.Helper()
	return newAPIWith(t, nopAuthn{})
}

// newAPIWith is newAPI with authn's stand-in a.
func newAPIWith(t *testing.T, a Authenticator) clients {
	t.Helper()
	return newAPIOptions(t, a, Options{})
}

// newAPIOptions is newAPIWith with options.
func newAPIOptions(t *testing.T, a Authenticator, o Options) clients {
	t.Helper()
	s, err := New(Deps{
		Etcd: testEtcd, Authn: a, Authz: allowAll{}, Verifier: svcauth.NewVerifier(x509.NewCertPool()),
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		JSON:    kjson.New(kjson.WithTypes(kjson.KubernetesTypes())),
		Options: o,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	if err := s.Register(srv); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.EnsureSystemNamespaces(ctx); err != nil {
		t.Fatal(err)
	}
	return clients{
		ns: corev1.NewNamespaceServiceClient(conn), cm: corev1.NewConfigMapServiceClient(conn),
		pods: corev1.NewPodServiceClient(conn), svc: s, conn: conn,
	}
}

func reason(err error) apierrors.Reason { return apierrors.ReasonOf(err) }

// newNamespace creates a namespace named after the test.
func newNamespace(t *testing.T, c clients) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	name = strings.Trim(name, "-")
	_, err := c.ns.CreateNamespace(t.Context(), &corev1.CreateNamespaceRequest{Namespace: &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: name}}})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

func configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: name}, Data: data}
}

func TestConfigMapLifecycle(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	created, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("a", map[string]string{"k": "v"})})
	if err != nil {
		t.Fatal(err)
	}
	m := created.GetConfigMap().GetMetadata()
	if m.GetUid() == "" || m.GetResourceVersion() == "" || m.GetCreationTimestamp() == nil || m.GetNamespace() != ns {
		t.Fatalf("server-set metadata: %+v", m)
	}
	steps := map[string]struct {
		call func() error
		want apierrors.Reason
	}{
		"create again": {func() error {
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("a", nil)})
			return err
		}, apierrors.ReasonAlreadyExists},
		"stale update": {func() error {
			stale := configMap("a", map[string]string{"k": "w"})
			stale.Metadata.ResourceVersion = "1"
			_, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "a", ConfigMap: stale})
			return err
		}, apierrors.ReasonConflict},
		"update of another name": {func() error {
			_, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "b", ConfigMap: configMap("a", nil)})
			return err
		}, apierrors.ReasonBadRequest},
		"get missing": {func() error {
			_, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "nope"})
			return err
		}, apierrors.ReasonNotFound},
		"create in a missing namespace": {func() error {
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: "no-such-ns", ConfigMap: configMap("a", nil)})
			return err
		}, apierrors.ReasonNotFound},
		"invalid name": {func() error {
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("Bad_Name", nil)})
			return err
		}, apierrors.ReasonInvalid},
		"invalid data key": {func() error {
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("k", map[string]string{"a b": "x"})})
			return err
		}, apierrors.ReasonInvalid},
		"namespace mismatch": {func() error {
			cm := configMap("m", nil)
			cm.Metadata.Namespace = "other"
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm})
			return err
		}, apierrors.ReasonBadRequest},
		"resourceVersion on create": {func() error {
			cm := configMap("rv", nil)
			cm.Metadata.ResourceVersion = "5"
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm})
			return err
		}, apierrors.ReasonBadRequest},
		"unknown dry run": {func() error {
			_, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("d", nil), DryRun: []string{"Some"}})
			return err
		}, apierrors.ReasonBadRequest},
	}
	for name, st := range steps {
		t.Run(name, func(t *testing.T) {
			if got := reason(st.call()); got != st.want {
				t.Fatalf("reason = %q, want %q", got, st.want)
			}
		})
	}
	t.Run("generateName", func(t *testing.T) {
		cm := &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{GenerateName: "gen-"}}
		out, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm})
		if err != nil || !strings.HasPrefix(out.GetConfigMap().GetMetadata().GetName(), "gen-") || len(out.GetConfigMap().GetMetadata().GetName()) != 9 {
			t.Fatalf("generateName: %v %v", out, err)
		}
	})
	t.Run("dry run stores nothing", func(t *testing.T) {
		if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("dry", nil), DryRun: []string{"All"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "dry"}); reason(err) != apierrors.ReasonNotFound {
			t.Fatalf("dry-run object stored: %v", err)
		}
	})
	t.Run("update keeps server fields", func(t *testing.T) {
		up := configMap("a", map[string]string{"k": "v2"})
		out, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: "a", ConfigMap: up})
		if err != nil {
			t.Fatal(err)
		}
		om := out.GetConfigMap().GetMetadata()
		if om.GetUid() != m.GetUid() || !om.GetCreationTimestamp().AsTime().Equal(m.GetCreationTimestamp().AsTime()) || om.GetResourceVersion() == m.GetResourceVersion() {
			t.Fatalf("after update: %+v (was %+v)", om, m)
		}
	})
	t.Run("delete answers a Status", func(t *testing.T) {
		out, err := c.cm.DeleteConfigMap(ctx, &corev1.DeleteConfigMapRequest{Namespace: ns, Name: "a"})
		if err != nil || out.GetStatus().GetStatus() != "Success" || out.GetStatus().GetDetails().GetName() != "a" || out.GetConfigMap() != nil {
			t.Fatalf("delete: %v %v", out, err)
		}
	})
}

func TestPatch(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	pod := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "x"}}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{
		{Name: "a", Image: "img:1"}, {Name: "b", Image: "img:1"},
	}}}
	if _, err := c.pods.CreatePod(ctx, &corev1.CreatePodRequest{Namespace: ns, Pod: pod}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		patchType, patch string
		validation       string
		want             func(*corev1.Pod) bool
		wantWarning      string
		wantReason       apierrors.Reason
	}{
		"strategic merges containers by name": {patchType: patchpkg.Strategic,
			patch: `{"spec":{"containers":[{"name":"b","image":"img:2"}]}}`,
			want: func(p *corev1.Pod) bool {
				cs := p.GetSpec().GetContainers()
				return len(cs) == 2 && cs[0].GetImage() == "img:1" && cs[1].GetImage() == "img:2"
			}},
		"merge patch adds a label": {patchType: patchpkg.Merge, patch: `{"metadata":{"labels":{"rev":"2"}}}`,
			want: func(p *corev1.Pod) bool {
				return p.GetMetadata().GetLabels()["rev"] == "2" && p.GetMetadata().GetLabels()["app"] == "x"
			}},
		"merge patch replaces lists": {patchType: patchpkg.Merge, patch: `{"spec":{"containers":[{"name":"c","image":"img:3"}]}}`,
			want: func(p *corev1.Pod) bool { return len(p.GetSpec().GetContainers()) == 1 }},
		"json patch": {patchType: patchpkg.JSON, patch: `[{"op":"replace","path":"/metadata/labels/app","value":"y"}]`,
			want: func(p *corev1.Pod) bool { return p.GetMetadata().GetLabels()["app"] == "y" }},
		"json patch failing test": {patchType: patchpkg.JSON, patch: `[{"op":"test","path":"/metadata/labels/app","value":"nope"}]`,
			wantReason: apierrors.ReasonInvalid},
		"json patch copy bomb": {patchType: patchpkg.JSON, patch: copyBomb(40),
			wantReason: apierrors.ReasonRequestEntityTooLarge},
		"unknown field, Strict": {patchType: patchpkg.Merge, patch: `{"spec":{"colour":"blue"}}`, validation: "Strict", wantReason: apierrors.ReasonBadRequest},
		"unknown field, Warn": {patchType: patchpkg.Merge, patch: `{"spec":{"colour":"blue"}}`,
			want: func(*corev1.Pod) bool { return true }, wantWarning: `unknown field "spec.colour"`},
		"unknown field, Ignore": {patchType: patchpkg.Merge, patch: `{"spec":{"colour":"blue"}}`, validation: "Ignore",
			want: func(*corev1.Pod) bool { return true }},
		"unknown validation": {patchType: patchpkg.Merge, patch: `{}`, validation: "Loose", wantReason: apierrors.ReasonBadRequest},
		"stale resourceVersion": {patchType: patchpkg.Merge, patch: `{"metadata":{"resourceVersion":"1","labels":{"z":"1"}}}`,
			wantReason: apierrors.ReasonConflict},
		"apply patch without a field manager": {patchType: patchpkg.ApplyYAML, patch: `{}`, wantReason: apierrors.ReasonInvalid},
		"cbor apply patch is not served":      {patchType: "application/apply-patch+cbor", patch: `{}`, wantReason: apierrors.ReasonUnsupportedMediaType},
		"not json":                            {patchType: patchpkg.Merge, patch: `{`, wantReason: apierrors.ReasonBadRequest},
	}
	order := []string{"strategic merges containers by name", "merge patch adds a label", "json patch", "json patch failing test", "json patch copy bomb",
		"unknown field, Strict", "unknown field, Warn", "unknown field, Ignore", "unknown validation",
		"stale resourceVersion", "apply patch without a field manager", "cbor apply patch is not served", "not json", "merge patch replaces lists"}
	for _, name := range order {
		tc := tests[name]
		t.Run(name, func(t *testing.T) {
			var hdr metadata.MD
			out, err := c.pods.PatchPod(ctx, &corev1.PatchPodRequest{Namespace: ns, Name: "p", PatchType: tc.patchType,
				Patch: []byte(tc.patch), FieldValidation: tc.validation}, grpc.Header(&hdr))
			if tc.wantReason != "" {
				if reason(err) != tc.wantReason {
					t.Fatalf("reason = %q (%v), want %q", reason(err), err, tc.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(out.GetPod()) {
				t.Fatalf("patched pod: %v", out.GetPod())
			}
			if got := strings.Join(hdr.Get(respmeta.Warning), "; "); got != tc.wantWarning {
				t.Fatalf("warnings = %q, want %q", got, tc.wantWarning)
			}
		})
	}
	if len(order) != len(tests) {
		t.Fatal("a case is not in the order list")
	}
}

// copyBomb is a JSON patch whose every operation doubles the pod's labels.
func copyBomb(ops int) string {
	var b strings.Builder
	for i := range ops {
		fmt.Fprintf(&b, `,{"op":"copy","from":"/metadata/labels","path":"/metadata/labels/k%d"}`, i)
	}
	return "[" + b.String()[1:] + "]"
}

func TestListSelectorsAndPages(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	for i, node := range []string{"n1", "n1", "n2", ""} {
		p := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"i": fmt.Sprint(i % 2)}},
			Spec: &corev1.PodSpec{NodeName: node, Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}
		if _, err := c.pods.CreatePod(ctx, &corev1.CreatePodRequest{Namespace: ns, Pod: p}); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		label, field string
		want         []string
		wantReason   apierrors.Reason
	}{
		"all":                {want: []string{"p0", "p1", "p2", "p3"}},
		"label":              {label: "i=1", want: []string{"p1", "p3"}},
		"set label":          {label: "i in (0)", want: []string{"p0", "p2"}},
		"node":               {field: "spec.nodeName=n1", want: []string{"p0", "p1"}},
		"unbound":            {field: "spec.nodeName=", want: []string{"p3"}},
		"not node":           {field: "spec.nodeName!=n1", want: []string{"p2", "p3"}},
		"phase":              {field: "status.phase=Pending", want: []string{"p0", "p1", "p2", "p3"}},
		"name":               {field: "metadata.name=p2", want: []string{"p2"}},
		"both":               {label: "i=0", field: "spec.nodeName=n2", want: []string{"p2"}},
		"unsupported field":  {field: "spec.image=x", wantReason: apierrors.ReasonBadRequest},
		"bad label selector": {label: "i in (", wantReason: apierrors.ReasonBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := c.pods.ListPods(ctx, &corev1.ListPodsRequest{Namespace: ns, LabelSelector: tc.label, FieldSelector: tc.field})
			if tc.wantReason != "" {
				if reason(err) != tc.wantReason {
					t.Fatalf("reason = %q (%v), want %q", reason(err), err, tc.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range out.GetItems() {
				got = append(got, p.GetMetadata().GetName())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		var got []string
		token := ""
		for page := 0; page < 10; page++ {
			out, err := c.pods.ListPods(ctx, &corev1.ListPodsRequest{Namespace: ns, Limit: 3, Continue: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range out.GetItems() {
				got = append(got, p.GetMetadata().GetName())
			}
			if token = out.GetMetadata().GetContinue(); token == "" {
				break
			}
		}
		if fmt.Sprint(got) != "[p0 p1 p2 p3]" {
			t.Fatalf("pages gave %v", got)
		}
	})
}

func TestPodSubresources(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	p := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}
	created, err := c.pods.CreatePod(ctx, &corev1.CreatePodRequest{Namespace: ns, Pod: p})
	if err != nil {
		t.Fatal(err)
	}
	if sp := created.GetPod().GetSpec(); sp.GetRestartPolicy() != "Always" || sp.GetServiceAccountName() != "default" || created.GetPod().GetStatus().GetPhase() != "Pending" {
		t.Fatalf("pod defaults missing: %v", created.GetPod())
	}
	bind := func() error {
		_, err := c.pods.CreatePodBinding(ctx, &corev1.CreatePodBindingRequest{Namespace: ns, Name: "p",
			Binding: &corev1.Binding{Metadata: &corev1.ObjectMeta{Name: "p"}, Target: &corev1.ObjectReference{Kind: "Node", Name: "node-1"}}})
		return err
	}
	if err := bind(); err != nil {
		t.Fatalf("binding: %v", err)
	}
	if err := bind(); reason(err) != apierrors.ReasonConflict {
		t.Fatalf("second binding: %v", err)
	}
	// A status update changes the status and nothing else.
	upd := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{NodeName: "elsewhere"}, Status: &corev1.PodStatus{Phase: "Running"}}
	out, err := c.pods.UpdatePodStatus(ctx, &corev1.UpdatePodStatusRequest{Namespace: ns, Name: "p", Pod: upd})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetPod().GetStatus().GetPhase() != "Running" || out.GetPod().GetSpec().GetNodeName() != "node-1" {
		t.Fatalf("after status update: %v", out.GetPod())
	}
	// The same status again, by update (on the current version) or by
	// patch, writes nothing: the resourceVersion stays, as in
	// kube-apiserver, so no watcher sees an event and no writer
	// holding that version conflicts.
	rv := out.GetPod().GetMetadata().GetResourceVersion()
	again, err := c.pods.UpdatePodStatus(ctx, &corev1.UpdatePodStatusRequest{Namespace: ns, Name: "p", Pod: out.GetPod(), FieldManager: "kubelet"})
	if err != nil || again.GetPod().GetMetadata().GetResourceVersion() != rv {
		t.Fatalf("the same status update: resourceVersion %s, was %s (%v)", again.GetPod().GetMetadata().GetResourceVersion(), rv, err)
	}
	patched, err := c.pods.PatchPodStatus(ctx, &corev1.PatchPodStatusRequest{Namespace: ns, Name: "p", FieldManager: "kubelet", PatchType: patchpkg.Merge, Patch: []byte(`{"status":{"phase":"Running"}}`)})
	if err != nil || patched.GetPod().GetMetadata().GetResourceVersion() != rv {
		t.Fatalf("a status patch that changes nothing: resourceVersion %s, was %s (%v)", patched.GetPod().GetMetadata().GetResourceVersion(), rv, err)
	}
	// A pod delete answers the pod, marked deleted.
	del, err := c.pods.DeletePod(ctx, &corev1.DeletePodRequest{Namespace: ns, Name: "p"})
	if err != nil || del.GetPod().GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("delete pod: %v %v", del, err)
	}
}

// TestNamespaceDeletion: a delete makes the namespace Terminating (no
// controller runs here to empty it), creates in it are refused, and
// namespaces/finalize removes it once spec.finalizers is empty.
func TestNamespaceDeletion(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("a", nil)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ns.GetNamespace(ctx, &corev1.GetNamespaceRequest{Name: ns})
	if err != nil || !slices.Equal(got.GetNamespace().GetSpec().GetFinalizers(), []string{"kubernetes"}) {
		t.Fatalf("new namespace: %v %v", got, err)
	}
	for range 2 {
		out, err := c.ns.DeleteNamespace(ctx, &corev1.DeleteNamespaceRequest{Name: ns})
		if m := out.GetNamespace().GetMetadata(); err != nil || out.GetNamespace().GetStatus().GetPhase() != "Terminating" || m.GetDeletionTimestamp() == nil {
			t.Fatalf("delete namespace: %v %v", out, err)
		}
	}
	if _, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: "a"}); err != nil {
		t.Fatalf("content is removed by the namespace controller, not the delete: %v", err)
	}
	_, err = c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("b", nil)})
	// kube-apiserver's NamespaceLifecycle words it about the object and
	// adds the cause controllers check (apierrors.HasStatusCause).
	st, _ := apierrors.ToStatus(err)
	if want := fmt.Sprintf(`configmaps "b" is forbidden: unable to create new content in namespace %s because it is being terminated`, ns); reason(err) != apierrors.ReasonForbidden ||
		st.GetMessage() != want || st.GetDetails().GetKind() != "configmaps" || st.GetDetails().GetName() != "b" ||
		len(st.GetDetails().GetCauses()) != 1 || st.GetDetails().GetCauses()[0].GetReason() != "NamespaceTerminating" || st.GetDetails().GetCauses()[0].GetField() != "metadata.namespace" {
		t.Fatalf("create in a Terminating namespace: %v, status %v", err, st)
	}
	finalize := func(finalizers ...string) (*corev1.UpdateNamespaceFinalizeResponse, error) {
		return c.ns.UpdateNamespaceFinalize(ctx, &corev1.UpdateNamespaceFinalizeRequest{Name: ns,
			Namespace: &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: ns}, Spec: &corev1.NamespaceSpec{Finalizers: finalizers}}})
	}
	if _, err := finalize("bogus"); reason(err) != apierrors.ReasonInvalid || !strings.Contains(err.Error(), "spec.finalizers[0]") {
		t.Fatalf("finalize with a bad name: %v", err)
	}
	if out, err := finalize("kubernetes", "example.com/more"); err != nil || len(out.GetNamespace().GetSpec().GetFinalizers()) != 2 {
		t.Fatalf("finalize adding one: %v %v", out, err)
	}
	if _, err := finalize(); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := c.ns.GetNamespace(ctx, &corev1.GetNamespaceRequest{Name: ns}); reason(err) != apierrors.ReasonNotFound {
		t.Fatalf("namespace survived its finalizers: %v", err)
	}
	for _, sys := range []string{"default", "kube-system", "kube-public"} {
		if _, err := c.ns.DeleteNamespace(ctx, &corev1.DeleteNamespaceRequest{Name: sys}); reason(err) != apierrors.ReasonForbidden {
			t.Errorf("delete %s: %v", sys, err)
		}
	}
}

// TestFinalizersHoldDeletion: finalizers keep a deleted object marked
// until an update removes the last; Foreground and Orphan add theirs.
func TestFinalizersHoldDeletion(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	policy := func(p string) *corev1.DeleteOptions { return &corev1.DeleteOptions{PropagationPolicy: &p} }
	for name, tc := range map[string]struct {
		finalizers []string
		opts       *corev1.DeleteOptions
		want       []string
	}{
		"hold":       {[]string{"example.com/hold"}, nil, []string{"example.com/hold"}},
		"foreground": {nil, policy("Foreground"), []string{"foregroundDeletion"}},
		"orphan":     {nil, policy("Orphan"), []string{"orphan"}},
	} {
		t.Run(name, func(t *testing.T) {
			cm := configMap(name, nil)
			cm.Metadata.Finalizers = tc.finalizers
			if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm}); err != nil {
				t.Fatal(err)
			}
			out, err := c.cm.DeleteConfigMap(ctx, &corev1.DeleteConfigMapRequest{Namespace: ns, Name: name, Options: tc.opts})
			if m := out.GetConfigMap().GetMetadata(); err != nil || m.GetDeletionTimestamp() == nil || m.DeletionGracePeriodSeconds == nil || !slices.Equal(m.GetFinalizers(), tc.want) {
				t.Fatalf("delete: %v %v", out, err)
			}
			// A second delete answers the object again.
			if again, err := c.cm.DeleteConfigMap(ctx, &corev1.DeleteConfigMapRequest{Namespace: ns, Name: name}); err != nil || again.GetConfigMap() == nil {
				t.Fatalf("second delete: %v %v", again, err)
			}
			cur := out.GetConfigMap()
			cur.Metadata.Finalizers = append(cur.Metadata.Finalizers, "example.com/late")
			if _, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: name, ConfigMap: cur}); reason(err) != apierrors.ReasonInvalid {
				t.Fatalf("adding a finalizer while deleting: %v", err)
			}
			cur.Metadata.Finalizers = nil
			cur.Metadata.ResourceVersion = ""
			if _, err := c.cm.UpdateConfigMap(ctx, &corev1.UpdateConfigMapRequest{Namespace: ns, Name: name, ConfigMap: cur}); err != nil {
				t.Fatalf("removing the finalizers: %v", err)
			}
			if _, err := c.cm.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: ns, Name: name}); reason(err) != apierrors.ReasonNotFound {
				t.Fatalf("still there without finalizers: %v", err)
			}
		})
	}
}

// TestPodGracefulDeletion: a bound pod's delete waits out its grace
// period until a delete with gracePeriodSeconds 0 confirms it.
func TestPodGracefulDeletion(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	mk := func(name, node string) {
		p := &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: name}, Spec: &corev1.PodSpec{NodeName: node, Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}
		if _, err := c.pods.CreatePod(ctx, &corev1.CreatePodRequest{Namespace: ns, Pod: p}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(name string) bool {
		_, err := c.pods.GetPod(ctx, &corev1.GetPodRequest{Namespace: ns, Name: name})
		return reason(err) == apierrors.ReasonNotFound
	}
	mk("unbound", "")
	if out, err := c.pods.DeletePod(ctx, &corev1.DeletePodRequest{Namespace: ns, Name: "unbound"}); err != nil || !gone("unbound") || out.GetPod().GetMetadata().GetDeletionGracePeriodSeconds() != 0 {
		t.Fatalf("unbound pod: %v %v", out, err)
	}
	mk("bound", "n1")
	out, err := c.pods.DeletePod(ctx, &corev1.DeletePodRequest{Namespace: ns, Name: "bound"})
	if m := out.GetPod().GetMetadata(); err != nil || m.GetDeletionGracePeriodSeconds() != 30 || gone("bound") || m.GetGeneration() != 2 ||
		m.GetDeletionTimestamp().AsTime().Sub(m.GetCreationTimestamp().AsTime()) < 29*time.Second {
		t.Fatalf("bound pod: %v %v", out, err)
	}
	ten := int64(10)
	out, err = c.pods.DeletePod(ctx, &corev1.DeletePodRequest{Namespace: ns, Name: "bound", GracePeriodSeconds: &ten})
	if err != nil || out.GetPod().GetMetadata().GetDeletionGracePeriodSeconds() != 10 || gone("bound") {
		t.Fatalf("shorter grace: %v %v", out, err)
	}
	zero := int64(0)
	if _, err := c.pods.DeletePod(ctx, &corev1.DeletePodRequest{Namespace: ns, Name: "bound", Options: &corev1.DeleteOptions{GracePeriodSeconds: &zero}}); err != nil || !gone("bound") {
		t.Fatalf("grace-0 delete: %v", err)
	}
}

func TestDeleteCollection(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	for _, n := range []string{"a", "b", "c"} {
		cm := configMap(n, nil)
		cm.Metadata.Labels = map[string]string{"drop": fmt.Sprint(n != "c")}
		if _, err := c.cm.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.cm.DeleteCollectionConfigMaps(ctx, &corev1.DeleteCollectionConfigMapsRequest{Namespace: ns, LabelSelector: "drop=true"})
	if err != nil || len(out.GetItems()) != 2 {
		t.Fatalf("deletecollection: %v %v", out, err)
	}
	left, err := c.cm.ListConfigMaps(ctx, &corev1.ListConfigMapsRequest{Namespace: ns})
	if err != nil || len(left.GetItems()) != 1 || left.GetItems()[0].GetMetadata().GetName() != "c" {
		t.Fatalf("left: %v %v", left, err)
	}
}

func TestParseOp(t *testing.T) {
	tests := map[string]struct {
		method, kind, plural string
		want                 op
		ok                   bool
	}{
		"get":              {"GetPod", "Pod", "Pods", op{verb: "get"}, true},
		"list":             {"ListPods", "Pod", "Pods", op{verb: "list"}, true},
		"watch":            {"WatchPods", "Pod", "Pods", op{verb: "watch"}, true},
		"deletecollection": {"DeleteCollectionPods", "Pod", "Pods", op{verb: "deletecollection"}, true},
		"delete":           {"DeletePod", "Pod", "Pods", op{verb: "delete"}, true},
		"status":           {"UpdatePodStatus", "Pod", "Pods", op{verb: "update", subresource: "status"}, true},
		"binding":          {"CreatePodBinding", "Pod", "Pods", op{verb: "create", subresource: "binding"}, true},
		"token":            {"CreateServiceAccountToken", "ServiceAccount", "ServiceAccounts", op{verb: "create", subresource: "token"}, true},
		"same plural":      {"ListEndpoints", "Endpoints", "Endpoints", op{verb: "list"}, true},
		"other kind":       {"GetNode", "Pod", "Pods", op{}, false},
		"unknown verb":     {"FrobPod", "Pod", "Pods", op{}, false},
		"list of one":      {"ListPod", "Pod", "Pods", op{verb: "list"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := parseOp(tc.method, tc.kind, tc.plural)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parseOp(%s) = %+v, %v; want %+v, %v", tc.method, got, ok, tc.want, tc.ok)
			}
		})
	}
}
