package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/portico-dev/portico/internal/cluster"
	"github.com/portico-dev/portico/internal/testwait"
)

// chaosRequestTimeout is the gateways' --request-timeout in the chaos
// cluster: the bound on any answer while etcd has no quorum.
const chaosRequestTimeout = 8 * time.Second

// chaosNamespace holds the load's objects.
const chaosNamespace = "chaos"

// TestChaos (issue 13): the cluster layout under a steady load of
// creates, updates (compare-and-swap on resourceVersion) and watches
// through both gateways, while one etcd member, one api, one authz,
// one authn and one gateway are killed with SIGKILL in turn and started
// again. Afterwards every acknowledged write is stored with its last
// acknowledged value (or a later one whose answer was lost), every
// watcher that resumed from its last resourceVersion saw every
// acknowledged write once and in order, and the error window of each
// kill is printed. Then a majority of etcd members goes: writes and
// quorum reads fail with a 503 or 504 Status within the request timeout,
// and everything recovers when the members return, with no Portico
// process restarted.
func TestChaos(t *testing.T) {
	r := startChaos(t)
	c := r.c
	readsAcrossGateways(t, r)
	porticoPIDs := map[string]int{}
	for _, fault := range []struct {
		what string
		p    *cluster.Process
	}{
		{"etcd leader", c.etcdLeader(t)},
		{"api replica", c.APIs[0]},
		{"authz replica", c.Authzs[0]},
		{"authn replica", c.Authns[0]},
		{"gateway", c.Gateways[1]},
	} {
		r.fault(t, "SIGKILL "+fault.what, fault.p, fault.p.Kill, 150)
	}
	for _, p := range c.All() {
		if p.Role != cluster.RoleEtcd {
			porticoPIDs[p.Name] = p.PID()
		}
	}
	r.verify(t)

	chaosMajorityDown(t, c, r.client, r.urls)
	for name, pid := range porticoPIDs {
		if got := c.Process(name).PID(); got != pid {
			t.Errorf("%s was restarted (pid %d, then %d)", name, pid, got)
		}
	}
}

// TestGracefulStop (issue 13): under the same load, a rolling restart:
// SIGTERM to every process in turn (each etcd member, api, authn, authz
// and gateway replica), each started again before the next. No request
// fails: a stopping replica finishes what it has and ends its watches
// with Unavailable, on which callers resume on another replica; a
// stopping gateway ends its watches cleanly (the watchers resume from
// their last resourceVersion) and its refused connections go to the
// other gateway, as behind a load balancer. The checks of TestChaos hold.
func TestGracefulStop(t *testing.T) {
	r := startChaos(t)
	for _, p := range r.c.All() {
		failed := r.fault(t, "SIGTERM", p, func() error { return p.Stop(30 * time.Second) }, 60)
		for what, n := range failed {
			// A stopping etcd leader hands its leadership over; a
			// proposal in flight then may time out (etcd's own 7s):
			// its outcome is unknown and it is answered so, 504.
			if p.Role == cluster.RoleEtcd && strings.Contains(what, " 504 ") {
				continue
			}
			t.Errorf("SIGTERM %s: %d requests failed: %s", p.Name, n, what)
		}
	}
	r.verify(t)
}

// chaosRun is the chaos cluster with its load running.
type chaosRun struct {
	c        *testCluster
	client   *http.Client
	urls     []string
	load     *chaosLoad
	watchers []*chaosWatcher

	stopWrites, stopWatches context.CancelFunc
	writes, watches         sync.WaitGroup
}

