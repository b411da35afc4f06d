package patch

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	k8scorev1 "k8s.io/api/core/v1"

	"github.com/portico-dev/portico/internal/apierrors"
)

const configMap = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"},"data":{"a":"` + "0123456789abcdef" + `"}}`

// copyBomb is the review's attack: every op copies /data into itself,
// doubling the document.
func copyBomb(ops int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range ops {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"op":"copy","from":"/data","path":"/data/k%d"}`, i)
	}
	b.WriteString("]")
	return b.String()
}

func nested(levels int) string {
	return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
}

// containers is a pod whose spec lists n containers named prefix0...
func containers(prefix string, n int) string {
	cs := make([]map[string]string, n)
	for i := range cs {
		cs[i] = map[string]string{"name": fmt.Sprintf("%s%d", prefix, i), "image": "x"}
	}
	b, _ := json.Marshal(map[string]any{"spec": map[string]any{"containers": cs}})
	return string(b)
}

func TestApply(t *testing.T) {
	pod := &k8scorev1.Pod{}
	tests := map[string]struct {
		doc, patch, patchType string
		schema                any
		limits                Limits
		want                  string // a substring of the result
		reason                apierrors.Reason
	}{
		"merge":            {doc: configMap, patch: `{"data":{"b":"2"}}`, patchType: Merge, want: `"b":"2"`},
		"merge removes":    {doc: configMap, patch: `{"data":{"a":null}}`, patchType: Merge, want: `"data":{}`},
		"merge bad json":   {doc: configMap, patch: `{"data":`, patchType: Merge, reason: apierrors.ReasonBadRequest},
		"merge too deep":   {doc: configMap, patch: nested(DefaultMaxDepth + 1), patchType: Merge, reason: apierrors.ReasonBadRequest},
		"merge at depth":   {doc: configMap, patch: nested(DefaultMaxDepth), patchType: Merge, want: `"a":{"a":`},
		"depth in strings": {doc: configMap, patch: `{"data":{"b":"` + strings.Repeat("{[", 500) + `\"{"}}`, patchType: Merge, want: `"b":"{[{[`},
		"json":             {doc: configMap, patch: `[{"op":"add","path":"/data/b","value":"2"}]`, patchType: JSON, want: `"b":"2"`},
		"json test fails":  {doc: configMap, patch: `[{"op":"test","path":"/data/a","value":"x"}]`, patchType: JSON, reason: apierrors.ReasonInvalid},
		"json unknown op":  {doc: configMap, patch: `[{"op":"frobnicate","path":"/data/a"}]`, patchType: JSON, reason: apierrors.ReasonInvalid},
		"json missing":     {doc: configMap, patch: `[{"op":"remove","path":"/data/zz"}]`, patchType: JSON, reason: apierrors.ReasonInvalid},
		"json not a patch": {doc: configMap, patch: `{"op":"add"}`, patchType: JSON, reason: apierrors.ReasonBadRequest},
		"json copy bomb":   {doc: configMap, patch: copyBomb(40), patchType: JSON, reason: apierrors.ReasonRequestEntityTooLarge},
		"json small copy":  {doc: configMap, patch: copyBomb(2), patchType: JSON, want: `"k1":{"a":`},
		"json too many ops": {doc: configMap, patch: "[" + strings.Repeat(`{"op":"test","path":"/kind","value":"ConfigMap"},`, 10) + `{"op":"test","path":"/kind","value":"ConfigMap"}]`,
			patchType: JSON, limits: Limits{MaxOperations: 10}, reason: apierrors.ReasonRequestEntityTooLarge},
		"result too large": {doc: configMap, patch: `{"data":{"b":"` + strings.Repeat("x", 200) + `"}}`, patchType: Merge,
			limits: Limits{MaxBytes: 200}, reason: apierrors.ReasonRequestEntityTooLarge},
		"strategic":           {doc: containers("c", 2), patch: `{"spec":{"containers":[{"name":"c1","image":"y"}]}}`, patchType: Strategic, schema: pod, want: `{"image":"y","name":"c1"}`},
		"strategic no schema": {doc: configMap, patch: `{}`, patchType: Strategic, reason: apierrors.ReasonUnsupportedMediaType},
		"strategic bad directive": {doc: containers("c", 1), patch: `{"spec":{"$setElementOrder/containers":{"a":1}}}`, patchType: Strategic, schema: pod,
			reason: apierrors.ReasonInvalid},
		"strategic list work": {doc: containers("d", 3000), patch: containers("p", 3000), patchType: Strategic, schema: pod,
			reason: apierrors.ReasonRequestEntityTooLarge},
		"unknown type": {doc: configMap, patch: `{}`, patchType: "application/apply-patch+yaml", reason: apierrors.ReasonUnsupportedMediaType},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := Apply([]byte(tc.doc), []byte(tc.patch), tc.patchType, tc.schema, tc.limits)
			if tc.reason != "" {
				if got := apierrors.ReasonOf(err); got != tc.reason {
					t.Fatalf("reason %q (err %v), want %q", got, err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("result %s lacks %s", out, tc.want)
			}
		})
	}
}

// TestAmplificationMemoryBounded replays the review's finding: 18 doubling
// copies took 2.6 GB before. Bounded, the whole attempt allocates a small
// multiple of the size limit.
func TestAmplificationMemoryBounded(t *testing.T) {
	tests := map[string]struct {
		doc, patch, patchType string
	}{
		"copy doubling":   {doc: configMap, patch: copyBomb(30), patchType: JSON},
		"deep merge":      {doc: configMap, patch: nested(9990), patchType: Merge},
		"deep strategic":  {doc: configMap, patch: nested(9990), patchType: Strategic},
		"quadratic lists": {doc: containers("d", 10000), patch: containers("p", 10000), patchType: Strategic},
	}
	const bound = 64 << 20
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Apply([]byte(tc.doc), []byte(tc.patch), tc.patchType, &k8scorev1.Pod{}, Limits{})
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("the patch was applied; want it refused")
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
				t.Fatalf("refusing the patch allocated %d bytes, more than %d", alloc, bound)
			}
		})
	}
}

