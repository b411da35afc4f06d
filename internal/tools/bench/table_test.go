package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

func TestFormatRate(t *testing.T) {
	tests := map[string]struct {
		v    float64
		want string
	}{
		"thousands": {v: 12345.4, want: "12 345"},
		"millions":  {v: 1234567, want: "1 234 567"},
		"hundreds":  {v: 999.6, want: "1 000"},
		"tens":      {v: 98.74, want: "98.7"},
		"small":     {v: 0.523, want: "0.52"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatRate(tc.v); got != tc.want {
				t.Fatalf("formatRate(%v) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"zero":         {d: 0, want: "0"},
		"microseconds": {d: 850 * time.Microsecond, want: "850 µs"},
		"milliseconds": {d: 6840 * time.Microsecond, want: "6.8 ms"},
		"hundreds":     {d: 120 * time.Millisecond, want: "120 ms"},
		"seconds":      {d: 2346 * time.Millisecond, want: "2.35 s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatDuration(tc.d); got != tc.want {
				t.Fatalf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestFormatRatio(t *testing.T) {
	tests := map[string]struct {
		p, k float64
		want string
	}{
		"faster":       {p: 6000, k: 2000, want: "3.00×"},
		"slower":       {p: 1000, k: 2000, want: "0.50×"},
		"no portico":   {p: 0, k: 2000, want: notMeasured},
		"no kube":      {p: 10, k: 0, want: notMeasured},
		"less memory":  {p: 50 << 20, k: 200 << 20, want: "0.25×"},
		"tiny numbers": {p: 0.3, k: 0.1, want: "3.00×"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatRatio(tc.p, tc.k); got != tc.want {
				t.Fatalf("formatRatio(%v, %v) = %q, want %q", tc.p, tc.k, got, tc.want)
			}
		})
	}
}

func withCodes(r *loadgen.Result, codes map[int]int) *loadgen.Result {
	r.Codes = codes
	return r
}

func TestWriteTable(t *testing.T) {
	res := func(n int, lat time.Duration, failed int) *loadgen.Result {
		r := &loadgen.Result{N: n, Failed: failed, Elapsed: time.Second}
		for range n {
			r.Latencies = append(r.Latencies, lat)
		}
		return r
	}
	tests := map[string]struct {
		rows []row
		want string
	}{
		"both measured": {
			rows: []row{loadRow("GET", res(300, 2*time.Millisecond, 0), res(100, 6*time.Millisecond, 0))},
			want: "| GET | 300 | 2.0 ms | 2.0 ms | 100 | 6.0 ms | 6.0 ms | 3.00× |",
		},
		"kube has no such port": {
			rows: []row{loadRow("GET insecure", res(200, time.Millisecond, 0), nil)},
			want: "| GET insecure | 200 | 1.0 ms | 1.0 ms | — | — | — | — |",
		},
		"failures are shown and not compared": {
			rows: []row{loadRow("LIST", withCodes(res(100, time.Millisecond, 3), map[int]int{200: 97, 429: 3}), res(100, time.Millisecond, 0))},
			want: "| LIST | 100 (3 of 100 failed: 429 ×3) | 1.0 ms | 1.0 ms | 100 | 1.0 ms | 1.0 ms | — |",
		},
		"failures without an answer": {
			rows: []row{loadRow("LIST", res(10, time.Millisecond, 0), withCodes(res(10, time.Millisecond, 2), map[int]int{200: 10}))},
			want: "| LIST | 10.0 | 1.0 ms | 1.0 ms | 10.0 (2 of 10 failed: no answer) | 1.0 ms | 1.0 ms | — |",
		},
		"a value": {
			rows: []row{valueRow("idle RSS", 50<<20, 200<<20, formatBytes)},
			want: "| idle RSS | 50 MiB |  |  | 200 MiB |  |  | 0.25× |",
		},
		"a value not measured": {
			rows: []row{valueRow("RSS", 0, 200<<20, formatBytes)},
			want: "| RSS | — |  |  | 200 MiB |  |  | — |",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			writeTable(&b, tc.rows)
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "| measurement |") {
				t.Fatalf("table:\n%s", b.String())
			}
			if lines[2] != tc.want {
				t.Fatalf("row\n got %s\nwant %s", lines[2], tc.want)
			}
		})
	}
}
