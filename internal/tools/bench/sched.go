package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
	"github.com/portico-dev/portico/internal/testpeers"
)

// scheduling is what (h) measured on one server.
type scheduling struct {
	// elapsed is from the first create sent to the last pod seen bound.
	elapsed time.Duration
	// latencies from each pod's create sent to its binding seen in a
	// watch, sorted.
	latencies []time.Duration
	bound     int
}

// schedulingGrace bounds how long (h) waits for every pod to be bound.
const schedulingGrace = 120 * time.Second

// schedulerQPS is the real scheduler's client rate (--kube-api-qps and
// --kube-api-burst): its default, 50 a second, would be what both
// servers measure.
const schedulerQPS = 5000

// scheduling runs (h) on one server: o.schedNodes Ready nodes (plain
// Node objects with room for every pod, nothing runs them), the real
// kube-scheduler with the server's admin token, and o.schedPods pods
// created with -c clients; it measures from the first create until the
// scheduler has bound the last one, as a watch of the pods sees it.
// The scheduler is stopped before it returns.
func (b *bench) scheduling(s *server) *scheduling {
	logf("%s: %d nodes, the real kube-scheduler, %d pods", s.name, b.o.schedNodes, b.o.schedPods)
	for _, ns := range []string{"sched", "sched-warm"} {
		b.mustCreate(s, "/api/v1/namespaces", []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, ns)))
		// ServiceAccount admission wants the pods' account; no
		// controller-manager runs beside kube-apiserver to make it.
		b.ensureExists(s, "/api/v1/namespaces/"+ns+"/serviceaccounts", []byte(`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}}`))
	}
	for i := range b.o.schedNodes {
		name := fmt.Sprintf("bench-node-%d", i)
		b.mustCreate(s, "/api/v1/nodes", node(name))
		// kube-apiserver's TaintNodesByCondition taints a new node
		// not-ready until the node lifecycle controller, which does
		// not run here, sees it Ready: the taint goes as it would.
		b.untaint(s, name)
	}
	kubeconfig := filepath.Join(b.tb.TempDir(), "scheduler.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(testpeers.TokenKubeconfig(b.tb, s.url, s.caFile, s.token)), 0o600); err != nil {
		b.tb.Fatal(err)
	}
	sched := testpeers.StartKubeScheduler(b.tb, &testpeers.KubeAPIServer{Kubeconfig: kubeconfig},
		fmt.Sprintf("--kube-api-qps=%d", schedulerQPS), fmt.Sprintf("--kube-api-burst=%d", schedulerQPS))
	defer sched.Stop()
	// One pod bound first: the scheduler has listed the nodes.
	ctx, cancel := context.WithTimeout(b.ctx, schedulingGrace)
	defer cancel()
	warm := b.watchBound(ctx, s, "sched-warm", 1)
	b.mustCreate(s, "/api/v1/namespaces/sched-warm/pods", pod("warm"))
	if seen := <-warm; len(seen) != 1 {
		b.tb.Fatalf("%s: the scheduler bound no pod within %s", s.name, schedulingGrace)
	}
	var (
		mu   sync.Mutex
		sent = map[string]time.Time{}
	)
	bound := b.watchBound(ctx, s, "sched", b.o.schedPods)
	start := time.Now()
	create := loadgen.HTTP(s.client, func(ctx context.Context, i int) (*http.Request, error) {
		name := fmt.Sprintf("p-%d", i)
		mu.Lock()
		sent[name] = time.Now()
		mu.Unlock()
		return b.request(ctx, s, http.MethodPost, "/api/v1/namespaces/sched/pods", "application/json", pod(name))
	})
	r, err := loadgen.Run(b.ctx, loadgen.Options{Concurrency: b.o.concurrency, Duration: loadgen.MaxDuration, MaxRequests: b.o.schedPods}, create)
	if err != nil || r.Failed > 0 || r.N != b.o.schedPods {
		b.tb.Fatalf("%s: creating %d pods: %d made, %d failed, codes %v, %v", s.name, b.o.schedPods, r.N, r.Failed, r.Codes, err)
	}
	seen := <-bound
	res := &scheduling{bound: len(seen)}
	for name, at := range seen {
		mu.Lock()
		t0, ok := sent[name]
		mu.Unlock()
		if ok {
			res.latencies = append(res.latencies, at.Sub(t0))
		}
		res.elapsed = max(res.elapsed, at.Sub(start))
	}
	slices.Sort(res.latencies)
	if res.bound < b.o.schedPods {
		logf("%s: only %d of %d pods bound within %s", s.name, res.bound, b.o.schedPods, schedulingGrace)
	}
	return res
}

