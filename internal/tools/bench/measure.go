package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
	"github.com/portico-dev/portico/internal/programtb"
)

// bench runs the measurements on both servers, Portico first, one
// server at a time (the other idles).
type bench struct {
	o          options
	tb         *programtb.TB
	ctx        context.Context
	servers    [2]*server // Portico, kube-apiserver
	rows       []row
	loadBefore string
}

// payload makes a configmap about 2 KB in JSON.
var payload = strings.Repeat("0123456789abcdef", 125)

// tableAccept asks for a meta.k8s.io/v1 Table, as kubectl get does.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

func configMap(name string, data map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name},
		"data":     data,
	})
	return b
}

func (b *bench) measure() {
	p, k := b.servers[0], b.servers[1]
	b.loadBefore = loadAverage()
	// (g) idle RSS and time to /readyz, before any fixture.
	time.Sleep(2 * time.Second)
	b.rows = append(b.rows,
		valueRow("g. start to /readyz ok", p.startup.Seconds(), k.startup.Seconds(), formatSeconds),
		valueRow("g. idle RSS (server process)", float64(rss(p.pid)), float64(rss(k.pid)), formatBytes),
	)
	if b.o.schedOnly {
		b.measureScheduling()
		return
	}

	logf("fixtures: namespaces, one 2 KB configmap, 500 configmaps")
	for _, s := range b.servers {
		for _, ns := range []string{"bench", "list500", "create", "watch"} {
			b.mustCreate(s, "/api/v1/namespaces", []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, ns)))
		}
		b.mustCreate(s, "/api/v1/namespaces/bench/configmaps", configMap("cm-2k", map[string]string{"payload": payload}))
		b.fill(s, "list500", 500)
	}

	// (a) and (b): GET one configmap.
	const getPath = "/api/v1/namespaces/bench/configmaps/cm-2k"
	b.compare(fmt.Sprintf("a. GET 2 KB configmap, secure port, bearer token, %d clients", b.o.concurrency), "get",
		func(s *server) loadgen.Call { return b.get(s, getPath, "application/json") })
	b.rows = append(b.rows, loadRow(fmt.Sprintf("b. GET, insecure port (kube-apiserver has none), %d clients", b.o.concurrency),
		b.load(p, b.o.concurrency, b.getInsecure(p, getPath)), nil))
	if b.o.grpc {
		b.rows = append(b.rows, b.grpcRow(p))
	}

	// (c) LIST 500.
	b.compare(fmt.Sprintf("c. LIST 500 configmaps, JSON, %d clients", b.o.concurrency), "list",
		func(s *server) loadgen.Call {
			return b.get(s, "/api/v1/namespaces/list500/configmaps", "application/json")
		})
	b.compare(fmt.Sprintf("c. LIST 500 configmaps, Table, %d clients", b.o.concurrency), "",
		func(s *server) loadgen.Call { return b.get(s, "/api/v1/namespaces/list500/configmaps", tableAccept) })

	// (d) CREATE.
	b.compare(fmt.Sprintf("d. CREATE 2 KB configmap, %d clients", b.o.concurrency), "",
		func(s *server) loadgen.Call { return b.create(s, "create", "c") })

	// (f) LIST latency as the count grows, one client.
	for _, n := range b.o.scale {
		ns := fmt.Sprintf("scale-%d", n)
		logf("fixtures: %d configmaps in %s", n, ns)
		for _, s := range b.servers {
			b.mustCreate(s, "/api/v1/namespaces", []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, ns)))
			b.fill(s, ns, n)
		}
		b.compare(fmt.Sprintf("f. LIST %d configmaps, JSON, 1 client", n), "",
			func(s *server) loadgen.Call {
				return b.get(s, "/api/v1/namespaces/"+ns+"/configmaps", "application/json")
			}, 1)
		if n > pageSize {
			b.compare(fmt.Sprintf("f. LIST %d configmaps in pages of %d (kubectl's default), whole list, 1 client", n, pageSize), "",
				func(s *server) loadgen.Call { return b.pagedList(s, "/api/v1/namespaces/"+ns+"/configmaps") }, 1)
		}
	}

	// (e) watch fan-out; (f) RSS with everything stored and the
	// watches still open.
	var watchRSS [2]int64
	var fan [2]*fanout
	for i, s := range b.servers {
		logf("%s: %d watchers, %d writes", s.name, b.o.watchers, b.o.writes)
		fan[i], watchRSS[i] = b.watchFanout(s)
	}
	b.rows = append(b.rows, fanoutRows(b.o, fan)...)
	stored := 500 + 1
	for _, n := range b.o.scale {
		stored += n
	}
	b.rows = append(b.rows, valueRow(fmt.Sprintf("f. RSS, %d+ stored 2 KB configmaps, %d open watches", stored, b.o.watchers),
		float64(watchRSS[0]), float64(watchRSS[1]), formatBytes))
	b.measureScheduling()
}

// measureScheduling is (h), the real kube-scheduler binding pods
// through each server, one server at a time.
func (b *bench) measureScheduling() {
	if b.o.schedPods == 0 {
		return
	}
	var r [2]*scheduling
	for i, s := range b.servers {
		r[i] = b.scheduling(s)
	}
	b.rows = append(b.rows, schedulingRow(b.o, r))
}

