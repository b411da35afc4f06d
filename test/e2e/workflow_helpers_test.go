package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

// Helpers of the everyday-workflow tests (workflow_test.go,
// workflow_api_test.go, workflow_grpc_test.go).

// kubectlIn is kubectl against the insecure port with stdin (for -f -).
func (p *portico) kubectlIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return run(t, stdin, "kubectl", append([]string{"--server", p.insecureURL(), "--cache-dir", t.TempDir()}, args...)...)
}

// mustKubectlIn is kubectlIn that must succeed; it returns stdout.
func (p *portico) mustKubectlIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := p.kubectlIn(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// getJSON is `kubectl get -o json` decoded.
func (p *portico) getJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := p.mustKubectlIn(t, "", append(append([]string{"get"}, args...), "-o", "json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("kubectl get %v -o json: %v\n%s", args, err, out)
	}
	return m
}

// jsonAt walks a decoded JSON document: jsonAt(obj, "metadata", "labels", "app");
// an int walks into a list.
func jsonAt(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// jsonStr is jsonAt as a string ("" when missing or not a string).
func jsonStr(v any, path ...any) string {
	s, _ := jsonAt(v, path...).(string)
	return s
}

// printedTable is a table kubectl printed: the cells of each row, cut at
// the offsets of the header's columns (kubectl aligns every column under
// its header), by column name.
type printedTable struct {
	columns []string
	rows    []map[string]string
}

// headerColumn is a column name: words separated by single spaces
// ("NOMINATED NODE"); columns are separated by two or more.
var headerColumn = regexp.MustCompile(`\S+(?: \S+)*`)

func parseTable(t *testing.T, out string) printedTable {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		t.Fatalf("no table in %q", out)
	}
	idx := headerColumn.FindAllStringIndex(lines[0], -1)
	var tb printedTable
	for _, ix := range idx {
		tb.columns = append(tb.columns, lines[0][ix[0]:ix[1]])
	}
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, ix := range idx {
			end := len(line)
			if i+1 < len(idx) {
				end = min(idx[i+1][0], len(line))
			}
			row[tb.columns[i]] = "" // kubectl trims trailing empty cells
			if ix[0] < len(line) {
				row[tb.columns[i]] = strings.TrimSpace(line[ix[0]:end])
			}
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// ageCell matches kubectl's AGE cells of objects made in the last minutes.
var ageCell = regexp.MustCompile(`^(\d+s|\d+m\d*s?)$`)

// checkRow compares a printed row with want: "~AGE" matches an age,
// "~RFC3339" a timestamp, anything else the exact cell.
func checkRow(t *testing.T, what string, row, want map[string]string) {
	t.Helper()
	for col, w := range want {
		got, ok := row[col]
		switch {
		case !ok:
			t.Errorf("%s: no %s column in %v", what, col, row)
		case w == "~AGE":
			if !ageCell.MatchString(got) {
				t.Errorf("%s: %s = %q, want an age", what, col, got)
			}
		case w == "~RFC3339":
			if _, err := time.Parse(time.RFC3339, got); err != nil {
				t.Errorf("%s: %s = %q, want an RFC 3339 time", what, col, got)
			}
		case got != w:
			t.Errorf("%s: %s = %q, want %q", what, col, got, w)
		}
	}
}

// bgCommand is a command running in the background (kubectl get -w,
// grpcurl Watch...) whose output a test polls.
type bgCommand struct {
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr *syncBuffer
	done           chan struct{}
}

func startBackground(t *testing.T, name string, args ...string) *bgCommand {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	b := &bgCommand{cancel: cancel, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = exec.CommandContext(ctx, name, args...)
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	b.cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=/dev/null")
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	t.Cleanup(b.stop)
	return b
}

// stop ends the command and waits for it.
func (b *bgCommand) stop() {
	b.cancel()
	<-b.done
}

// waitOutput waits until cond holds for the output so far.
func (b *bgCommand) waitOutput(t *testing.T, what string, cond func(stdout, stderr string) bool) {
	t.Helper()
	ended := false
	testwait.Until(t, 30*time.Second, what, func() bool {
		if cond(b.stdout.String(), b.stderr.String()) {
			return true
		}
		select {
		case <-b.done:
			ended = true
			return true
		default:
			return false
		}
	})
	if ended && !cond(b.stdout.String(), b.stderr.String()) {
		t.Fatalf("%s: the command ended first\nstdout:\n%s\nstderr:\n%s", what, b.stdout.String(), b.stderr.String())
	}
}

// watchKubectl runs `kubectl get <args> -w --output-watch-events` and
// returns once its watch request has been answered (so every later write
// is seen as an event).
func (p *portico) watchKubectl(t *testing.T, args ...string) *bgCommand {
	t.Helper()
	full := append([]string{"--server", p.insecureURL(), "--cache-dir", t.TempDir(), "-v=6", "get"}, args...)
	full = append(full, "-w", "--output-watch-events")
	b := startBackground(t, "kubectl", full...)
	b.waitOutput(t, "kubectl watch established", func(_, stderr string) bool {
		return regexp.MustCompile(`GET \S*watch=true\S* 200 OK`).MatchString(stderr)
	})
	return b
}

// watchEvents are the event types of the printed watch lines that
// mention name, in order.
func watchEvents(out, name string) []string {
	var types []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && regexp.MustCompile(`(^|\W)`+regexp.QuoteMeta(name)+`(\W|$)`).MatchString(line) {
			types = append(types, f[0])
		}
	}
	return types
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// apiStatus is a Kubernetes Status answer.
type apiStatus struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Details struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Causes []struct {
			Reason, Message, Field string
		} `json:"causes"`
		RetryAfterSeconds int `json:"retryAfterSeconds"`
	} `json:"details"`
}

func apiStatusOf(t *testing.T, body string) apiStatus {
	t.Helper()
	var st apiStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("not a Status (%v): %q", err, body)
	}
	return st
}

// decodeJSON is json.Unmarshal into a generic document that must succeed.
func decodeJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON (%v): %q", err, body)
	}
	return m
}

// itemNames are the metadata.name of a list's items.
func itemNames(list map[string]any) []string {
	var out []string
	items, _ := list["items"].([]any)
	for _, it := range items {
		out = append(out, jsonStr(it, "metadata", "name"))
	}
	return out
}

// jsonSubset reports where want (a decoded JSON document) is not contained in
// got: every field of want is in got with an equal value, lists
// element by element.
func jsonSubset(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", path, got)}
		}
		var diffs []string
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing (want %v)", path, k, v))
				continue
			}
			diffs = append(diffs, jsonSubset(v, gv, path+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, w, got)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, jsonSubset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return diffs
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: want %v, got %v", path, want, got)}
		}
		return nil
	}
}