// watchBound watches the pods of ns from now and sends, once want of
// them have a node or ctx ends, when each was first seen bound. A watch
// the server ends (kube-apiserver closes one it finds slow to read) is
// resumed from its last resourceVersion, as client-go's reflector does.
// The first watch is open when it returns.
func (b *bench) watchBound(ctx context.Context, s *server, ns string, want int) <-chan map[string]time.Time {
	rv := b.listRV(s, "/api/v1/namespaces/"+ns+"/pods?limit=1")
	open := func() (*http.Response, error) {
		req, err := b.request(ctx, s, http.MethodGet, "/api/v1/namespaces/"+ns+"/pods?watch=1&timeoutSeconds=300&resourceVersion="+rv, "application/json", nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("watching pods from %s: %s", rv, resp.Status)
		}
		return resp, err
	}
	resp, err := open()
	if err != nil {
		b.tb.Fatalf("%s: %v", s.name, err)
	}
	out := make(chan map[string]time.Time, 1)
	go func() {
		seen := map[string]time.Time{}
		defer func() { out <- seen }()
		for {
			b.readBound(resp.Body, seen, want, &rv)
			resp.Body.Close()
			if len(seen) >= want || ctx.Err() != nil {
				return
			}
			if resp, err = open(); err != nil {
				logf("%s: %v", s.name, err)
				return
			}
		}
	}()
	return out
}

// readBound reads watch events until want pods are seen bound or the
// stream ends, noting when each was first seen bound and the last
// resourceVersion.
func (b *bench) readBound(body io.Reader, seen map[string]time.Time, want int, rv *string) {
	dec := json.NewDecoder(body)
	for len(seen) < want {
		var ev struct {
			Object struct {
				Metadata struct {
					Name            string `json:"name"`
					ResourceVersion string `json:"resourceVersion"`
				} `json:"metadata"`
				Spec struct {
					NodeName string `json:"nodeName"`
				} `json:"spec"`
			} `json:"object"`
		}
		if dec.Decode(&ev) != nil {
			return
		}
		if v := ev.Object.Metadata.ResourceVersion; v != "" {
			*rv = v
		}
		if name := ev.Object.Metadata.Name; ev.Object.Spec.NodeName != "" && name != "" {
			if _, ok := seen[name]; !ok {
				seen[name] = time.Now()
			}
		}
	}
}

// untaint removes every taint of a node.
func (b *bench) untaint(s *server, name string) {
	req, err := b.request(b.ctx, s, http.MethodPatch, "/api/v1/nodes/"+name, "application/json", []byte(`{"spec":{"taints":null}}`))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, err := s.client.Do(req)
	if err != nil {
		b.tb.Fatalf("%s: untaint %s: %v", s.name, name, err)
	}
	defer resp.Body.Close()
	if msg, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		b.tb.Fatalf("%s: untaint %s: %d %s", s.name, name, resp.StatusCode, msg)
	}
}

// node is a Ready node with room for every pod the measurement makes.
func node(name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": name, "labels": map[string]string{"kubernetes.io/hostname": name}},
		"status": map[string]any{
			"capacity":    map[string]string{"cpu": "64", "memory": "256Gi", "pods": "500"},
			"allocatable": map[string]string{"cpu": "64", "memory": "256Gi", "pods": "500"},
			"conditions":  []map[string]string{{"type": "Ready", "status": "True"}},
		},
	})
	return b
}

// pod is a pod for the scheduler to bind, with a small CPU request.
func pod(name string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"containers": []map[string]any{{
			"name": "c", "image": "registry.invalid/never-pulled",
			"resources": map[string]any{"requests": map[string]string{"cpu": "10m", "memory": "16Mi"}},
		}}},
	})
	return b
}

// schedulingRow is (h)'s row: pods bound a second, from the first
// create to the last binding, with each pod's create-to-bound latency.
func schedulingRow(o options, r [2]*scheduling) row {
	cells := func(s *scheduling) ([3]string, float64) {
		if s == nil || s.bound == 0 || s.elapsed <= 0 {
			return [3]string{notMeasured, notMeasured, notMeasured}, 0
		}
		rate := float64(s.bound) / s.elapsed.Seconds()
		cell := formatRate(rate)
		if s.bound < o.schedPods {
			cell = fmt.Sprintf("%s (%d of %d bound)", cell, s.bound, o.schedPods)
			rate = 0
		}
		return [3]string{cell, formatDuration(loadgen.Percentile(s.latencies, 0.5)), formatDuration(loadgen.Percentile(s.latencies, 0.99))}, rate
	}
	pc, pr := cells(r[0])
	kc, kr := cells(r[1])
	return row{
		name:    fmt.Sprintf("h. real kube-scheduler: %d pods created (%d clients) onto %d nodes, pods bound/s, create-to-bound latency", o.schedPods, o.concurrency, o.schedNodes),
		portico: pc, kube: kc, ratio: formatRatio(pr, kr),
	}
}
