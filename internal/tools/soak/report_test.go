package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

func ms(v ...int) []time.Duration {
	var d []time.Duration
	for _, x := range v {
		d = append(d, time.Duration(x)*time.Millisecond)
	}
	return d
}

func TestCombine(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := map[string]struct {
		results      []loadgen.Result
		wantRequests int
		wantFailed   int
		wantP50      time.Duration
		wantP99      time.Duration
		wantRate     float64
		wantCodes    map[int]int
		wantNoAnswer int
	}{
		"nothing": {results: nil, wantCodes: map[int]int{}},
		"one gateway": {
			results:      []loadgen.Result{{N: 100, Elapsed: 10 * time.Second, Latencies: ms(hundred...), Codes: map[int]int{200: 100}}},
			wantRequests: 100, wantP50: 50 * time.Millisecond, wantP99: 99 * time.Millisecond, wantRate: 10, wantCodes: map[int]int{},
		},
		// The percentiles are of every latency, not an average of each
		// run's: one slow gateway shows in p99.
		"two gateways, one slow": {
			results: []loadgen.Result{
				{N: 3, Elapsed: time.Second, Latencies: ms(1, 2, 3), Codes: map[int]int{200: 3}},
				{N: 2, Elapsed: 2 * time.Second, Latencies: ms(900, 1000), Codes: map[int]int{200: 2}},
			},
			wantRequests: 5, wantP50: 3 * time.Millisecond, wantP99: 900 * time.Millisecond, wantRate: 2.5, wantCodes: map[int]int{},
		},
		"failures by code and without an answer": {
			results: []loadgen.Result{
				{N: 4, Failed: 3, Elapsed: time.Second, Latencies: ms(1, 2, 3, 4), Codes: map[int]int{200: 2, 503: 1, 504: 1}},
				{N: 1, Failed: 2, Elapsed: time.Second, Latencies: ms(5), Codes: map[int]int{201: 1}},
			},
			wantRequests: 5, wantFailed: 5, wantP50: 3 * time.Millisecond, wantP99: 4 * time.Millisecond, wantRate: 5,
			wantCodes: map[int]int{503: 1, 504: 1}, wantNoAnswer: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := combine(tc.results)
			if s.requests != tc.wantRequests || s.failed != tc.wantFailed || s.p50 != tc.wantP50 || s.p99 != tc.wantP99 || s.rate() != tc.wantRate || s.noAnswer != tc.wantNoAnswer {
				t.Fatalf("combine() = %+v (rate %v)", s, s.rate())
			}
			if len(s.codes) != len(tc.wantCodes) {
				t.Fatalf("codes %v, want %v", s.codes, tc.wantCodes)
			}
			for c, n := range tc.wantCodes {
				if s.codes[c] != n {
					t.Fatalf("codes %v, want %v", s.codes, tc.wantCodes)
				}
			}
		})
	}
}

