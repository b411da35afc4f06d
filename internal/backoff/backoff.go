// Package backoff keeps a long-lived call (a watch stream) going: it runs
// it again after every break, waiting longer each time up to a bound, and
// starts the wait over once a call has lived long. Each wait is lengthened
// by a random part (jitter), so that the clients of a restarted service do
// not all call again at the same instant.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds the waits between calls.
type Policy struct {
	// Min is the first wait and Max the longest.
	Min, Max time.Duration
	// Healthy is how long a call must have lived for the next wait to
	// start again at Min.
	Healthy time.Duration
	// Jitter lengthens each wait by a random fraction of it, up to
	// Jitter (0.5: up to half again); 0 waits exactly.
	Jitter float64
}

// Streams is the policy of Portico's watch streams between services.
func Streams() Policy {
	return Policy{Min: 50 * time.Millisecond, Max: 5 * time.Second, Healthy: time.Minute, Jitter: 0.5}
}

// Loop calls call until ctx ends, waiting between calls as the policy
// says. onBreak, when not nil, hears why each call ended and how long the
// wait before the next is.
func (p Policy) Loop(ctx context.Context, call func(context.Context) error, onBreak func(err error, retryIn time.Duration)) {
	wait := p.Min
	for ctx.Err() == nil {
		start := time.Now()
		err := call(ctx)
		if ctx.Err() != nil {
			return
		}
		if p.Healthy > 0 && time.Since(start) > p.Healthy {
			wait = p.Min
		}
		sleep := wait
		if p.Jitter > 0 {
			sleep += time.Duration(rand.Float64() * p.Jitter * float64(wait))
		}
		if onBreak != nil {
			onBreak(err, sleep)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, p.Max)
	}
}
