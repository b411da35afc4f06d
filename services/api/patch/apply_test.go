package patch

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/apierrors"
)

// laughs is a YAML "billion laughs": nine levels of nine aliases.
func laughs() string {
	var b strings.Builder
	b.WriteString(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString(n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n")
		prev = n
	}
	return b.String()
}

func TestDecodeApply(t *testing.T) {
	tests := map[string]struct {
		patch  string
		limits Limits
		want   map[string]any
		reason apierrors.Reason
		errHas string
	}{
		"yaml": {patch: "apiVersion: v1\nkind: ConfigMap\ndata:\n  k: v\n",
			want: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}},
		"json, as kubectl sends it": {patch: `{"apiVersion":"v1","kind":"Pod","spec":{"terminationGracePeriodSeconds":30,"x":1.5}}`,
			want: map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": map[string]any{"terminationGracePeriodSeconds": int64(30), "x": 1.5}}},
		"empty is an empty object": {patch: "", want: map[string]any{}},
		"not an object":            {patch: "- a\n- b\n", reason: apierrors.ReasonBadRequest, errHas: "error decoding patch: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array"},
		"not yaml":                 {patch: "a: [b\n", reason: apierrors.ReasonBadRequest, errHas: "error decoding patch: error converting YAML to JSON: yaml: line"},
		"billion laughs":           {patch: laughs(), reason: apierrors.ReasonBadRequest, errHas: "excessive aliasing"},
		"too deep":                 {patch: strings.Repeat("{a: ", 200) + "1" + strings.Repeat("}", 200), reason: apierrors.ReasonBadRequest, errHas: "deeper than 100"},
		"too deep for the parser":  {patch: strings.Repeat("[", 20000), reason: apierrors.ReasonBadRequest, errHas: "max depth"},
		"too large":                {patch: "a: " + strings.Repeat("x", 100), limits: Limits{MaxBytes: 64}, reason: apierrors.ReasonRequestEntityTooLarge},
		"expands past the limit": {patch: "x: &x [" + strings.Repeat(`"aaaaaaaa",`, 5) + "a]\ny: [*x, *x, *x, *x]\n", limits: Limits{MaxBytes: 200},
			reason: apierrors.ReasonRequestEntityTooLarge},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			got, err := DecodeApply([]byte(tc.patch), tc.limits)
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			if tc.reason != "" {
				if apierrors.ReasonOf(err) != tc.reason || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %s with %q", err, tc.reason, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestStrictApply(t *testing.T) {
	tests := map[string]struct{ patch, want string }{
		"clean":           {"a: 1\nb: 2\n", ""},
		"duplicate field": {"a: 1\na: 2\n", `key "a" already set in map`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := StrictApply([]byte(tc.patch))
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("StrictApply = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzDecodeApply: no apply patch may panic the decoder, decode past
// MaxBytes, or allocate more than a bounded multiple of the limits.
func FuzzDecodeApply(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n",
		`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"i"}]}}`,
		laughs(),
		"a: &a [1,2]\nb: [*a, *a]\n",
		strings.Repeat("- ", 300) + "x",
		"? [a, b]\n: c\n",
	} {
		f.Add([]byte(s))
	}
	limits := Limits{MaxBytes: 64 << 10}
	const allocBound = 256 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeApply(data, limits)
		if err == nil {
			_ = StrictApply(data)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound {
			t.Fatalf("one patch allocated %d bytes", alloc)
		}
	})
}