// startChaos starts the cluster, a namespace, 4 writers and a watcher
// through each gateway.
func startChaos(t *testing.T) *chaosRun {
	c := startCluster(t, map[string][]string{
		cluster.RoleGateway: {"--request-timeout", chaosRequestTimeout.String()},
		// A window larger than the events of the longest outage, so that
		// a resumed watch never needs to list again.
		cluster.RoleAPI: {"--default-watch-cache-size", "20000"},
	})
	r := &chaosRun{c: c, client: c.client(t, "", "", 2*chaosRequestTimeout)}
	for _, g := range c.Gateways {
		r.urls = append(r.urls, g.Address)
	}
	if code, _, body := httpDo(t, r.client, "POST", r.urls[0]+"/api/v1/namespaces", "application/json",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+chaosNamespace+`"}}`); code != http.StatusCreated {
		t.Fatalf("create namespace: %d %s", code, body)
	}
	_, _, body := httpDo(t, r.client, "GET", r.urls[0]+"/api/v1/namespaces/"+chaosNamespace+"/configmaps", "", "")
	var list struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || list.Metadata.ResourceVersion == "" {
		t.Fatalf("list: %v %s", err, body)
	}
	r.load = &chaosLoad{urls: r.urls, client: r.client, objects: map[string]*chaosObject{}}
	writeCtx, stopWrites := context.WithCancel(context.Background())
	watchCtx, stopWatches := context.WithCancel(context.Background())
	r.stopWrites, r.stopWatches = stopWrites, stopWatches
	const writers = 4
	for w := range writers {
		r.writes.Go(func() { r.load.write(writeCtx, w) })
	}
	r.watchers = make([]*chaosWatcher, len(r.urls))
	for i := range r.urls {
		r.watchers[i] = &chaosWatcher{load: r.load, gw: i, rv: list.Metadata.ResourceVersion}
		r.watches.Go(func() { r.watchers[i].run(watchCtx) })
	}
	t.Cleanup(func() { stopWrites(); stopWatches(); r.writes.Wait(); r.watches.Wait() })
	r.acks(t, "before the first fault", 40)
	return r
}

// acks waits until n more writes have been acknowledged: the service
// goes on (and time passes under load) without a sleep.
func (r *chaosRun) acks(t *testing.T, what string, n int) {
	t.Helper()
	from := r.load.acked()
	testwait.Until(t, 60*time.Second, fmt.Sprintf("%d acknowledged writes %s", n, what), func() bool { return r.load.acked() >= from+n })
}

