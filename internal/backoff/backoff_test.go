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

func TestLoopStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Policy{Min: time.Hour, Max: time.Hour}.Loop(ctx, func(context.Context) error { return errors.New("x") }, nil)
		close(done)
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not end with its context")
	}
}
