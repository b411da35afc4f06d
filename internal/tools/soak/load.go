package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

// namespace holds the soak's objects.
const namespace = "soak"

// op is one kind of request of the mix.
type op int

const (
	opCreate op = iota
	opUpdate
	opGet
	opList
	opDelete
)

func (o op) String() string {
	return [...]string{"create", "update", "get", "list", "delete"}[o]
}

// mixCycle is the mix: call i does mixCycle[i%len(mixCycle)]: 10%
// creates, 10% deletes, 30% updates, 40% gets, 10% lists.
var mixCycle = [...]op{opCreate, opUpdate, opGet, opUpdate, opGet, opDelete, opGet, opUpdate, opList, opGet}

// mix is the steady load: config maps in one namespace, a fixed pool
// updated (compare-and-swap on resourceVersion) and read, and churn:
// created, kept up to a bound, then deleted oldest first, so that the
// stored objects stay about pool+churn and a list's cost stays the same.
// Its state is shared by the gateways' workers.
type mix struct {
	client *http.Client
	pool   []*pooled
	churn  int

	seq  atomic.Int64
	mu   sync.Mutex
	live []string // created names, oldest first; at most churn
}

// pooled is one config map of the pool. A worker holding mu owns it;
// rv "" means its resourceVersion must be read again (an update's
// outcome was unknown).
type pooled struct {
	mu   sync.Mutex
	name string
	rv   string
}

func newMix(client *http.Client, pool, churn int) *mix {
	m := &mix{client: client, churn: churn}
	for i := range pool {
		m.pool = append(m.pool, &pooled{name: fmt.Sprintf("pool-%d", i)})
	}
	return m
}

// choose is the operation of call i, given how many created objects are
// live: a create past the bound deletes instead, a delete with nothing
// (more than half the bound) to delete creates instead.
func choose(i, live, churn int) op {
	o := mixCycle[i%len(mixCycle)]
	switch {
	case o == opCreate && live >= churn:
		return opDelete
	case o == opDelete && live < churn/2+1:
		return opCreate
	}
	return o
}

func configMapJSON(name, rv string, v int64) string {
	meta := fmt.Sprintf(`{"name":%q}`, name)
	if rv != "" {
		meta = fmt.Sprintf(`{"name":%q,"resourceVersion":%q}`, name, rv)
	}
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":%s,"data":{"v":"%d","pad":%q}}`, meta, v, strings.Repeat("x", 256))
}