// fault ends p with end, lets the load run for n acknowledged writes,
// starts p again, and logs what the load saw; it returns how many
// requests failed, by what failed.
func (r *chaosRun) fault(t *testing.T, what string, p *cluster.Process, end func() error, n int) map[string]int {
	t.Helper()
	start := time.Now()
	if err := end(); err != nil {
		t.Fatal(err)
	}
	r.acks(t, "with "+p.Name+" gone", n)
	down := time.Since(start)
	if err := r.c.Restart(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	r.acks(t, "after "+p.Name+" restarted", 40)
	// A request begun in this fault's time is this fault's, also one
	// still waiting (an etcd proposal's 7 s): wait for its answer, so
	// that it is not counted against the next fault instead.
	until := time.Now()
	testwait.Until(t, 2*chaosRequestTimeout, "the answers of requests sent while "+p.Name+" was gone", func() bool { return !r.load.inFlightBefore(until) })
	s, failed := r.load.summary(start, until)
	t.Logf("%s %s, down %s, restarted: %s", what, p.Name, down.Round(time.Millisecond), s)
	return failed
}

// verify stops the writers and checks that every acknowledged write is
// stored with its last acknowledged value (or a later one whose answer
// was lost), and that every watcher saw every acknowledged write once,
// in order.
func (r *chaosRun) verify(t *testing.T) {
	t.Helper()
	r.stopWrites()
	r.writes.Wait()
	objects, maxRV := r.load.snapshot()
	if len(objects) < 100 {
		t.Fatalf("only %d objects written under load", len(objects))
	}
	for name, o := range objects {
		if !o.created {
			continue
		}
		code, _, body := httpDo(t, r.client, "GET", r.urls[0]+"/api/v1/namespaces/"+chaosNamespace+"/configmaps/"+name, "", "")
		if code != http.StatusOK {
			t.Errorf("acknowledged %s: %d %s", name, code, body)
			continue
		}
		v := configMapValue(t, body)
		if v < o.lastAck || v > o.maxTried {
			t.Errorf("%s holds v=%d; acknowledged up to %d, tried up to %d", name, v, o.lastAck, o.maxTried)
		}
	}
	for _, w := range r.watchers {
		testwait.Until(t, 30*time.Second, fmt.Sprintf("watcher %d at resourceVersion %d", w.gw, maxRV), func() bool { return w.last.Load() >= maxRV })
	}
	r.stopWatches()
	r.watches.Wait()
	for _, w := range r.watchers {
		w.check(t, objects, maxRV)
	}
	t.Logf("load: %d objects, %d acknowledged writes, all stored; watchers resumed %d and %d times and saw each once, in order",
		len(objects), r.load.acked(), r.watchers[0].resumes, r.watchers[1].resumes)
}

// chaosMajorityDown kills two of the three etcd members: writes and
// quorum reads must fail with a 503 or 504 Status within the request
// timeout, never hang or succeed; with the members back, everything
// works again.
func chaosMajorityDown(t *testing.T, c *testCluster, httpc *http.Client, urls []string) {
	for _, m := range c.Etcd[1:] {
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	downAt := time.Now()
	base := urls[0] + "/api/v1/namespaces/" + chaosNamespace + "/configmaps"
	for _, r := range []struct{ what, method, url, body string }{
		{"create", "POST", base, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"no-quorum"}}`},
		{"get (quorum read)", "GET", base + "/cm-0-0", ""},
		{"list (quorum read)", "GET", base, ""},
		{"create through the other gateway", "POST", strings.Replace(base, urls[0], urls[1], 1), `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"no-quorum-2"}}`},
	} {
		start := time.Now()
		code, _, body := httpDo(t, httpc, r.method, r.url, "application/json", r.body)
		took := time.Since(start)
		if code != http.StatusServiceUnavailable && code != http.StatusGatewayTimeout {
			t.Errorf("no quorum, %s: %d %s, want 503 or 504", r.what, code, body)
		} else if st := parseStatus(t, body); st.Code != code {
			t.Errorf("no quorum, %s: Status code %d in a %d answer", r.what, st.Code, code)
		}
		if took > chaosRequestTimeout+2*time.Second {
			t.Errorf("no quorum, %s took %s: more than the request timeout %s", r.what, took, chaosRequestTimeout)
		}
		t.Logf("no quorum, %s: %d in %s", r.what, code, took.Round(time.Millisecond))
	}
	for _, m := range c.Etcd[1:] {
		if err := c.Restart(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	back := time.Now()
	for i, u := range urls {
		testwait.Until(t, 60*time.Second, "writes through "+u+" with the members back", func() bool {
			req, _ := http.NewRequest("POST", u+"/api/v1/namespaces/"+chaosNamespace+"/configmaps",
				strings.NewReader(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"recovered-%d"}}`, i)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := httpc.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict
		})
	}
	t.Logf("majority of etcd down for %s; writes again %s after the members were ready", back.Sub(downAt).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
}

