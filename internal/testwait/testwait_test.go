package testwait

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	tests := map[string]struct {
		holdsAfter int // polls
	}{
		"at once":       {0},
		"after a while": {5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var polls atomic.Int32
			Until(t, time.Second, name, func() bool { return polls.Add(1) > int32(tc.holdsAfter) })
			if got := polls.Load(); got != int32(tc.holdsAfter)+1 {
				t.Fatalf("polled %d times, want %d", got, tc.holdsAfter+1)
			}
		})
	}
}

// failRecorder is a testing.TB that records Fatalf instead of stopping.
type failRecorder struct {
	testing.TB
	failed bool
}

func (f *failRecorder) Helper()                  {}
func (f *failRecorder) Fatalf(string, ...any)    { f.failed = true }
func (f *failRecorder) Errorf(string, ...any)    { f.failed = true }
func (f *failRecorder) Logf(string, ...any)      {}
func (f *failRecorder) Cleanup(func())           {}
func (f *failRecorder) Name() string             { return "recorder" }
func (f *failRecorder) Context() context.Context { return context.Background() }

func TestUntilTimesOut(t *testing.T) {
	r := &failRecorder{TB: t}
	start := time.Now()
	Until(r, 50*time.Millisecond, "never", func() bool { return false })
	if !r.failed {
		t.Fatal("a condition that never held did not fail the test")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the 50ms timeout", d)
	}
}
