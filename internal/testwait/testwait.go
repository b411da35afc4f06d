// Package testwait is how tests wait: for a condition to hold, polled on
// a ticker, with a deadline, never for a fixed time.
package testwait

import (
	"testing"
	"time"
)

// Until polls cond until it holds and returns how long that took. Past
// timeout the test fails, naming what it waited for. The poll interval is
// a hundredth of the timeout, between a millisecond and 100ms.
func Until(tb testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	return UntilEvery(tb, timeout, min(max(timeout/100, time.Millisecond), 100*time.Millisecond), what, cond)
}

// UntilEvery is Until polling every interval: for a condition that holds
// only briefly (a request queued for a few milliseconds).
func UntilEvery(tb testing.TB, timeout, interval time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	if cond() {
		return 0
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case <-deadline.C:
			if cond() {
				return time.Since(start)
			}
			tb.Fatalf("%s: not within %s", what, timeout)
			return 0
		case <-tick.C:
			if cond() {
				return time.Since(start)
			}
		}
	}
}
