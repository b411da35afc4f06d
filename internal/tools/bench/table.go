package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

// row is one line of the side-by-side table: three cells a server
// (rate, p50, p99, or one value and two blanks) and the ratio.
type row struct {
	name          string
	portico, kube [3]string
	ratio         string
}

// notMeasured is a cell of a server a measurement does not apply to.
const notMeasured = "—"

// resultCells are a load run's cells: req/s, p50, p99; a run with
// failures says how many.
func resultCells(r *loadgen.Result) [3]string {
	if r == nil {
		return [3]string{notMeasured, notMeasured, notMeasured}
	}
	rate := formatRate(r.Throughput())
	if r.Failed > 0 {
		rate = fmt.Sprintf("%s (%d of %d failed: %s)", rate, r.Failed, r.N, formatCodes(r.Codes))
	}
	return [3]string{rate, formatDuration(r.Percentile(0.5)), formatDuration(r.Percentile(0.99))}
}

// loadRow compares two runs by throughput.
func loadRow(name string, p, k *loadgen.Result) row {
	r := row{name: name, portico: resultCells(p), kube: resultCells(k), ratio: notMeasured}
	// A run with failures is not a throughput to compare.
	if p != nil && k != nil && p.Failed == 0 && k.Failed == 0 {
		r.ratio = formatRatio(p.Throughput(), k.Throughput())
	}
	return r
}

// valueRow compares one value a server (RSS, a time): the ratio is
// Portico's over kube-apiserver's, so below 1 is less.
func valueRow(name string, p, k float64, format func(float64) string) row {
	cell := func(v float64) [3]string {
		if v <= 0 {
			return [3]string{notMeasured, "", ""}
		}
		return [3]string{format(v), "", ""}
	}
	return row{name: name, portico: cell(p), kube: cell(k), ratio: formatRatio(p, k)}
}

// writeTable writes the rows as a markdown table.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| measurement | Portico req/s | p50 | p99 | kube-apiserver req/s | p50 | p99 | Portico ÷ kube |")
	fmt.Fprintln(w, "| --- | --: | --: | --: | --: | --: | --: | --: |")
	for _, r := range rows {
		cells := append([]string{r.name}, r.portico[:]...)
		cells = append(cells, r.kube[:]...)
		cells = append(cells, r.ratio)
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// formatRate is a rate with thin thousands groups: 12 345, 98.7, 0.52.
func formatRate(v float64) string {
	switch {
	case v >= 100:
		return groupThousands(int64(math.Round(v)))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatDuration is a latency in the unit that reads best: 850 µs,
// 6.8 ms, 120 ms, 2.35 s.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// formatBytes is a size in MiB.
func formatBytes(v float64) string { return fmt.Sprintf("%.0f MiB", v/(1<<20)) }

// formatSeconds is a time given in seconds.
func formatSeconds(v float64) string { return formatDuration(time.Duration(v * float64(time.Second))) }

// formatRatio is p/k as "3.10×", or notMeasured when either is missing.
func formatRatio(p, k float64) string {
	if p <= 0 || k <= 0 {
		return notMeasured
	}
	return fmt.Sprintf("%.2f×", p/k)
}

// formatCodes are the failing statuses and their counts, in order:
// "429 ×89".
func formatCodes(codes map[int]int) string {
	var keys []int
	for c := range codes {
		if c >= 300 {
			keys = append(keys, c)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, c := range keys {
		parts = append(parts, fmt.Sprintf("%d ×%d", c, codes[c]))
	}
	if len(parts) == 0 {
		return "no answer"
	}
	return strings.Join(parts, ", ")
}