func TestFormatErrors(t *testing.T) {
	tests := map[string]struct {
		s    loadStats
		want string
	}{
		"none":     {s: loadStats{}, want: "0"},
		"by code":  {s: loadStats{failed: 3, codes: map[int]int{504: 1, 503: 2}}, want: "3 (503 ×2, 504 ×1)"},
		"no reply": {s: loadStats{failed: 1, noAnswer: 1}, want: "1 (no answer ×1)"},
		"watches":  {s: loadStats{watchErrors: 2}, want: "2 (watch ×2)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatErrors(tc.s); got != tc.want {
				t.Fatalf("formatErrors() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	const mib = 1 << 20
	tests := map[string]struct{ got, want string }{
		"rss":             {formatRSS(81 * mib / 2), "40.5 MiB"},
		"rss unknown":     {formatRSS(unknown), dash},
		"count unknown":   {formatCount(unknown), dash},
		"growth":          {formatChange(100*mib, 112*mib, true), "+12.0 MiB (+12%)"},
		"shrink":          {formatChange(100*mib, 95*mib, true), "−5.0 MiB (−5%)"},
		"flat":            {formatChange(100*mib, 100*mib, true), "+0.0 MiB (+0%)"},
		"exited":          {formatChange(100*mib, 100*mib, false), dash},
		"µs":              {formatLatency(850 * time.Microsecond), "850 µs"},
		"ms":              {formatLatency(6800 * time.Microsecond), "6.8 ms"},
		"slow":            {formatLatency(1234 * time.Millisecond), "1234 ms"},
		"no latency":      {formatLatency(0), dash},
		"minutes":         {formatMinutes(3 * time.Minute), "3m"},
		"half a minute":   {formatMinutes(90 * time.Second), "1m30s"},
		"under a minute":  {formatMinutes(20 * time.Second), "20s"},
		"rounded seconds": {formatMinutes(time.Minute + 2*time.Millisecond), "1m"},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", name, tc.got, tc.want)
		}
	}
}

func TestReport(t *testing.T) {
	const mib = 1 << 20
	r := report{names: []string{"etcd-0", "api-0", "gateway-0"}, gateways: map[int]int{2: 0}}
	gw := loadStats{requests: 600, elapsed: time.Minute, p50: 5 * time.Millisecond, p99: 40 * time.Millisecond, watchEvents: 1200}
	ivs := []interval{
		{n: 1, end: time.Minute, gateways: []loadStats{gw}, total: gw, samples: []sample{
			{pid: 10, rss: 50 * mib, goroutines: 300, fds: 30}, {pid: 11, rss: 80 * mib, goroutines: unknown, fds: 25}, {pid: 12, rss: 80 * mib, goroutines: 117, fds: 25},
		}},
		{n: 2, end: 2 * time.Minute, gateways: []loadStats{gw}, total: gw, samples: []sample{
			{pid: 10, rss: 60 * mib, goroutines: 310, fds: 31}, {pid: 11, rss: 90 * mib, goroutines: unknown, fds: 25}, {pid: 12, rss: 82 * mib, goroutines: 117, fds: 26},
		}},
		{n: 3, end: 3 * time.Minute, gateways: []loadStats{gw}, total: gw, samples: []sample{
			{pid: 10, rss: 55 * mib, goroutines: 305, fds: 30}, {}, {pid: 12, rss: 84 * mib, goroutines: 118, fds: 26},
		}},
	}
	var b bytes.Buffer
	r.header(&b)
	for _, iv := range ivs {
		r.rows(&b, iv)
	}
	r.summary(&b, ivs)
	out := b.String()
	for _, want := range []string{
		"| 1m | etcd-0 | 10 | 50.0 MiB | 300 | 30 |  |  |  |  |  |",
		"| 1m | api-0 | 11 | 80.0 MiB | — | 25 |",
		"| 1m | gateway-0 | 12 | 80.0 MiB | 117 | 25 | 10.0 | 5.0 ms | 40.0 ms | 0 | 1200 |",
		"| 1m | load (all gateways) | | | | | 10.0 | 5.0 ms | 40.0 ms | 0 | 1200 |",
		"| 3m | api-0 | exited |",
		// The summary: first against last, and the largest between.
		"| etcd-0 | 50.0 MiB | 55.0 MiB | +5.0 MiB (+10%) | 60.0 MiB | 300 | 305 | 310 | 30 | 30 | 31 |",
		"| api-0 | 80.0 MiB | — | — | 90.0 MiB | — | — | — | 25 | — | 25 |",
		"| gateway-0 | 80.0 MiB | 84.0 MiB | +4.0 MiB (+5%) | 84.0 MiB | 117 | 118 | 118 | 25 | 26 | 26 |",
		"1800 requests, 0 errors in all",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b.Reset(); true {
		r.summary(&b, nil)
		if !strings.Contains(b.String(), "no interval completed") {
			t.Errorf("summary of nothing: %q", b.String())
		}
	}
}