// etcdLeader is the member that leads the etcd cluster now: killing it
// costs an election.
func (c *testCluster) etcdLeader(t *testing.T) *cluster.Process {
	t.Helper()
	cfg, err := c.ClientTLS("api", "")
	if err != nil {
		t.Fatal(err)
	}
	var eps []string
	for _, m := range c.Etcd {
		eps = append(eps, m.Address)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, TLS: cfg, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, m := range c.Etcd {
		st, err := cli.Status(ctx, m.Address)
		if err != nil {
			t.Fatalf("etcd status of %s: %v", m.Name, err)
		}
		if st.Header.GetMemberId() == st.Leader {
			return m
		}
	}
	t.Fatal("no etcd member leads")
	return nil
}

// readsAcrossGateways (issue 11): under the load, each write through one
// gateway is what the next GET through the other one reads, whichever api
// replica (each with its own watch cache) either reaches.
func readsAcrossGateways(t *testing.T, r *chaosRun) {
	t.Helper()
	const ns = "chaos-reads"
	if code, _, body := httpDo(t, r.client, "POST", r.urls[0]+"/api/v1/namespaces", "application/json",
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`); code != http.StatusCreated {
		t.Fatalf("create namespace: %d %s", code, body)
	}
	path := "/api/v1/namespaces/" + ns + "/configmaps"
	if code, _, body := httpDo(t, r.client, "POST", r.urls[0]+path, "application/json",
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"v":"0"}}`); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	for i := 1; i <= 20; i++ {
		write, read := r.urls[i%2], r.urls[(i+1)%2]
		code, _, body := httpDo(t, r.client, "PATCH", write+path+"/c", "application/merge-patch+json", fmt.Sprintf(`{"data":{"v":"%d"}}`, i))
		if code != http.StatusOK {
			t.Fatalf("write %d through %s: %d %s", i, write, code, body)
		}
		code, _, body = httpDo(t, r.client, "GET", read+path+"/c", "", "")
		if code != http.StatusOK {
			t.Fatalf("read %d through %s: %d %s", i, read, code, body)
		}
		if v := configMapValue(t, body); v != i {
			t.Fatalf("write %d through %s, then read through %s: v=%d", i, write, read, v)
		}
	}
}

func configMapValue(t *testing.T, body string) int {
	t.Helper()
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &cm); err != nil {
		t.Fatalf("configmap: %v %s", err, body)
	}
	v, err := strconv.Atoi(cm.Data["v"])
	if err != nil {
		t.Fatalf("configmap data %v", cm.Data)
	}
	return v
}

// chaosLoad is the writers' shared record.
type chaosLoad struct {
	urls   []string
	client *http.Client

	mu      sync.Mutex
	objects map[string]*chaosObject
	ops     []chaosOp
	nAcked  int
	// inFlight are the start times of the requests not answered yet, by
	// a number of their own.
	inFlight map[int]time.Time
	nextOp   int
	// ackRVs are the resourceVersions of acknowledged writes, by object.
	ackRVs map[string][]int64
}

// chaosObject is what a writer knows of one of its objects.
type chaosObject struct {
	created           bool // a create was acknowledged
	lastAck, maxTried int
}

// chaosOp is one request of the load.
type chaosOp struct {
	start, end time.Time
	ok         bool
	what       string // "create 503", "update: EOF", ...
}

func (l *chaosLoad) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nAcked
}

// begin notes a request being sent; its end, ended.
func (l *chaosLoad) begin() (id int, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = map[int]time.Time{}
	}
	id, start = l.nextOp, time.Now()
	l.nextOp++
	l.inFlight[id] = start
	return id, start
}

func (l *chaosLoad) ended(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.inFlight, id)
}

// inFlightBefore reports whether a request sent before t has no answer
// yet.
func (l *chaosLoad) inFlightBefore(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, start := range l.inFlight {
		if start.Before(t) {
			return true
		}
	}
	return false
}

func (l *chaosLoad) record(op chaosOp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
}

// summary is the requests between from and to: how many failed, the
// error window (first failure's start to last failure's end), the
// slowest answer.
func (l *chaosLoad) summary(from, to time.Time) (string, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n, failed int
	var first, last, lastWrite time.Time
	var slowest, gap time.Duration
	kinds := map[string]int{}
	for _, op := range l.ops {
		// Those cut off by the kill too: they started before it.
		if op.end.Before(from) || op.start.After(to) {
			continue
		}
		n++
		slowest = max(slowest, op.end.Sub(op.start))
		if op.ok {
			if !strings.HasPrefix(op.what, "read") {
				if !lastWrite.IsZero() {
					gap = max(gap, op.end.Sub(lastWrite))
				}
				lastWrite = op.end
			}
			continue
		}
		failed++
		kinds[op.what]++
		if first.IsZero() || op.start.Before(first) {
			first = op.start
		}
		if op.end.After(last) {
			last = op.end
		}
	}
	window := time.Duration(0)
	if failed > 0 {
		window = last.Sub(first)
	}
	return fmt.Sprintf("%d of %d requests failed %v, error window %s, longest gap between acknowledged writes %s, slowest answer %s",
		failed, n, kinds, window.Round(100*time.Microsecond), gap.Round(time.Millisecond), slowest.Round(time.Millisecond)), kinds
}

