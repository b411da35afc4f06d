package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/portico-dev/portico/internal/testwait"
)

// fullPod is a manifest with the fields users write in real pods; every
// one of them must come back.
const fullPod = `apiVersion: v1
kind: Pod
metadata:
  name: full
  generateName: full-
  labels: {app: full, tier: backend}
  annotations: {note: "round trip", empty: ""}
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owner, uid: 6b8f5ad4-1d5c-4c4a-9e8e-9a5f0c7f2b11, controller: true, blockOwnerDeletion: true}
  finalizers: [example.com/hold]
spec:
  nodeSelector: {disktype: ssd, kubernetes.io/os: linux}
  tolerations:
  - {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 2000
    runAsNonRoot: true
    supplementalGroups: [4000]
    seccompProfile: {type: RuntimeDefault}
    sysctls: [{name: net.core.somaxconn, value: "1024"}]
  serviceAccountName: builder
  automountServiceAccountToken: false
  hostname: full-host
  subdomain: sub
  activeDeadlineSeconds: 600
  terminationGracePeriodSeconds: 45
  restartPolicy: OnFailure
  dnsPolicy: ClusterFirstWithHostNet
  dnsConfig:
    nameservers: [1.1.1.1]
    searches: [svc.cluster.local]
    options: [{name: ndots, value: "2"}]
  hostAliases: [{ip: 10.0.0.9, hostnames: [db.local]}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: zone, operator: In, values: [a, b]}]
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector: {matchLabels: {app: full}}
  topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: full}}}
  initContainers:
  - name: init
    image: busybox:1.36
    command: [sh, -c, "echo init"]
  containers:
  - name: app
    image: registry.example.com/app:1.2.3
    imagePullPolicy: Always
    command: [/app]
    args: [--port=8080, --verbose]
    workingDir: /srv
    ports:
    - {name: http, containerPort: 8080, protocol: TCP}
    - {name: metrics, containerPort: 9090, hostPort: 19090, protocol: UDP}
    env:
    - {name: PLAIN, value: "1"}
    - name: FROM_FIELD
      valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}
    - name: FROM_SECRET
      valueFrom: {secretKeyRef: {name: creds, key: password, optional: true}}
    - name: FROM_CM
      valueFrom: {configMapKeyRef: {name: cfg, key: mode}}
    - name: LIMIT
      valueFrom: {resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
    envFrom:
    - configMapRef: {name: cfg}
      prefix: CFG_
    - secretRef: {name: creds, optional: true}
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: "1", memory: 128Mi, ephemeral-storage: 1Gi}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: config, mountPath: /etc/cfg/app.conf, readOnly: true, subPath: app.conf}
    livenessProbe:
      httpGet: {path: /healthz, port: http, scheme: HTTP, httpHeaders: [{name: X-Probe, value: live}]}
      initialDelaySeconds: 5
      periodSeconds: 10
      timeoutSeconds: 2
      failureThreshold: 3
      successThreshold: 1
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 5
    startupProbe:
      exec: {command: [cat, /tmp/ready]}
      failureThreshold: 30
    lifecycle:
      preStop: {exec: {command: [sleep, "5"]}}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      privileged: false
      runAsUser: 1001
      capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
    stdin: true
    tty: true
  volumes:
  - name: data
    emptyDir: {medium: Memory, sizeLimit: 256Mi}
  - name: config
    configMap:
      name: cfg
      defaultMode: 0644
      items: [{key: app.conf, path: app.conf}]
  - name: secret
    secret: {secretName: creds, optional: true, defaultMode: 0400}
  - name: host
    hostPath: {path: /var/log, type: Directory}
  - name: claim
    persistentVolumeClaim: {claimName: pvc-1, readOnly: true}
  - name: projected
    projected:
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3600, audience: api}
      - downwardAPI:
          items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]
      - configMap: {name: cfg, items: [{key: ca.crt, path: ca.crt}]}
`

