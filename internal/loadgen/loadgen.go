// Package loadgen is the engine of the load generators (the loadgen
// command and the side-by-side bench): a fixed number of workers each
// call the same function in a loop for a bounded time or count, and the
// latencies, status codes and failures are collected. It only loads
// loopback addresses (CheckLoopback).
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Options bound one run.
type Options struct {
	// Concurrency is the number of workers.
	Concurrency int
	// Duration is how long the run lasts at most.
	Duration time.Duration
	// MaxRequests stops the run after this many calls.
	MaxRequests int
	// Pace, when not 0, makes each worker start a call at most once per
	// Pace (a steady rate of Concurrency/Pace calls a second, less when
	// calls take longer than Pace); the workers' starts are spread over
	// one Pace. The wait is not part of a call's latency. 0 sends each
	// call as soon as the last one was answered.
	Pace time.Duration
}

// MaxDuration is the longest run Validate allows.
const MaxDuration = 5 * time.Minute

// Validate reports options that would load without bound.
func (o Options) Validate() error {
	if o.Concurrency < 1 || o.Concurrency > 4096 {
		return errors.New("concurrency must be between 1 and 4096")
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return fmt.Errorf("duration must be between 0 and %s", MaxDuration)
	}
	if o.MaxRequests < 1 {
		return errors.New("the request count must be positive")
	}
	if o.Pace < 0 || o.Pace > o.Duration {
		return errors.New("pace must be between 0 and the duration")
	}
	return nil
}

// CheckLoopback refuses a URL whose host is not a loopback address.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address; loadgen only loads this machine", host)
	}
	return nil
}

// Call is one request: i counts calls across workers from 0, so a
// caller can make each request different (a fresh name to create). It
// returns the status (an HTTP status, or 200 for an RPC that succeeded)
// or an error when there was no answer.
type Call func(ctx context.Context, i int) (status int, err error)

// Result is what one run measured.
type Result struct {
	N, Failed int
	Elapsed   time.Duration
	// Latencies of the answered calls, sorted.
	Latencies []time.Duration
	Codes     map[int]int
}

// Throughput is answered calls a second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N) / r.Elapsed.Seconds()
}

// Percentile is the latency that a fraction p (0..1) of the answered
// calls did not exceed (nearest rank); 0 with no calls.
func (r Result) Percentile(p float64) time.Duration {
	return Percentile(r.Latencies, p)
}

// Percentile is the nearest-rank p-quantile (0..1) of sorted; 0 when
// sorted is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	p = min(max(p, 0), 1)
	return sorted[int(float64(len(sorted)-1)*p)]
}

func (r Result) String() string {
	return fmt.Sprintf("requests %d  failed %d  codes %v\nthroughput %.0f req/s\nlatency p50 %v  p90 %v  p99 %v  max %v\n",
		r.N, r.Failed, r.Codes, r.Throughput(),
		r.Percentile(0.50), r.Percentile(0.90), r.Percentile(0.99), r.Percentile(1))
}

// Run calls call from o.Concurrency workers until o.Duration has passed
// or o.MaxRequests calls were made. A status of 300 or more counts as
// failed; an error counts as failed unless the run's time was up.
func Run(ctx context.Context, o Options, call Call) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	total := Result{Codes: map[int]int{}}
	sent := 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := Result{Codes: map[int]int{}}
			pace := newPacer(o.Pace, o.Pace*time.Duration(w)/time.Duration(o.Concurrency))
			defer pace.stop()
			for ctx.Err() == nil && pace.wait(ctx) {
				mu.Lock()
				if sent >= o.MaxRequests {
					mu.Unlock()
					break
				}
				i := sent
				sent++
				mu.Unlock()
				t0 := time.Now()
				status, err := call(ctx, i)
				if err != nil {
					if ctx.Err() == nil {
						local.Failed++
					}
					continue
				}
				local.Latencies = append(local.Latencies, time.Since(t0))
				local.Codes[status]++
				local.N++
				if status >= 300 {
					local.Failed++
				}
			}
			mu.Lock()
			total.N += local.N
			total.Failed += local.Failed
			total.Latencies = append(total.Latencies, local.Latencies...)
			for k, v := range local.Codes {
				total.Codes[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	slices.Sort(total.Latencies)
	return total, nil
}

// pacer holds a worker to one call a period, after an initial offset;
// a zero period never waits.
type pacer struct {
	period time.Duration
	next   time.Time
	timer  *time.Timer
}

func newPacer(period, offset time.Duration) *pacer {
	return &pacer{period: period, next: time.Now().Add(offset)}
}

// wait returns when the next call may start, false when ctx ended
// first. A call that took longer than the period is followed at once,
// not by a burst of the calls it missed.
func (p *pacer) wait(ctx context.Context) bool {
	if p.period <= 0 {
		return true
	}
	now := time.Now()
	if d := p.next.Sub(now); d > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return false
		case <-p.timer.C:
		}
		now = p.next
	}
	p.next = now.Add(p.period)
	return true
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// HTTP is a Call that sends the request build makes with c and reads the
// whole answer.
func HTTP(c *http.Client, build func(ctx context.Context, i int) (*http.Request, error)) Call {
	return func(ctx context.Context, i int) (int, error) {
		req, err := build(ctx, i)
		if err != nil {
			return 0, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
}
