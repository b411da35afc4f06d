package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

// loadStats are the load's figures over one interval, through one
// gateway or all.
type loadStats struct {
	requests, failed int
	elapsed          time.Duration
	p50, p99         time.Duration
	// codes counts the failing answers by status; noAnswer the
	// requests that got none.
	codes                    map[int]int
	noAnswer                 int
	watchEvents, watchErrors int64
}

// rate is requests a second.
func (s loadStats) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

// errors are the failed requests and the watch errors.
func (s loadStats) errors() int64 { return int64(s.failed) + s.watchErrors }

// combine is the figures of runs side by side over one interval: the
// requests of all, the percentiles of every latency, the longest
// elapsed time.
func combine(results []loadgen.Result) loadStats {
	s := loadStats{codes: map[int]int{}}
	var all []time.Duration
	for _, r := range results {
		s.requests += r.N
		s.failed += r.Failed
		s.elapsed = max(s.elapsed, r.Elapsed)
		all = append(all, r.Latencies...)
		bad := 0
		for code, n := range r.Codes {
			if code >= 300 {
				s.codes[code] += n
				bad += n
			}
		}
		// loadgen counts a call without an answer as failed, without a
		// code.
		s.noAnswer += r.Failed - bad
	}
	slices.Sort(all)
	s.p50, s.p99 = loadgen.Percentile(all, 0.5), loadgen.Percentile(all, 0.99)
	return s
}

// interval is one row of every process and the load at its end.
type interval struct {
	n        int           // 1, 2, ...
	end      time.Duration // since the load began
	samples  []sample      // by process, in the cluster's order
	gateways []loadStats   // by gateway
	total    loadStats
}

// report prints the intervals' rows and the summary. names are the
// processes in the cluster's order, gateways the indexes among them of
// the gateways (whose rows carry the load sent through them).
type report struct {
	names    []string
	gateways map[int]int // process index -> gateway index
}

const dash = "—"

func (r report) header(w io.Writer) {
	fmt.Fprintln(w, "| at | process | pid | RSS | goroutines | fds | req/s | p50 | p99 | errors | watch events |")
	fmt.Fprintln(w, "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
}

// rows writes one row per process and one for the whole load.
func (r report) rows(w io.Writer, iv interval) {
	at := formatMinutes(iv.end)
	for i, s := range iv.samples {
		load := [5]string{"", "", "", "", ""}
		if g, ok := r.gateways[i]; ok && g < len(iv.gateways) {
			load = loadCells(iv.gateways[g])
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", at, r.names[i], processCells(s), strings.Join(load[:], " | "))
	}
	load := loadCells(iv.total)
	fmt.Fprintf(w, "| %s | load (all gateways) | | | | | %s |\n", at, strings.Join(load[:], " | "))
}

// known is s with every figure unknown when the process had exited.
func (s sample) known() sample {
	if s.pid == 0 {
		return sample{rss: unknown, goroutines: unknown, fds: unknown}
	}
	return s
}

func processCells(s sample) string {
	if s.pid == 0 {
		return "exited | " + dash + " | " + dash + " | " + dash
	}
	return fmt.Sprintf("%d | %s | %s | %s", s.pid, formatRSS(s.rss), formatCount(s.goroutines), formatCount(s.fds))
}

// loadCells are req/s, p50, p99, errors (with what they were) and
// watch events.
func loadCells(s loadStats) [5]string {
	return [5]string{fmt.Sprintf("%.1f", s.rate()), formatLatency(s.p50), formatLatency(s.p99), formatErrors(s), fmt.Sprint(s.watchEvents)}
}

// formatErrors is the error count and, when there are any, what they
// were: "3 (503 ×2, no answer ×1)".
func formatErrors(s loadStats) string {
	n := s.errors()
	if n == 0 {
		return "0"
	}
	var parts []string
	codes := make([]int, 0, len(s.codes))
	for c := range s.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d ×%d", c, s.codes[c]))
	}
	if s.noAnswer > 0 {
		parts = append(parts, fmt.Sprintf("no answer ×%d", s.noAnswer))
	}
	if s.watchErrors > 0 {
		parts = append(parts, fmt.Sprintf("watch ×%d", s.watchErrors))
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
}

// summary compares the first interval with the last, per process and
// for the load, and gives the largest value seen between.
func (r report) summary(w io.Writer, ivs []interval) {
	if len(ivs) == 0 {
		fmt.Fprintln(w, "no interval completed")
		return
	}
	first, last := ivs[0], ivs[len(ivs)-1]
	fmt.Fprintf(w, "Summary: interval 1 (to %s) against interval %d (to %s); max is the largest of every interval.\n\n",
		formatMinutes(first.end), last.n, formatMinutes(last.end))
	fmt.Fprintln(w, "| process | RSS first | RSS last | change | RSS max | goroutines first | last | max | fds first | last | max |")
	fmt.Fprintln(w, "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
	for i, name := range r.names {
		var rss, gor, fds []int64
		for _, iv := range ivs {
			if i < len(iv.samples) && iv.samples[i].pid != 0 {
				s := iv.samples[i]
				rss, gor, fds = append(rss, s.rss), append(gor, int64(s.goroutines)), append(fds, int64(s.fds))
			}
		}
		f, l := first.samples[i].known(), last.samples[i].known()
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name,
			formatRSS(f.rss), formatRSS(l.rss), formatChange(f.rss, l.rss, f.pid != 0 && l.pid != 0), formatRSS(maxOf(rss)),
			formatCount(f.goroutines), formatCount(l.goroutines), formatCount(int(maxOf(gor))),
			formatCount(f.fds), formatCount(l.fds), formatCount(int(maxOf(fds))))
	}
	var errs int64
	var requests int
	for _, iv := range ivs {
		errs += iv.total.errors()
		requests += iv.total.requests
	}
	fmt.Fprintf(w, "\nLoad: %s req/s, p50 %s, p99 %s in interval 1; %s req/s, p50 %s, p99 %s in interval %d; %d requests, %d errors in all.\n",
		fmt.Sprintf("%.1f", first.total.rate()), formatLatency(first.total.p50), formatLatency(first.total.p99),
		fmt.Sprintf("%.1f", last.total.rate()), formatLatency(last.total.p50), formatLatency(last.total.p99), last.n,
		requests, errs)
}

func maxOf(v []int64) int64 {
	if len(v) == 0 {
		return unknown
	}
	return slices.Max(v)
}

// formatChange is last against first: "+12.3 MiB (+8%)".
func formatChange(first, last int64, ok bool) string {
	if !ok || first <= 0 || last <= 0 {
		return dash
	}
	d := last - first
	sign := "+"
	if d < 0 {
		sign = "−"
		d = -d
	}
	return fmt.Sprintf("%s%.1f MiB (%s%.0f%%)", sign, float64(d)/(1<<20), sign, 100*float64(d)/float64(first))
}

// formatRSS is bytes in MiB; unknown is a dash.
func formatRSS(b int64) string {
	if b < 0 {
		return dash
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func formatCount(n int) string {
	if n < 0 {
		return dash
	}
	return fmt.Sprint(n)
}

// formatLatency is a latency in ms (µs below one).
func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return dash
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}

// formatMinutes is a time since the start as "3m" or "1m30s".
func formatMinutes(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