func (l *chaosLoad) snapshot() (map[string]chaosObject, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]chaosObject{}
	var maxRV int64
	for name, o := range l.objects {
		out[name] = *o
		for _, rv := range l.ackRVs[name] {
			maxRV = max(maxRV, rv)
		}
	}
	return out, maxRV
}

// write is one writer: it creates objects by name and updates each a
// few times with compare-and-swap, through one gateway until that
// gateway cannot be reached, then the other (a client with a load
// balancer in front would do the same). An answer that is not a success
// leaves the outcome unknown, so the writer reads the object again
// before going on.
func (l *chaosLoad) write(ctx context.Context, w int) {
	gw := w % len(l.urls)
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	const (
		needCreate = iota
		needRead
		ready
	)
	var (
		name            string
		k, updates      int
		state           = ready
		value           int
		resourceVersion string
	)
	base := func() string { return l.urls[gw] + "/api/v1/namespaces/" + chaosNamespace + "/configmaps" }
	do := func(what, method, url, body string) (int, string) {
		id, start := l.begin()
		defer l.ended(id) // after its record
		req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := l.client.Do(req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			// Never sent: the other gateway takes it, as a load
			// balancer in front of both would.
			old := l.urls[gw]
			gw = (gw + 1) % len(l.urls)
			req, _ = http.NewRequestWithContext(ctx, method, strings.Replace(url, old, l.urls[gw], 1), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err = l.client.Do(req)
		}
		if err != nil {
			if ctx.Err() == nil {
				l.record(chaosOp{start: start, end: time.Now(), what: what + " no answer"})
				gw = (gw + 1) % len(l.urls)
			}
			return 0, ""
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			// A status line without its whole body is no answer: the
			// gateway died mid-response, and client-go would see an
			// error too.
			if ctx.Err() == nil {
				l.record(chaosOp{start: start, end: time.Now(), what: what + " no answer"})
				gw = (gw + 1) % len(l.urls)
			}
			return 0, ""
		}
		ok := resp.StatusCode < 300 || (resp.StatusCode == http.StatusNotFound && what == "read")
		op := chaosOp{start: start, end: time.Now(), ok: ok, what: fmt.Sprintf("%s %d", what, resp.StatusCode)}
		if !ok {
			var st struct{ Message string }
			_ = json.Unmarshal(b, &st)
			op.what += " " + st.Message[:min(len(st.Message), 100)]
		}
		l.record(op)
		return resp.StatusCode, string(b)
	}
	// stored records the object's stored state; an acknowledged write
	// is counted and its resourceVersion kept for the watchers' check.
	stored := func(body string, acked bool) {
		var cm struct {
			Metadata struct{ ResourceVersion string } `json:"metadata"`
		}
		_ = json.Unmarshal([]byte(body), &cm)
		value, resourceVersion, state = readValue(body), cm.Metadata.ResourceVersion, ready
		n, _ := strconv.ParseInt(resourceVersion, 10, 64)
		l.mu.Lock()
		defer l.mu.Unlock()
		o := l.objects[name]
		o.created = true
		if !acked {
			return
		}
		o.lastAck = value
		l.nAcked++
		if l.ackRVs == nil {
			l.ackRVs = map[string][]int64{}
		}
		l.ackRVs[name] = append(l.ackRVs[name], n)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if state == ready && (name == "" || updates >= 5) {
			name, updates, state = fmt.Sprintf("cm-%d-%d", w, k), 0, needCreate
			k++
			l.mu.Lock()
			l.objects[name] = &chaosObject{}
			l.mu.Unlock()
		}
		switch state {
		case needCreate:
			code, body := do("create", "POST", base(), `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"`+name+`"},"data":{"v":"0"}}`)
			if code == http.StatusCreated {
				stored(body, true)
			} else {
				state = needRead // unknown: it may be stored
			}
		case needRead:
			switch code, body := do("read", "GET", base()+"/"+name, ""); code {
			case http.StatusOK:
				stored(body, false)
			case http.StatusNotFound:
				state = needCreate
			}
		case ready:
			l.mu.Lock()
			o := l.objects[name]
			o.maxTried = max(o.maxTried, value+1)
			l.mu.Unlock()
			code, body := do("update", "PUT", base()+"/"+name,
				fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"resourceVersion":%q},"data":{"v":"%d"}}`, name, resourceVersion, value+1))
			if code == http.StatusOK {
				stored(body, true)
				updates++
			} else {
				state = needRead
			}
		}
	}
}

func readValue(body string) int {
	var cm struct {
		Data map[string]string `json:"data"`
	}
	_ = json.Unmarshal([]byte(body), &cm)
	v, _ := strconv.Atoi(cm.Data["v"])
	return v
}

// chaosWatcher follows the namespace's config maps through one gateway,
// and when the stream ends or the gateway is gone, watches again from
// the last resourceVersion it saw (through the other gateway if this one
// does not answer), as client-go's reflector does.
type chaosWatcher struct {
	load *chaosLoad
	gw   int
	rv   string
	// last is rv as a number, read while the watcher runs.
	last atomic.Int64

	events  []chaosEvent
	errors  []string
	resumes int
}

type chaosEvent struct {
	name string
	rv   int64
}

func (w *chaosWatcher) run(ctx context.Context) {
	first := true
	for ctx.Err() == nil {
		if !first {
			w.resumes++
		}
		first = false
		url := w.load.urls[w.gw] + "/api/v1/namespaces/" + chaosNamespace + "/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=20&resourceVersion=" + w.rv
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := w.watchClient().Do(req)
		if err != nil {
			w.gw = (w.gw + 1) % len(w.load.urls)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				w.errors = append(w.errors, fmt.Sprintf("watch from %s: %d %s", w.rv, resp.StatusCode, b))
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				Type   string `json:"type"`
				Object struct {
					Metadata struct{ Name, ResourceVersion string } `json:"metadata"`
					Code     int                                    `json:"code"`
					Message  string                                 `json:"message"`
				} `json:"object"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				w.errors = append(w.errors, fmt.Sprintf("event %q: %v", sc.Text(), err))
				continue
			}
			if ev.Type == "ERROR" {
				w.errors = append(w.errors, fmt.Sprintf("ERROR event after %s: %d %s", w.rv, ev.Object.Code, ev.Object.Message))
				continue
			}
			w.rv = ev.Object.Metadata.ResourceVersion
			n, _ := strconv.ParseInt(w.rv, 10, 64)
			w.last.Store(n)
			if ev.Type != "BOOKMARK" {
				w.events = append(w.events, chaosEvent{name: ev.Object.Metadata.Name, rv: n})
			}
		}
		resp.Body.Close()
	}
}

// watchClient is the load's client without its overall timeout (a
// watch lasts).
func (w *chaosWatcher) watchClient() *http.Client {
	return &http.Client{Transport: w.load.client.Transport}
}

// check: the events' resourceVersions only grow (none twice, in order)
// and every acknowledged write is among them.
func (w *chaosWatcher) check(t *testing.T, objects map[string]chaosObject, maxRV int64) {
	t.Helper()
	for _, e := range w.errors {
		t.Errorf("watcher %d: %s", w.gw, e)
	}
	seen := map[int64]string{}
	for i, e := range w.events {
		if i > 0 && e.rv <= w.events[i-1].rv {
			t.Errorf("watcher: event %s@%d after %s@%d: out of order or twice", e.name, e.rv, w.events[i-1].name, w.events[i-1].rv)
		}
		seen[e.rv] = e.name
	}
	w.load.mu.Lock()
	defer w.load.mu.Unlock()
	missing := 0
	for name, rvs := range w.load.ackRVs {
		for _, rv := range rvs {
			if seen[rv] != name {
				missing++
				if missing <= 5 {
					t.Errorf("watcher: acknowledged write %s@%d not seen", name, rv)
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("watcher: %d acknowledged writes not seen", missing)
	}
}