// TestAPISemantics checks the API behind the workflow: field round trip,
// metadata, field validation, selectors, pagination, resourceVersion,
// watch (410 Gone once compacted), delete options, deletecollection and
// dryRun.
func TestAPISemantics(t *testing.T) {
	p := startPortico(t, "--shutdown-grace-period", "2s")
	base := p.insecureURL() + "/api/v1/namespaces/sem"
	p.mustKubectlIn(t, "", "create", "namespace", "sem")
	api := func(method, path, contentType, body string) (int, http.Header, string) {
		t.Helper()
		return httpDo(t, http.DefaultClient, method, base+path, contentType, body)
	}

	t.Run("pod round trip", func(t *testing.T) {
		p.mustKubectlIn(t, "", "create", "serviceaccount", "builder", "-n", "sem")
		// The pod's owner exists, or the garbage collector deletes the pod.
		p.mustKubectlIn(t, "", "create", "configmap", "owner", "-n", "sem")
		manifest := strings.ReplaceAll(fullPod, "6b8f5ad4-1d5c-4c4a-9e8e-9a5f0c7f2b11", jsonStr(p.getJSON(t, "configmap", "owner", "-n", "sem"), "metadata", "uid"))
		// What kubectl sends for the manifest, as JSON.
		want := decodeJSON(t, p.mustKubectlIn(t, manifest, "create", "-f", "-", "--dry-run=client", "-o", "json"))
		if out := p.mustKubectlIn(t, manifest, "create", "-f", "-", "-n", "sem"); !strings.Contains(out, "pod/full created") {
			t.Fatalf("create printed %q", out)
		}
		got := p.getJSON(t, "pod", "full", "-n", "sem")
		for _, part := range []string{"spec", "metadata"} {
			w := want[part].(map[string]any)
			delete(w, "namespace")
			for _, d := range jsonSubset(w, got[part], part) {
				t.Error(d)
			}
		}
		// What kube-apiserver adds.
		for path, wantV := range map[string]any{
			"status.phase": "Pending", "status.qosClass": "Burstable", "metadata.generation": 1.0,
			"spec.enableServiceLinks": true, "spec.priority": 0.0, "spec.preemptionPolicy": "PreemptLowerPriority",
			"spec.serviceAccount": "builder", "spec.schedulerName": "default-scheduler",
		} {
			var keys []any
			for _, k := range strings.Split(path, ".") {
				keys = append(keys, k)
			}
			if v := jsonAt(got, keys...); !reflect.DeepEqual(v, wantV) {
				t.Errorf("%s = %v, want %v", path, v, wantV)
			}
		}
		if v := jsonAt(got, "spec", "initContainers", 0, "terminationMessagePolicy"); v != "File" {
			t.Errorf("init container not defaulted: %v", v)
		}
		// The same through the raw API: IntOrString and quantities keep their JSON types.
		_, _, raw := api("GET", "/pods/full", "", "")
		for _, frag := range []string{`"port":"http"`, `"port":8080`, `"divisor":"1Mi"`, `"cpu":"250m"`, `"defaultMode":420`, `"containerPort":9090`} {
			if !strings.Contains(raw, frag) {
				t.Errorf("raw pod lacks %s", frag)
			}
		}

		// The finalizer keeps the pod: delete marks it, removing the finalizer deletes it.
		code, _, body := api("DELETE", "/pods/full", "", "")
		if code != http.StatusOK || jsonStr(decodeJSON(t, body), "metadata", "deletionTimestamp") == "" {
			t.Fatalf("delete of a pod with a finalizer: %d %s", code, body)
		}
		table := parseTable(t, p.mustKubectlIn(t, "", "get", "pod", "full", "-n", "sem"))
		checkRow(t, "pod being deleted", table.rows[0], map[string]string{"STATUS": "Terminating"})
		code, _, body = api("PATCH", "/pods/full", "application/merge-patch+json", `{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}`)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "no new finalizers can be added if the object is being deleted") {
			t.Errorf("adding a finalizer while deleting: %d %s", code, body)
		}
		p.mustKubectlIn(t, "", "patch", "pod", "full", "-n", "sem", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
		if code, _, body := api("GET", "/pods/full", "", ""); code != http.StatusNotFound {
			t.Errorf("pod still there once its finalizers are gone: %d %s", code, body)
		}
		p.mustKubectlIn(t, "", "delete", "configmap", "owner", "-n", "sem")
	})

	t.Run("metadata", func(t *testing.T) {
		out := p.mustKubectlIn(t, "apiVersion: v1\nkind: Pod\nmetadata: {generateName: gen-}\nspec:\n  containers: [{name: c, image: busybox}]\n", "create", "-f", "-", "-n", "sem")
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "pod/"), " created")
		if !strings.HasPrefix(name, "gen-") || len(name) != len("gen-")+5 {
			t.Fatalf("generateName gave %q", out)
		}
		before := p.getJSON(t, "pod", name, "-n", "sem")
		if jsonStr(before, "spec", "containers", 0, "imagePullPolicy") != "Always" {
			t.Errorf("image without a tag: imagePullPolicy %v", jsonAt(before, "spec", "containers", 0, "imagePullPolicy"))
		}
		p.mustKubectlIn(t, "", "label", "pod", name, "x=1", "-n", "sem")
		p.mustKubectlIn(t, "", "patch", "pod", name, "-n", "sem", "-p", `{"spec":{"containers":[{"name":"c","image":"busybox:1.37"}]}}`)
		after := p.getJSON(t, "pod", name, "-n", "sem")
		for _, f := range []string{"uid", "creationTimestamp"} {
			if jsonStr(before, "metadata", f) != jsonStr(after, "metadata", f) {
				t.Errorf("%s changed on update: %v -> %v", f, jsonAt(before, "metadata", f), jsonAt(after, "metadata", f))
			}
		}
		if jsonAt(before, "metadata", "generation") != 1.0 || jsonAt(after, "metadata", "generation") != 2.0 {
			t.Errorf("generation %v -> %v, want 1 -> 2 (a label is not a spec change)", jsonAt(before, "metadata", "generation"), jsonAt(after, "metadata", "generation"))
		}
		if jsonStr(before, "metadata", "resourceVersion") == jsonStr(after, "metadata", "resourceVersion") {
			t.Errorf("resourceVersion did not change")
		}
		// Optimistic concurrency: an update from a stale copy is refused.
		stale, _ := json.Marshal(before)
		code, _, body := api("PUT", "/pods/"+name, "application/json", string(stale))
		if st := apiStatusOf(t, body); code != http.StatusConflict || st.Reason != "Conflict" ||
			!strings.Contains(st.Message, "the object has been modified; please apply your changes to the latest version and try again") {
			t.Errorf("stale update: %d %s", code, body)
		}
	})

	t.Run("fieldValidation", func(t *testing.T) {
		body := func(name string) string {
			return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"},"spec":{"nope":true,"containers":[{"name":"c","image":"busybox","bogus":1}]}}`
		}
		tests := []struct {
			param    string
			code     int
			warnings []string
		}{
			{"Strict", http.StatusBadRequest, nil},
			{"Warn", http.StatusCreated, []string{`299 - "unknown field \"spec.containers[0].bogus\""`, `299 - "unknown field \"spec.nope\""`}},
			{"", http.StatusCreated, []string{`299 - "unknown field \"spec.containers[0].bogus\""`, `299 - "unknown field \"spec.nope\""`}},
			{"Ignore", http.StatusCreated, nil},
		}
		for i, tc := range tests {
			name := fmt.Sprintf("fv-%d", i)
			code, hdr, resp := api("POST", "/pods?fieldValidation="+tc.param, "application/json", body(name))
			if code != tc.code {
				t.Errorf("fieldValidation=%q: %d %s", tc.param, code, resp)
				continue
			}
			got := hdr.Values("Warning")
			slices.Sort(got)
			if !slices.Equal(got, tc.warnings) {
				t.Errorf("fieldValidation=%q: warnings %q, want %q", tc.param, got, tc.warnings)
			}
			if code == http.StatusBadRequest {
				st := apiStatusOf(t, resp)
				if st.Reason != "BadRequest" || !strings.Contains(st.Message, `strict decoding error: `) ||
					!strings.Contains(st.Message, `unknown field "spec.containers[0].bogus"`) || !strings.Contains(st.Message, `unknown field "spec.nope"`) {
					t.Errorf("Strict: %s", resp)
				}
			}
		}
		// A patch, as kubectl apply sends it (Strict), names the field too.
		code, _, resp := api("PATCH", "/pods/fv-1?fieldValidation=Strict", "application/strategic-merge-patch+json", `{"spec":{"typo":1}}`)
		if code != http.StatusBadRequest || !strings.Contains(resp, `unknown field \"spec.typo\"`) {
			t.Errorf("Strict patch: %d %s", code, resp)
		}
		// kubectl: create validates strictly, --validate=warn prints the warnings.
		manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec:\n  nope: true\n  containers: [{name: c, image: busybox, bogus: 1}]\n"
		r := p.kubectlIn(t, strings.ReplaceAll(manifest, "NAME", "fv-kubectl"), "create", "-f", "-", "-n", "sem")
		if r.err == nil || !strings.Contains(r.stderr, `strict decoding error: unknown field "spec.containers[0].bogus", unknown field "spec.nope"`) {
			t.Errorf("kubectl create with unknown fields: %s", r)
		}
		r = p.kubectlIn(t, strings.ReplaceAll(manifest, "NAME", "fv-kubectl"), "create", "-f", "-", "-n", "sem", "--validate=warn")
		if r.err != nil || !strings.Contains(r.stderr, `Warning: unknown field "spec.nope"`) || !strings.Contains(r.stderr, `Warning: unknown field "spec.containers[0].bogus"`) {
			t.Errorf("kubectl create --validate=warn: %s", r)
		}
	})

	t.Run("selectors", func(t *testing.T) {
		for _, pod := range []struct{ name, app, node, phase string }{{"sel-a", "web", "n1", "Running"}, {"sel-b", "db", "n2", ""}, {"sel-c", "web", "", ""}} {
			node := ""
			if pod.node != "" {
				node = ", nodeName: " + pod.node
			}
			p.mustKubectlIn(t, fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s, labels: {app: %s, group: sel}}\nspec: {containers: [{name: c, image: busybox}]%s}\n", pod.name, pod.app, node), "create", "-f", "-", "-n", "sem")
			if pod.phase != "" {
				p.mustKubectlIn(t, "", "patch", "pod", pod.name, "-n", "sem", "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"`+pod.phase+`"}}`)
			}
		}
		uid := jsonStr(p.getJSON(t, "pod", "sel-a", "-n", "sem"), "metadata", "uid")
		for _, ev := range []struct{ name, kind, obj, uid string }{{"ev-a", "Pod", "sel-a", uid}, {"ev-b", "Pod", "sel-b", ""}, {"ev-n", "Node", "n1", ""}} {
			p.mustKubectlIn(t, fmt.Sprintf("apiVersion: v1\nkind: Event\nmetadata: {name: %s}\ninvolvedObject: {kind: %s, name: %s, namespace: sem, uid: %q}\nreason: Test\nmessage: m\n", ev.name, ev.kind, ev.obj, ev.uid), "create", "-f", "-", "-n", "sem")
		}
		tests := []struct {
			path string
			want []string
		}{
			{"/pods?labelSelector=" + url.QueryEscape("app=web"), []string{"sel-a", "sel-c"}},
			{"/pods?labelSelector=" + url.QueryEscape("group=sel,app!=web"), []string{"sel-b"}},
			{"/pods?labelSelector=" + url.QueryEscape("app in (db,web),group"), []string{"sel-a", "sel-b", "sel-c"}},
			{"/pods?fieldSelector=" + url.QueryEscape("metadata.name=sel-b"), []string{"sel-b"}},
			{"/pods?fieldSelector=" + url.QueryEscape("spec.nodeName=n1"), []string{"sel-a"}},
			{"/pods?labelSelector=group%3Dsel&fieldSelector=" + url.QueryEscape("spec.nodeName="), []string{"sel-c"}},
			{"/pods?fieldSelector=" + url.QueryEscape("status.phase=Running"), []string{"sel-a"}},
			{"/pods?labelSelector=group%3Dsel&fieldSelector=" + url.QueryEscape("status.phase!=Running"), []string{"sel-b", "sel-c"}},
			{"/pods?labelSelector=app%3Dweb&fieldSelector=" + url.QueryEscape("status.phase=Pending"), []string{"sel-c"}},
			{"/events?fieldSelector=" + url.QueryEscape("involvedObject.kind=Pod,involvedObject.name=sel-a"), []string{"ev-a"}},
			{"/events?fieldSelector=" + url.QueryEscape("involvedObject.uid="+uid), []string{"ev-a"}},
			{"/events?fieldSelector=" + url.QueryEscape("involvedObject.kind=Node"), []string{"ev-n"}},
			{"/events?fieldSelector=" + url.QueryEscape("involvedObject.namespace=sem,reason=Test"), []string{"ev-a", "ev-b", "ev-n"}},
		}
		for _, tc := range tests {
			code, _, body := api("GET", tc.path, "", "")
			if got := itemNames(decodeJSON(t, body)); code != http.StatusOK || !slices.Equal(got, tc.want) {
				t.Errorf("GET %s: %d %v, want %v", tc.path, code, got, tc.want)
			}
		}
		// Across namespaces, by namespace.
		_, _, body := httpDo(t, http.DefaultClient, "GET", p.insecureURL()+"/api/v1/pods?labelSelector=group%3Dsel&fieldSelector="+url.QueryEscape("metadata.namespace=sem"), "", "")
		if got := itemNames(decodeJSON(t, body)); !slices.Equal(got, []string{"sel-a", "sel-b", "sel-c"}) {
			t.Errorf("pods by metadata.namespace: %v", got)
		}
		for path, want := range map[string]string{
			"/pods?fieldSelector=spec.bogus%3D1":                    "field label not supported: spec.bogus",
			"/pods?labelSelector=" + url.QueryEscape("app in (web"): "unable to parse requirement",
		} {
			if code, _, body := api("GET", path, "", ""); code != http.StatusBadRequest || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d %s, want 400 %q", path, code, body, want)
			}
		}
		out := p.mustKubectlIn(t, "", "get", "pods", "-n", "sem", "-l", "app=web", "--field-selector", "status.phase=Running", "-o", "name")
		if strings.TrimSpace(out) != "pod/sel-a" {
			t.Errorf("kubectl get with both selectors: %q", out)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		for i := range 5 {
			p.mustKubectlIn(t, "", "create", "configmap", fmt.Sprintf("page-%d", i), "-n", "sem", "--from-literal=i="+fmt.Sprint(i))
		}
		var all []string
		var snapshot string
		path := "/configmaps?limit=2"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			code, _, body := api("GET", path, "", "")
			list := decodeJSON(t, body)
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, code, body)
			}
			all = append(all, itemNames(list)...)
			cont, remaining := jsonStr(list, "metadata", "continue"), jsonAt(list, "metadata", "remainingItemCount")
			if pages == 0 {
				snapshot = jsonStr(list, "metadata", "resourceVersion")
				// Written after the first page: not in this list's snapshot.
				p.mustKubectlIn(t, "", "create", "configmap", "page-late", "-n", "sem")
			}
			if wantLeft := 5 - len(all); (cont != "") != (wantLeft > 0) || (wantLeft > 0 && remaining != float64(wantLeft)) {
				t.Errorf("page %d: continue %q, remainingItemCount %v, want %d left", pages, cont, remaining, wantLeft)
			}
			if got := jsonStr(list, "metadata", "resourceVersion"); got != snapshot {
				t.Errorf("page %d at resourceVersion %s, the first at %s", pages, got, snapshot)
			}
			if cont == "" {
				break
			}
			path = "/configmaps?limit=2&continue=" + url.QueryEscape(cont)
		}
		if want := []string{"page-0", "page-1", "page-2", "page-3", "page-4"}; !slices.Equal(all, want) {
			t.Errorf("pages gave %v, want %v", all, want)
		}
		if code, _, body := api("GET", "/configmaps?limit=2&continue=bogus", "", ""); code != http.StatusBadRequest {
			t.Errorf("bad continue token: %d %s", code, body)
		}
		out := p.mustKubectlIn(t, "", "get", "configmaps", "-n", "sem", "--chunk-size=2", "-o", "name")
		if got := strings.Fields(out); len(got) != 6 {
			t.Errorf("kubectl --chunk-size=2 printed %q", out)
		}
	})

	t.Run("resourceVersion", func(t *testing.T) {
		p.mustKubectlIn(t, "", "create", "configmap", "rv", "-n", "sem", "--from-literal=v=old")
		rv1 := jsonStr(p.getJSON(t, "configmap", "rv", "-n", "sem"), "metadata", "resourceVersion")
		p.mustKubectlIn(t, "", "patch", "configmap", "rv", "-n", "sem", "-p", `{"data":{"v":"new"}}`)
		value := func(query string) (int, string) {
			code, _, body := api("GET", "/configmaps?fieldSelector=metadata.name%3Drv&"+query, "", "")
			return code, jsonStr(jsonAt(decodeJSON(t, body), "items", 0), "data", "v")
		}
		for query, want := range map[string]string{
			"":                       "new",
			"resourceVersion=0":      "new",
			"resourceVersion=" + rv1: "new", // not older than rv1
			"resourceVersion=" + rv1 + "&resourceVersionMatch=NotOlderThan": "new",
			"resourceVersion=" + rv1 + "&resourceVersionMatch=Exact":        "old",
		} {
			if code, got := value(query); code != http.StatusOK || got != want {
				t.Errorf("list ?%s: %d %q, want %q", query, code, got, want)
			}
		}
		code, _, body := api("GET", "/configmaps?resourceVersion=99999999", "", "")
		if st := apiStatusOf(t, body); code != http.StatusGatewayTimeout || st.Reason != "Timeout" || !strings.Contains(st.Message, "Too large resource version") {
			t.Errorf("list from the future: %d %s", code, body)
		}
		for _, q := range []string{"resourceVersionMatch=Exact", "resourceVersion=0&resourceVersionMatch=Exact", "resourceVersion=abc"} {
			if code, _, body := api("GET", "/configmaps?"+q, "", ""); code != http.StatusBadRequest {
				t.Errorf("list ?%s: %d %s, want 400", q, code, body)
			}
		}
	})

	t.Run("watch from a resourceVersion", func(t *testing.T) {
		p.mustKubectlIn(t, "", "create", "configmap", "w-start", "-n", "sem")
		from := jsonStr(p.getJSON(t, "configmap", "w-start", "-n", "sem"), "metadata", "resourceVersion")
		p.mustKubectlIn(t, "", "create", "configmap", "w", "-n", "sem", "--from-literal=a=1")
		p.mustKubectlIn(t, "", "label", "configmap", "w", "-n", "sem", "x=1")
		p.mustKubectlIn(t, "", "delete", "configmap", "w", "-n", "sem")
		events := readWatch(t, base+"/configmaps?watch=true&fieldSelector=metadata.name%3Dw&resourceVersion="+from, 3)
		var types []string
		for _, ev := range events {
			types = append(types, jsonStr(ev, "type"))
		}
		if !slices.Equal(types, []string{"ADDED", "MODIFIED", "DELETED"}) {
			t.Errorf("watch from %s: %v", from, events)
		}
		if jsonStr(events[1], "object", "metadata", "labels", "x") != "1" {
			t.Errorf("MODIFIED object: %v", events[1]["object"])
		}
	})

	t.Run("watch with initial events", func(t *testing.T) {
		// client-go's streaming list: the current objects, then a
		// bookmark marking their end.
		p.mustKubectlIn(t, "", "create", "configmap", "initial", "-n", "sem", "--from-literal=a=1")
		events := readWatch(t, base+"/configmaps?watch=true&fieldSelector=metadata.name%3Dinitial&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", 2)
		if jsonStr(events[0], "type") != "ADDED" || jsonStr(events[0], "object", "data", "a") != "1" {
			t.Errorf("first event: %v", events[0])
		}
		if jsonStr(events[1], "type") != "BOOKMARK" || jsonStr(events[1], "object", "metadata", "annotations", "k8s.io/initial-events-end") != "true" ||
			jsonStr(events[1], "object", "metadata", "resourceVersion") == "" {
			t.Errorf("second event: %v", events[1])
		}
	})

	t.Run("delete options", func(t *testing.T) {
		mk := func(name string) string {
			p.mustKubectlIn(t, "", "create", "configmap", name, "-n", "sem")
			return jsonStr(p.getJSON(t, "configmap", name, "-n", "sem"), "metadata", "uid")
		}
		exists := func(name string) bool {
			code, _, _ := api("GET", "/configmaps/"+name, "", "")
			return code == http.StatusOK
		}
		// Background deletes at once and answers a Status; Foreground and
		// Orphan answer the object with their finalizer, and the garbage
		// collector removes it (it has no dependents) shortly after.
		for _, tc := range []struct{ policy, finalizer string }{{"Background", ""}, {"Foreground", "foregroundDeletion"}, {"Orphan", "orphan"}} {
			name := "del-" + strings.ToLower(tc.policy)
			uid := mk(name)
			code, _, body := api("DELETE", "/configmaps/"+name+"?propagationPolicy="+tc.policy, "", "")
			if tc.finalizer == "" {
				if st := apiStatusOf(t, body); code != http.StatusOK || st.Status != "Success" || st.Details.Name != name || exists(name) {
					t.Errorf("delete with %s: %d %s", tc.policy, code, body)
				}
				if !strings.Contains(body, uid) {
					t.Errorf("delete Status lacks the uid %s: %s", uid, body)
				}
				continue
			}
			obj := decodeJSON(t, body)
			if code != http.StatusOK || jsonStr(obj, "kind") != "ConfigMap" || jsonStr(obj, "metadata", "finalizers", 0) != tc.finalizer ||
				jsonStr(obj, "metadata", "deletionTimestamp") == "" {
				t.Errorf("delete with %s: %d %s", tc.policy, code, body)
			}
			testwait.Until(t, 10*time.Second, name+" collected", func() bool { return !exists(name) })
		}
		uid := mk("del-opts")
		for _, tc := range []struct {
			query, body string
			code        int
			want        string
		}{
			{"?propagationPolicy=Bogus", "", http.StatusUnprocessableEntity, `propagationPolicy: Unsupported value: \"Bogus\"`},
			{"", `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background","orphanDependents":true}`, http.StatusUnprocessableEntity, "orphanDependents and deletionPropagation cannot be both set"},
			{"", `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}`, http.StatusConflict, "Precondition failed: UID in precondition"},
			{"", `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"resourceVersion":"1"}}`, http.StatusConflict, "Precondition failed: ResourceVersion in precondition"},
			{"?dryRun=All", "", http.StatusOK, `"status":"Success"`},
			{"", `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`, http.StatusOK, `"status":"Success"`},
			{"?dryRun=Bogus", "", http.StatusBadRequest, "unsupported dry run"},
		} {
			code, _, body := api("DELETE", "/configmaps/del-opts"+tc.query, "application/json", tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("DELETE %s %s: %d %s, want %d %q", tc.query, tc.body, code, body, tc.code, tc.want)
			}
			if !exists("del-opts") {
				t.Fatalf("DELETE %s %s deleted the object", tc.query, tc.body)
			}
		}
		code, _, body := api("DELETE", "/configmaps/del-opts", "application/json", `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"`+uid+`"},"gracePeriodSeconds":0}`)
		if code != http.StatusOK || exists("del-opts") {
			t.Errorf("delete with a matching uid: %d %s", code, body)
		}
		// A pod's delete answers the pod.
		p.mustKubectlIn(t, "", "run", "del-pod", "--image=busybox", "-n", "sem")
		code, _, body = api("DELETE", "/pods/del-pod", "", "")
		if m := decodeJSON(t, body); code != http.StatusOK || jsonStr(m, "kind") != "Pod" || jsonStr(m, "metadata", "deletionTimestamp") == "" {
			t.Errorf("delete pod: %d %s", code, body)
		}
		// kubectl: --dry-run=server keeps the object, --cascade picks the policy.
		mk("del-kubectl")
		if out := p.mustKubectlIn(t, "", "delete", "configmap", "del-kubectl", "-n", "sem", "--dry-run=server"); !strings.Contains(out, "(server dry run)") || !exists("del-kubectl") {
			t.Errorf("kubectl delete --dry-run=server: %q", out)
		}
		for _, cascade := range []string{"orphan", "foreground"} {
			mk("del-" + cascade)
			if out := p.mustKubectlIn(t, "", "delete", "configmap", "del-"+cascade, "-n", "sem", "--cascade="+cascade); !strings.Contains(out, "deleted") || exists("del-"+cascade) {
				t.Errorf("kubectl delete --cascade=%s: %q", cascade, out)
			}
		}
	})

	t.Run("deletecollection", func(t *testing.T) {
		for i := range 4 {
			p.mustKubectlIn(t, "", "create", "configmap", fmt.Sprintf("dc-%d", i), "-n", "sem")
			p.mustKubectlIn(t, "", "label", "configmap", fmt.Sprintf("dc-%d", i), "-n", "sem", "dc=yes", fmt.Sprintf("odd=%v", i%2 == 1))
		}
		left := func() []string {
			_, _, body := api("GET", "/configmaps?labelSelector=dc", "", "")
			return itemNames(decodeJSON(t, body))
		}
		code, _, body := api("DELETE", "/configmaps?labelSelector=dc%3Dyes&dryRun=All", "", "")
		if got := itemNames(decodeJSON(t, body)); code != http.StatusOK || len(got) != 4 || len(left()) != 4 {
			t.Errorf("dry-run deletecollection: %d %v, left %v", code, got, left())
		}
		code, _, body = api("DELETE", "/configmaps?labelSelector="+url.QueryEscape("dc=yes,odd=true"), "", "")
		if list := decodeJSON(t, body); code != http.StatusOK || jsonStr(list, "kind") != "ConfigMapList" || !slices.Equal(itemNames(list), []string{"dc-1", "dc-3"}) {
			t.Errorf("deletecollection: %d %s", code, body)
		}
		if got := left(); !slices.Equal(got, []string{"dc-0", "dc-2"}) {
			t.Errorf("after deletecollection: %v", got)
		}
		code, _, _ = api("DELETE", "/configmaps?fieldSelector="+url.QueryEscape("metadata.name=dc-0"), "", "")
		if got := left(); code != http.StatusOK || !slices.Equal(got, []string{"dc-2"}) {
			t.Errorf("deletecollection by field: %d, left %v", code, got)
		}
		if code, _, body := httpDo(t, http.DefaultClient, "DELETE", p.insecureURL()+"/api/v1/namespaces", "", ""); code != http.StatusMethodNotAllowed {
			t.Errorf("deletecollection of namespaces: %d %s", code, body)
		}
	})

	t.Run("dryRun", func(t *testing.T) {
		cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dry"},"data":{"a":"1"}}`
		code, _, body := api("POST", "/configmaps?dryRun=All", "application/json", cm)
		if code != http.StatusCreated || jsonStr(decodeJSON(t, body), "metadata", "name") != "dry" {
			t.Errorf("dry-run create: %d %s", code, body)
		}
		if code, _, _ := api("GET", "/configmaps/dry", "", ""); code != http.StatusNotFound {
			t.Errorf("dry-run create stored the object: %d", code)
		}
		api("POST", "/configmaps", "application/json", cm)
		code, _, body = api("PUT", "/configmaps/dry?dryRun=All", "application/json", strings.Replace(cm, `"1"`, `"2"`, 1))
		if code != http.StatusOK || jsonStr(decodeJSON(t, body), "data", "a") != "2" {
			t.Errorf("dry-run update: %d %s", code, body)
		}
		code, _, body = api("PATCH", "/configmaps/dry?dryRun=All", "application/merge-patch+json", `{"data":{"a":"3"}}`)
		if code != http.StatusOK || jsonStr(decodeJSON(t, body), "data", "a") != "3" {
			t.Errorf("dry-run patch: %d %s", code, body)
		}
		if _, _, body := api("GET", "/configmaps/dry", "", ""); jsonStr(decodeJSON(t, body), "data", "a") != "1" {
			t.Errorf("dry runs changed the object: %s", body)
		}
		if code, _, body := api("POST", "/configmaps?dryRun=Bogus", "application/json", cm); code != http.StatusBadRequest {
			t.Errorf("dryRun=Bogus: %d %s", code, body)
		}
		out := p.mustKubectlIn(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry-kubectl}\n", "apply", "-f", "-", "-n", "sem", "--dry-run=server")
		if !strings.Contains(out, "configmap/dry-kubectl created (server dry run)") {
			t.Errorf("kubectl apply --dry-run=server printed %q", out)
		}
		if code, _, _ := api("GET", "/configmaps/dry-kubectl", "", ""); code != http.StatusNotFound {
			t.Errorf("kubectl apply --dry-run=server stored the object")
		}
	})

	// Last: it compacts the store's history.
	t.Run("watch too old", func(t *testing.T) {
		p.mustKubectlIn(t, "", "create", "configmap", "old", "-n", "sem")
		old := jsonStr(p.getJSON(t, "configmap", "old", "-n", "sem"), "metadata", "resourceVersion")
		_, _, body := api("GET", "/configmaps?limit=1", "", "")
		staleContinue := jsonStr(decodeJSON(t, body), "metadata", "continue")
		for i := range 3 {
			p.mustKubectlIn(t, "", "label", "configmap", "old", "-n", "sem", fmt.Sprintf("n=%d", i), "--overwrite")
		}
		_, _, body = api("GET", "/configmaps", "", "")
		compactEtcd(t, p, jsonStr(decodeJSON(t, body), "metadata", "resourceVersion"))

		// kube-apiserver answers 200 and one ERROR event: a 410 Expired Status.
		code, events := watchOnce(t, base+"/configmaps?watch=true&resourceVersion="+old)
		var st apiStatus
		if code == http.StatusOK && len(events) == 1 && jsonStr(events[0], "type") == "ERROR" {
			b, _ := json.Marshal(events[0]["object"])
			st = apiStatusOf(t, string(b))
		}
		if st.Code != http.StatusGone || st.Reason != "Expired" {
			t.Errorf("watch from a compacted resourceVersion: %d %v", code, events)
		}
		code, _, body = api("GET", "/configmaps?resourceVersion="+old+"&resourceVersionMatch=Exact", "", "")
		if st := apiStatusOf(t, body); code != http.StatusGone || st.Reason != "Expired" {
			t.Errorf("exact list of a compacted resourceVersion: %d %s", code, body)
		}
		code, _, body = api("GET", "/configmaps?limit=1&continue="+url.QueryEscape(staleContinue), "", "")
		if st := apiStatusOf(t, body); code != http.StatusGone || st.Reason != "Expired" {
			t.Errorf("continue token of a compacted list: %d %s", code, body)
		}
		// A watch from now still works.
		code, _, _ = api("GET", "/configmaps?watch=true&timeoutSeconds=1", "", "")
		if code != http.StatusOK {
			t.Errorf("watch from now after the compaction: %d", code)
		}
	})
}

// readWatch reads n events of a watch (it must deliver them within 20s).
func readWatch(t *testing.T, u string, n int) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch %s: %d", u, resp.StatusCode)
	}
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for len(events) < n && sc.Scan() {
		events = append(events, decodeJSON(t, sc.Text()))
	}
	if len(events) < n {
		t.Fatalf("watch %s: %d events, want %d (%v)", u, len(events), n, sc.Err())
	}
	return events
}

// watchOnce reads a watch that is expected to end by itself (an error).
func watchOnce(t *testing.T, u string) (int, []map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var events []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			events = append(events, decodeJSON(t, line))
		}
	}
	return resp.StatusCode, events
}

// compactEtcd compacts the embedded etcd's history up to rev, as its
// periodic compaction does after five minutes, over mutual TLS with the
// certificate of the api (the only one it accepts).
func compactEtcd(t *testing.T, p *portico, rev string) {
	t.Helper()
	c := dialEtcd(t, p, "api")
	var n int64
	if _, err := fmt.Sscan(rev, &n); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Compact(ctx, n, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
}
