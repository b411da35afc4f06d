package main

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testwait"
)

func TestRenewTimings(t *testing.T) {
	tests := map[string]struct {
		validity           time.Duration
		wantTick, wantConn time.Duration
	}{
		"the default":  {0, time.Minute, 72 * time.Minute},
		"twelve hours": {12 * time.Hour, time.Minute, 72 * time.Minute},
		"ten minutes":  {10 * time.Minute, time.Minute, time.Minute},
		"fifteen secs": {15 * time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := renewInterval(tc.validity); got != tc.wantTick {
				t.Errorf("renewInterval = %v, want %v", got, tc.wantTick)
			}
			if got := connectionAge(tc.validity); got != tc.wantConn {
				t.Errorf("connectionAge = %v, want %v", got, tc.wantConn)
			}
			// A connection opened just before a renewal (a third of the
			// validity left) is closed, grace included, before it expires.
			v := tc.validity
			if v == 0 {
				v = 12 * time.Hour
			}
			if age := connectionAge(tc.validity); 2*age+age/5 >= v/3 {
				t.Errorf("a connection may live %v, past the %v its certificate has left", 2*age+age/5, v/3)
			}
		})
	}
}

type countingRenewer struct {
	calls atomic.Int32
	err   error
}

func (c *countingRenewer) RenewServices(time.Time) ([]string, error) {
	c.calls.Add(1)
	return []string{"api"}, c.err
}

// TestRenewServiceCerts: the loop renews every tick, goes on after a
// failure, and ends with its context.
func TestRenewServiceCerts(t *testing.T) {
	for name, err := range map[string]error{"renewals succeed": nil, "renewals fail": errors.New("disk full")} {
		t.Run(name, func(t *testing.T) {
			r := &countingRenewer{err: err}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				renewServiceCerts(ctx, r, time.Millisecond, slog.New(slog.DiscardHandler))
			}()
			testwait.Until(t, 10*time.Second, "three renewals", func() bool { return r.calls.Load() >= 3 })
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the loop did not end with its context")
			}
		})
	}
}
