// Command cpdemo is `go tool task cluster-demo`: Portico with a real
// control plane on one machine. It runs `portico up` with its own
// controllers stepped aside, then the real kube-scheduler and
// kube-controller-manager v1.37.2 (bin/peers), each with leader election
// and on a client certificate from `portico kubeconfig` for the user the
// bootstrap policy names, and kwok as kube-system/kwok-controller (the
// RBAC kwok ships) running -nodes simulated nodes. It prints how to reach
// it and stops everything on Ctrl-C.
//
//	go tool task cluster-demo
//	go tool task cluster-demo -- -nodes 10 -secure-port 7443 -insecure-port 7080
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/portico-dev/portico/internal/programtb"
	"github.com/portico-dev/portico/internal/testpeers"
)

type options struct {
	portico, dataDir         string
	securePort, insecurePort int
	nodes                    int
	readyTimeout             time.Duration
}

// Validate reports options that would not run.
func (o options) Validate() error {
	var errs []error
	if o.portico == "" || o.dataDir == "" {
		errs = append(errs, errors.New("-portico and -data-dir must be set"))
	}
	if o.securePort < 1 || o.securePort > 65535 || o.insecurePort < 1 || o.insecurePort > 65535 || o.securePort == o.insecurePort {
		errs = append(errs, errors.New("-secure-port and -insecure-port must be two ports in 1..65535"))
	}
	if o.nodes < 1 || o.nodes > 1000 {
		errs = append(errs, errors.New("-nodes must be 1..1000"))
	}
	if o.readyTimeout <= 0 {
		errs = append(errs, errors.New("-ready-timeout must be positive"))
	}
	return errors.Join(errs...)
}

func main() {
	o := options{}
	flag.StringVar(&o.portico, "portico", "bin/portico", "the portico binary")
	flag.StringVar(&o.dataDir, "data-dir", ".portico-demo", "Portico's --data-dir: PKI, embedded etcd, admin kubeconfig")
	flag.IntVar(&o.securePort, "secure-port", 6443, "Portico's secure port (on 127.0.0.1)")
	flag.IntVar(&o.insecurePort, "insecure-port", 8080, "Portico's insecure port (on 127.0.0.1)")
	flag.IntVar(&o.nodes, "nodes", 3, "nodes kwok simulates")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", time.Minute, "how long each piece may take to be ready")
	flag.Parse()
	if err := o.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-demo:", err)
		os.Exit(2)
	}
	os.Exit(programtb.Main("cluster-demo", func(tb *programtb.TB) { run(tb, o) }))
}

func run(tb *programtb.TB, o options) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		tb.Fatal(err)
	}
	d := &demo{
		tb: tb, o: o, dataDir: dataDir,
		secureURL:   fmt.Sprintf("https://127.0.0.1:%d", o.securePort),
		insecureURL: fmt.Sprintf("http://127.0.0.1:%d", o.insecurePort),
		client:      &http.Client{Timeout: 10 * time.Second},
	}
	portico := testpeers.Start(tb, "portico", o.portico, "up", "--data-dir", dataDir,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(o.securePort), "--insecure-port", fmt.Sprint(o.insecurePort),
		"--builtin-controllers=")
	d.waitReady(portico)
	caFile := filepath.Join(dataDir, "certs", "apiserver.crt")
	server := func(kubeconfig string) *testpeers.KubeAPIServer {
		return &testpeers.KubeAPIServer{
			URL: d.secureURL, CAFile: caFile, Kubeconfig: kubeconfig,
			ServiceAccountKeyFile: filepath.Join(dataDir, "pki", "service-account.key"),
		}
	}
	testpeers.StartKubeScheduler(tb, server(d.userKubeconfig("system:kube-scheduler")), "--leader-elect=true")
	testpeers.StartKubeControllerManager(tb, server(d.userKubeconfig("system:kube-controller-manager")), "--leader-elect=true")

	// kwok as the service account, ClusterRole, binding and FlowSchema
	// of its kustomize/rbac.
	rbac := filepath.Join(testpeers.ModuleDir(tb, testpeers.KwokModule), "kustomize", "rbac")
	for _, f := range []string{"service_account.yaml", "role.yaml", "role_binding.yaml", "flow_schema.yaml"} {
		d.apply(filepath.Join(rbac, f))
	}
	token := d.token("kube-system", "kwok-controller")
	kwokKubeconfig := filepath.Join(tb.TempDir(), "kwok.kubeconfig")
	if err := os.WriteFile(kwokKubeconfig, []byte(testpeers.TokenKubeconfig(tb, d.secureURL, caFile, token)), 0o600); err != nil {
		tb.Fatal(err)
	}
	for i := range o.nodes {
		d.node(fmt.Sprintf("kwok-node-%d", i))
	}
	testpeers.StartKwok(tb, &testpeers.KubeAPIServer{Kubeconfig: kwokKubeconfig})

	admin := filepath.Join(dataDir, "admin.kubeconfig")
	fmt.Printf(`
Portico with the real kube-scheduler, kube-controller-manager and kwok (%d nodes).
  secure port    %s
  insecure port  %s
  admin          export KUBECONFIG=%s

  kubectl get nodes
  kubectl create deployment web --image=nginx --replicas=6
  kubectl get pods -o wide -w

Ctrl-C stops everything; the state stays in %s.
`, o.nodes, d.secureURL, d.insecureURL, admin, dataDir)
	<-ctx.Done()
	fmt.Println("stopping")
}

