package kjson

import (
	"encoding/json"
	"strings"
	"testing"
)

// stringCases put each kind of byte appendString escapes (or replaces)
// at the start, middle and end of strings of several lengths.
func stringCases() []string {
	specials := []string{"\"", "\\", "<", ">", "&", "\x00", "\x1f", "\n", "\t", "\x7f", "é", "😀", "\u2028", "\u2029", "\xff", "\xe2\x80", " "}
	cases := []string{"", "a", "abcdefg", "abcdefgh", "abcdefghi", strings.Repeat("0123456789abcdef", 125)}
	for _, sp := range specials {
		for _, at := range []int{0, 1, 7, 8, 9, 15, 16, 23} {
			s := strings.Repeat("x", at) + sp + strings.Repeat("y", 17)
			cases = append(cases, s, s[:len(s)-9], sp+sp+strings.Repeat("z", at))
		}
	}
	return cases
}

// TestAppendStringLikeEncodingJSON: appendString writes what
// encoding/json writes for the same string (HTML escaped, invalid UTF-8
// replaced), which is what kube-apiserver's JSON holds.
func TestAppendStringLikeEncodingJSON(t *testing.T) {
	for _, s := range stringCases() {
		checkLikeEncodingJSON(t, s)
	}
}

// FuzzAppendString: any string is written as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range stringCases() {
		f.Add(s)
	}
	f.Fuzz(checkLikeEncodingJSON)
}

// checkLikeEncodingJSON fails t when appendString writes s otherwise than
// encoding/json does.
func checkLikeEncodingJSON(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendString(nil, s); string(got) != string(want) {
		t.Errorf("appendString(%q) = %s, want %s", s, got, want)
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("0123456789abcdef", 125)
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}