// setup makes the namespace and the pool through base (a gateway).
func (m *mix) setup(ctx context.Context, base string) error {
	code, body, err := m.do(ctx, http.MethodPost, base+"/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+namespace+`"}}`)
	if err != nil {
		return err
	}
	if code != http.StatusCreated {
		return fmt.Errorf("create namespace %s: %d %s", namespace, code, body)
	}
	for _, p := range m.pool {
		code, body, err := m.do(ctx, http.MethodPost, base+"/api/v1/namespaces/"+namespace+"/configmaps", configMapJSON(p.name, "", 0))
		if err != nil {
			return err
		}
		if code != http.StatusCreated {
			return fmt.Errorf("create %s: %d %s", p.name, code, body)
		}
		p.rv = resourceVersion(body)
	}
	return nil
}

// call is the loadgen.Call of the workers of lane (0..lanes-1), the
// gateway at base. Each lane's run counts its calls from 0, so a lane
// takes every lanes-th pool object from its own offset: the lanes never
// pick the same object at the same moment.
func (m *mix) call(base string, lane, lanes int) loadgen.Call {
	coll := base + "/api/v1/namespaces/" + namespace + "/configmaps"
	return func(ctx context.Context, i int) (int, error) {
		p := m.pool[(i*lanes+lane)%len(m.pool)]
		m.mu.Lock()
		live := len(m.live)
		m.mu.Unlock()
		switch choose(i, live, m.churn) {
		case opCreate:
			name := fmt.Sprintf("churn-%d", m.seq.Add(1))
			code, _, err := m.do(ctx, http.MethodPost, coll, configMapJSON(name, "", 0))
			if err == nil && code == http.StatusCreated {
				m.mu.Lock()
				m.live = append(m.live, name)
				m.mu.Unlock()
			}
			return code, err
		case opDelete:
			m.mu.Lock()
			if len(m.live) == 0 {
				m.mu.Unlock()
				return m.get(ctx, coll, p.name)
			}
			name := m.live[0]
			m.live = m.live[1:]
			m.mu.Unlock()
			code, _, err := m.do(ctx, http.MethodDelete, coll+"/"+name, "")
			return code, err
		case opList:
			code, _, err := m.do(ctx, http.MethodGet, coll, "")
			return code, err
		case opUpdate:
			return m.update(ctx, coll, p, int64(i))
		default:
			return m.get(ctx, coll, p.name)
		}
	}
}

func (m *mix) get(ctx context.Context, coll, name string) (int, error) {
	code, _, err := m.do(ctx, http.MethodGet, coll+"/"+name, "")
	return code, err
}

// update writes p with its resourceVersion; when another worker holds p
// it reads p instead, and when p's resourceVersion is unknown it reads
// it, so a call is always one request and never a conflict of the
// load's own making.
func (m *mix) update(ctx context.Context, coll string, p *pooled, v int64) (int, error) {
	if !p.mu.TryLock() {
		return m.get(ctx, coll, p.name)
	}
	defer p.mu.Unlock()
	if p.rv == "" {
		code, body, err := m.do(ctx, http.MethodGet, coll+"/"+p.name, "")
		if err == nil && code == http.StatusOK {
			p.rv = resourceVersion(body)
		}
		return code, err
	}
	code, body, err := m.do(ctx, http.MethodPut, coll+"/"+p.name, configMapJSON(p.name, p.rv, v))
	p.rv = ""
	if err == nil && code == http.StatusOK {
		p.rv = resourceVersion(body)
	}
	return code, err
}

// bodyLimit bounds an answer read.
const bodyLimit = 16 << 20

func (m *mix) do(ctx context.Context, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

func resourceVersion(body []byte) string {
	var o struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	_ = json.Unmarshal(body, &o)
	return o.Metadata.ResourceVersion
}

// watchCounts are a gateway's watch events and errors (an ERROR event,
// or a watch refused) since they were last taken.
type watchCounts struct {
	events, errors atomic.Int64
}

// take returns the counts and starts again from 0.
func (w *watchCounts) take() (events, errors int64) {
	return w.events.Swap(0), w.errors.Swap(0)
}

// watcher keeps one watch open on the namespace's config maps through
// gateway gw, resuming from the last resourceVersion it saw when the
// stream ends (the gateways end a watch at its timeoutSeconds), and
// listing again after an ERROR event, as client-go's reflector does.
type watcher struct {
	client *http.Client // no overall timeout
	bases  []string
	gw     int
	counts []*watchCounts // by gateway
	log    *slog.Logger
}

func (w *watcher) run(ctx context.Context) {
	rv := ""
	for ctx.Err() == nil {
		base := w.bases[w.gw] + "/api/v1/namespaces/" + namespace + "/configmaps"
		if rv == "" {
			var err error
			if rv, err = w.list(ctx, base); err != nil {
				w.fail(ctx, "list", err)
				continue
			}
		}
		next, err := w.watch(ctx, base, rv)
		rv = next
		if err != nil {
			w.fail(ctx, "watch", err)
		}
	}
}

// fail counts an error and waits a little before the next try.
func (w *watcher) fail(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	w.counts[w.gw].errors.Add(1)
	w.log.Warn("watcher", "gateway", w.gw, "what", what, "error", err)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (w *watcher) list(ctx context.Context, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	if err != nil {
		return "", err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	rv := resourceVersion(b)
	if rv == "" {
		return "", errors.New("list without a resourceVersion")
	}
	return rv, nil
}

// watchTimeout is each watch's timeoutSeconds.
const watchTimeout = 60

// watch follows base from rv until the stream ends; it returns the last
// resourceVersion seen, "" after an ERROR event (list again).
func (w *watcher) watch(ctx context.Context, base, rv string) (string, error) {
	url := fmt.Sprintf("%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s", base, watchTimeout, rv)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return rv, err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return rv, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return rv, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Object struct {
				Metadata struct{ ResourceVersion string } `json:"metadata"`
				Code     int                              `json:"code"`
				Message  string                           `json:"message"`
			} `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return "", fmt.Errorf("event: %w", err)
		}
		if ev.Type == "ERROR" {
			return "", fmt.Errorf("ERROR event %d %s", ev.Object.Code, ev.Object.Message)
		}
		rv = ev.Object.Metadata.ResourceVersion
		if ev.Type != "BOOKMARK" {
			w.counts[w.gw].events.Add(1)
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return rv, err
	}
	return rv, nil
}