func TestCheckDepth(t *testing.T) {
	tests := map[string]struct {
		data string
		max  int
		ok   bool
	}{
		"flat":              {`{"a":1}`, 1, true},
		"two levels":        {`{"a":[1]}`, 1, false},
		"at the limit":      {`[[[]]]`, 3, true},
		"brackets in a str": {`{"a":"[[[[{{{{"}`, 1, true},
		"escaped quote":     {`{"a":"\"[[[["}`, 1, true},
		"escaped backslash": {`{"a":"\\"}`, 1, true},
		"after a string":    {`{"a":"\\",[[]]}`, 2, false},
		"malformed":         {`]]]][[`, 2, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := checkDepth([]byte(tc.data), tc.max); (err == nil) != tc.ok {
				t.Fatalf("checkDepth(%s, %d) = %v, want ok %v", tc.data, tc.max, err, tc.ok)
			}
		})
	}
}

func TestMergeWork(t *testing.T) {
	tests := map[string]struct {
		doc, patch string
		want       int64
	}{
		"no lists":      {`{"a":{"b":1}}`, `{"a":{"b":2}}`, 0},
		"one list":      {containers("d", 3), containers("p", 2), 2 * (2 + 3)},
		"only in patch": {`{}`, containers("p", 4), 16},
		"directive": {containers("d", 5),
			`{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}]}}`, 2 * (2 + 5)},
		"nested lists folded": {`{"l":[{"e":[1,2]},{"e":[3]}]}`, `{"l":[{"e":[1]}]}`, 1*(1+2) + 1*(1+3)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var doc, patch map[string]any
			if err := json.Unmarshal([]byte(tc.doc), &doc); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.patch), &patch); err != nil {
				t.Fatal(err)
			}
			got := mergeWork(doc, patch)
			if got != tc.want {
				t.Fatalf("mergeWork = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := map[string]struct {
		l  Limits
		ok bool
	}{
		"zero takes defaults": {Limits{}, true},
		"negative bytes":      {Limits{MaxBytes: -1}, false},
		"negative ops":        {Limits{MaxOperations: -1}, false},
		"negative depth":      {Limits{MaxDepth: -1}, false},
		"negative work":       {Limits{MaxMergeWork: -1}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.l.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