// compare runs the same load on both servers and adds a row; prof
// names Portico's CPU profile of it with -profile ("" for none).
func (b *bench) compare(name, prof string, call func(*server) loadgen.Call, clients ...int) {
	c := b.o.concurrency
	if len(clients) > 0 {
		c = clients[0]
	}
	var res [2]*loadgen.Result
	for i, s := range b.servers {
		logf("%s: %s", s.name, name)
		profiled := b.profile(s, prof, b.o.duration)
		res[i] = b.load(s, c, call(s))
		profiled()
	}
	b.rows = append(b.rows, loadRow(name, res[0], res[1]))
}

func (b *bench) load(s *server, clients int, call loadgen.Call) *loadgen.Result {
	if b.ctx.Err() != nil {
		b.tb.Fatal("interrupted")
	}
	r, err := loadgen.Run(b.ctx, loadgen.Options{Concurrency: clients, Duration: b.o.duration, MaxRequests: 10_000_000}, call)
	if err != nil {
		b.tb.Fatalf("%s: %v", s.name, err)
	}
	if r.Failed > 0 {
		logf("%s: %d of %d failed, codes %v", s.name, r.Failed, r.N, r.Codes)
	}
	return &r
}

func (b *bench) request(ctx context.Context, s *server, method, path, accept string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (b *bench) get(s *server, path, accept string) loadgen.Call {
	call := loadgen.HTTP(s.client, func(ctx context.Context, _ int) (*http.Request, error) {
		return b.request(ctx, s, http.MethodGet, path, accept, nil)
	})
	var once sync.Once
	return func(ctx context.Context, i int) (int, error) {
		status, err := call(ctx, i)
		if err == nil && status >= 300 {
			once.Do(func() { b.explain(s, path, accept) })
		}
		return status, err
	}
}

// explain logs the answer to one more GET of path, after one failed:
// the table only counts failures.
func (b *bench) explain(s *server, path, accept string) {
	req, err := b.request(b.ctx, s, http.MethodGet, path, accept, nil)
	if err != nil {
		return
	}
	resp, err := s.client.Do(req)
	if err != nil {
		logf("%s: GET %s: %v", s.name, path, err)
		return
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	logf("%s: GET %s: %s %s", s.name, path, resp.Status, msg)
}

func (b *bench) getInsecure(s *server, path string) loadgen.Call {
	return loadgen.HTTP(s.plain, func(ctx context.Context, _ int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.insecureURL+path, nil)
		if err == nil {
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	})
}

// create POSTs a fresh 2 KB configmap (prefix-N) into ns.
func (b *bench) create(s *server, ns, prefix string) loadgen.Call {
	return loadgen.HTTP(s.client, func(ctx context.Context, i int) (*http.Request, error) {
		return b.request(ctx, s, http.MethodPost, "/api/v1/namespaces/"+ns+"/configmaps", "application/json",
			configMap(fmt.Sprintf("%s-%d", prefix, i), map[string]string{"payload": payload}))
	})
}

// fill creates n 2 KB configmaps in ns with -c clients.
func (b *bench) fill(s *server, ns string, n int) {
	r, err := loadgen.Run(b.ctx, loadgen.Options{Concurrency: b.o.concurrency, Duration: loadgen.MaxDuration, MaxRequests: n}, b.create(s, ns, "obj"))
	if err != nil || r.Failed > 0 || r.N != n {
		b.tb.Fatalf("%s: filling %s: %d of %d made, %d failed, codes %v, %v", s.name, ns, r.N, n, r.Failed, r.Codes, err)
	}
}

func (b *bench) mustCreate(s *server, path string, body []byte) {
	b.post(s, path, body, false)
}

// ensureExists is mustCreate where the object may exist already.
func (b *bench) ensureExists(s *server, path string, body []byte) {
	b.post(s, path, body, true)
}

func (b *bench) post(s *server, path string, body []byte, mayExist bool) {
	req, err := b.request(b.ctx, s, http.MethodPost, path, "application/json", body)
	if err != nil {
		b.tb.Fatal(err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.tb.Fatalf("%s: POST %s: %v", s.name, path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && !(mayExist && resp.StatusCode == http.StatusConflict) {
		b.tb.Fatalf("%s: POST %s: %d %s", s.name, path, resp.StatusCode, msg)
	}
}

// pageSize is kubectl get's --chunk-size default.
const pageSize = 500

// pagedList reads the whole list page by page (limit and continue), as
// kubectl and client-go's pager do; one call is the whole list.
func (b *bench) pagedList(s *server, path string) loadgen.Call {
	return func(ctx context.Context, _ int) (int, error) {
		cont := ""
		for {
			q := url.Values{"limit": {fmt.Sprint(pageSize)}}
			if cont != "" {
				q.Set("continue", cont)
			}
			req, err := b.request(ctx, s, http.MethodGet, path+"?"+q.Encode(), "application/json", nil)
			if err != nil {
				return 0, err
			}
			resp, err := s.client.Do(req)
			if err != nil {
				return 0, err
			}
			var page struct {
				Metadata struct {
					Continue string `json:"continue"`
				} `json:"metadata"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return resp.StatusCode, nil
			}
			if err != nil {
				return 0, err
			}
			if page.Metadata.Continue == "" {
				return http.StatusOK, nil
			}
			cont = page.Metadata.Continue
		}
	}
}
