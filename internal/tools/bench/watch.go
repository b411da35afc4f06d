package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

// fanout is what the watch fan-out measured on one server.
type fanout struct {
	// latencies from a write being sent to its event being decoded by a
	// watcher, one per delivered event, sorted.
	latencies []time.Duration
	delivered int
	expected  int
	// elapsed is from the first write sent to the last event delivered.
	elapsed time.Duration
}

func (f *fanout) missed() int { return f.expected - f.delivered }

// deliveryGrace is how long after the last write an event may still
// arrive; one later than that counts as missed.
const deliveryGrace = 120 * time.Second

// watchProfile is how long Portico's CPU profile of the fan-out lasts
// (from the first write; the delivery takes longer).
const watchProfile = 10 * time.Second

// watchersPerConn is how many watch streams share one HTTP/2
// connection (both servers allow more streams than this on one).
const watchersPerConn = 100

// watchFanout opens o.watchers watches of namespace "watch" at the same
// resourceVersion, writes o.writes small configmaps there (their data
// carries when each was sent) with -c writers, and waits until every
// watcher has every event or deliveryGrace after the last write; it returns what
// was delivered and the server's RSS while the watches are still open.
func (b *bench) watchFanout(s *server) (*fanout, int64) {
	rv := b.listRV(s, "/api/v1/namespaces/watch/configmaps?limit=1")
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var clients []*http.Client
	for i := 0; i < b.o.watchers; i += watchersPerConn {
		clients = append(clients, &http.Client{Transport: s.client.Transport.(*http.Transport).Clone()})
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	var (
		mu        sync.Mutex
		lats      []time.Duration
		delivered atomic.Int64
		last      atomic.Int64 // unix nanos of the last delivery
		wg        sync.WaitGroup
	)
	open := make(chan error, b.o.watchers)
	sem := make(chan struct{}, 32)
	for i := range b.o.watchers {
		wg.Add(1)
		go func(c *http.Client) {
			defer wg.Done()
			sem <- struct{}{}
			req, err := b.request(ctx, s, http.MethodGet,
				"/api/v1/namespaces/watch/configmaps?watch=1&timeoutSeconds=300&resourceVersion="+rv, "application/json", nil)
			if err != nil {
				<-sem
				open <- err
				return
			}
			resp, err := c.Do(req)
			<-sem
			if err != nil {
				open <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				open <- fmt.Errorf("watch: %s", resp.Status)
				return
			}
			open <- nil
			var local []time.Duration
			dec := json.NewDecoder(resp.Body)
			for n := 0; n < b.o.writes; {
				var ev struct {
					Type   string `json:"type"`
					Object struct {
						Data map[string]string `json:"data"`
					} `json:"object"`
				}
				if err := dec.Decode(&ev); err != nil {
					break
				}
				if ev.Type != "ADDED" {
					continue
				}
				now := time.Now()
				sent, err := strconv.ParseInt(ev.Object.Data["sent"], 10, 64)
				if err != nil {
					continue
				}
				local = append(local, now.Sub(time.Unix(0, sent)))
				n++
				delivered.Add(1)
				last.Store(now.UnixNano())
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}(clients[i/watchersPerConn])
	}
	for range b.o.watchers {
		if err := <-open; err != nil {
			b.tb.Fatalf("%s: opening the watches: %v", s.name, err)
		}
	}
	logf("%s: %d watches open; writing", s.name, b.o.watchers)
	start := time.Now()
	profiled := b.profile(s, "watch", watchProfile)
	defer profiled()
	write := loadgen.HTTP(s.client, func(ctx context.Context, i int) (*http.Request, error) {
		return b.request(ctx, s, http.MethodPost, "/api/v1/namespaces/watch/configmaps", "application/json",
			configMap(fmt.Sprintf("w-%d", i), map[string]string{"sent": strconv.FormatInt(time.Now().UnixNano(), 10)}))
	})
	r, err := loadgen.Run(b.ctx, loadgen.Options{Concurrency: b.o.concurrency, Duration: loadgen.MaxDuration, MaxRequests: b.o.writes}, write)
	if err != nil || r.Failed > 0 || r.N != b.o.writes {
		b.tb.Fatalf("%s: writing %d configmaps: %d made, %d failed, codes %v, %v", s.name, b.o.writes, r.N, r.Failed, r.Codes, err)
	}
	want := int64(b.o.writes) * int64(b.o.watchers)
	deadline := time.Now().Add(deliveryGrace)
	for delivered.Load() < want && time.Now().Before(deadline) && b.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	mem := rss(s.pid)
	cancel()
	wg.Wait()
	slices.Sort(lats)
	f := &fanout{latencies: lats, delivered: int(delivered.Load()), expected: int(want)}
	if l := last.Load(); l > 0 {
		f.elapsed = time.Unix(0, l).Sub(start)
	}
	return f, mem
}

// listRV is the resourceVersion of a list.
func (b *bench) listRV(s *server, path string) string {
	req, err := b.request(b.ctx, s, http.MethodGet, path, "application/json", nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.tb.Fatalf("%s: GET %s: %v", s.name, path, err)
	}
	defer resp.Body.Close()
	var list struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || list.Metadata.ResourceVersion == "" {
		b.tb.Fatalf("%s: GET %s: %s, no resourceVersion (%v)", s.name, path, resp.Status, err)
	}
	return list.Metadata.ResourceVersion
}

// fanoutRows are (e)'s rows: delivered events a second with the
// delivery latency, and the events missed.
func fanoutRows(o options, f [2]*fanout) []row {
	cells := func(f *fanout) ([3]string, float64) {
		if f == nil || f.delivered == 0 {
			return [3]string{notMeasured, notMeasured, notMeasured}, 0
		}
		rate := float64(f.delivered) / f.elapsed.Seconds()
		return [3]string{formatRate(rate), formatDuration(loadgen.Percentile(f.latencies, 0.5)), formatDuration(loadgen.Percentile(f.latencies, 0.99))}, rate
	}
	pc, pr := cells(f[0])
	kc, kr := cells(f[1])
	missed := func(f *fanout) [3]string {
		if f == nil {
			return [3]string{notMeasured, "", ""}
		}
		return [3]string{fmt.Sprintf("%d of %d", f.missed(), f.expected), "", ""}
	}
	return []row{
		{name: fmt.Sprintf("e. watch fan-out, %d watchers, %d writes: events delivered/s, delivery latency", o.watchers, o.writes),
			portico: pc, kube: kc, ratio: formatRatio(pr, kr)},
		{name: fmt.Sprintf("e. events missed (not delivered within %s of the last write; must be 0)", deliveryGrace), portico: missed(f[0]), kube: missed(f[1]), ratio: ""},
	}
}