// demo is what the steps share.
type demo struct {
	tb                     *programtb.TB
	o                      options
	dataDir                string
	secureURL, insecureURL string
	client                 *http.Client
}

// waitReady waits for Portico's /readyz on the insecure port.
func (d *demo) waitReady(p *testpeers.Process) {
	deadline := time.Now().Add(d.o.readyTimeout)
	for {
		resp, err := d.client.Get(d.insecureURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			d.tb.Fatalf("portico was not ready within %s; logs (tail):\n%s", d.o.readyTimeout, p.Tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// userKubeconfig is `portico kubeconfig --user user`: a client
// certificate from Portico's client CA.
func (d *demo) userKubeconfig(user string) string {
	out := filepath.Join(d.tb.TempDir(), "kubeconfig")
	cmd := exec.Command(d.o.portico, "kubeconfig", "--data-dir", d.dataDir, "--user", user, "--server", d.secureURL, "--out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		d.tb.Fatalf("portico kubeconfig --user %s: %v\n%s", user, err, b)
	}
	return out
}

// apply creates the object of a one-document manifest through the
// insecure port, or leaves the one already there.
func (d *demo) apply(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		d.tb.Fatal(err)
	}
	body, err := yaml.YAMLToJSON(data)
	if err != nil {
		d.tb.Fatalf("%s: %v", file, err)
	}
	var obj struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		d.tb.Fatalf("%s: %v", file, err)
	}
	path, ok := collections[obj.Kind]
	if !ok {
		d.tb.Fatalf("%s: no collection known for kind %s", file, obj.Kind)
	}
	if obj.Metadata.Namespace != "" {
		path = fmt.Sprintf(path, obj.Metadata.Namespace)
	}
	d.post(path, body, http.StatusConflict)
}

// collections are the collections of the kinds apply creates.
var collections = map[string]string{
	"ServiceAccount":     "/api/v1/namespaces/%s/serviceaccounts",
	"ClusterRole":        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
	"ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
	"FlowSchema":         "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas",
}

// token is a TokenRequest for a service account (two hours).
func (d *demo) token(namespace, name string) string {
	body := d.post(fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", namespace, name),
		[]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":7200}}`))
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.Status.Token == "" {
		d.tb.Fatalf("TokenRequest for %s/%s: %v %s", namespace, name, err, body)
	}
	return tr.Status.Token
}

// node creates a node kwok manages.
func (d *demo) node(name string) {
	key, value, _ := bytes.Cut([]byte(testpeers.KwokNodeSelector), []byte("="))
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": map[string]string{string(key): string(value), "kubernetes.io/hostname": name}},
		"status": map[string]any{
			"capacity":    map[string]string{"cpu": "4", "memory": "16Gi", "pods": "110"},
			"allocatable": map[string]string{"cpu": "4", "memory": "16Gi", "pods": "110"},
		},
	})
	d.post("/api/v1/nodes", body, http.StatusConflict)
}

// post sends body to path on the insecure port and returns the answer,
// which must be 201 or 200 or one of also.
func (d *demo) post(path string, body []byte, also ...int) []byte {
	resp, err := d.client.Post(d.insecureURL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		d.tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		d.tb.Fatalf("POST %s: %v", path, err)
	}
	if code := resp.StatusCode; code != http.StatusCreated && code != http.StatusOK && !slices.Contains(also, code) {
		d.tb.Fatalf("POST %s: %d %s", path, code, out)
	}
	return out
}
