package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLoop(t *testing.T) {
	tests := map[string]struct {
		p         Policy
		lives     []time.Duration // how long each call lives before breaking
		wantWaits []time.Duration
	}{
		"doubles up to the bound": {
			p:         Policy{Min: time.Millisecond, Max: 4 * time.Millisecond},
			lives:     []time.Duration{0, 0, 0, 0, 0},
			wantWaits: []time.Duration{1, 2, 4, 4, 4},
		},
		"a long call starts over": {
			p:         Policy{Min: time.Millisecond, Max: 8 * time.Millisecond, Healthy: 20 * time.Millisecond},
			lives:     []time.Duration{0, 0, 30 * time.Millisecond, 0},
			wantWaits: []time.Duration{1, 2, 1, 2},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			var waits []time.Duration
			tc.p.Loop(ctx, func(context.Context) error {
				if calls == len(tc.lives) {
					cancel()
					return nil
				}
				time.Sleep(tc.lives[calls])
				calls++
				return errors.New("broken")
			}, func(err error, retryIn time.Duration) {
				if err == nil {
					t.Error("onBreak without the error")
				}
				waits = append(waits, retryIn/time.Millisecond)
			})
			if len(waits) != len(tc.wantWaits) {
				t.Fatalf("waits = %v, want %v", waits, tc.wantWaits)
			}
			for i := range waits {
				if waits[i] != tc.wantWaits[i] {
					t.Fatalf("waits = %v, want %v", waits, tc.wantWaits)
				}
			}
		})
	}
}

// TestLoopJitter: each wait is lengthened by at most Jitter of itself, and
// the waits of several clients differ.
func TestLoopJitter(t *testing.T) {
	p := Policy{Min: time.Millisecond, Max: time.Millisecond, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		p.Loop(ctx, func(context.Context) error { return errors.New("broken") }, func(_ error, retryIn time.Duration) {
			if retryIn < p.Min || retryIn > p.Min+p.Min/2 {
				t.Errorf("wait %v outside [%v, %v]", retryIn, p.Min, p.Min+p.Min/2)
			}
			seen[retryIn] = true
			cancel()
		})
	}
	if len(seen) < 2 {
		t.Errorf("20 clients all waited %v", seen)
	}
}

func TestLoopStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	called := make(chan struct{}, 1)
	go func() {
		Policy{Min: time.Hour, Max: time.Hour}.Loop(ctx, func(context.Context) error {
			select {
			case called <- struct{}{}:
			default:
			}
			return errors.New("x")
		}, nil)
		close(done)
	}()
	<-called // Loop is waiting out its hour
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not end with its context")
	}
}
