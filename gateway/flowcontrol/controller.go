package flowcontrol

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Controller classifies requests and gives them seats. Build one per
// budget: the gateway has one for the secure port and one for the
// insecure port, so that neither can take the other's seats.
type Controller struct {
	schemas    []*schema
	levels     []*level
	wait       time.Duration
	maxWatches int

	mu      sync.Mutex
	watches map[string]int // open watches by user; users with none are absent
}

// schema is a Schema bound to its level.
type schema struct {
	Schema
	uid     string
	level   *level
	metrics schemaMetrics
}

// New builds a Controller from validated options.
func New(o Options) (*Controller, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m := o.Metrics
	if m == nil {
		m, _ = NewMetrics(nil) // registers nothing, cannot fail
	}
	if o.QueueWait == 0 {
		o.QueueWait = DefaultQueueWait
	}
	c := &Controller{wait: o.QueueWait, maxWatches: o.MaxWatchesPerUser, watches: map[string]int{}}
	shares := 0
	for _, l := range o.Levels {
		if !l.Exempt {
			shares += l.Shares
		}
	}
	byName := map[string]*level{}
	for _, lc := range o.Levels {
		seats := 0
		if !lc.Exempt && o.Seats > 0 {
			seats = max(1, (o.Seats*lc.Shares+shares-1)/shares) // ceil, at least one
		}
		l := newLevel(lc, seats)
		c.levels = append(c.levels, l)
		byName[lc.Name] = l
		m.seats.WithLabelValues(lc.Name).Set(float64(l.seats))
	}
	for _, s := range o.Schemas {
		l := byName[s.Level]
		c.schemas = append(c.schemas, &schema{Schema: s, uid: uid("flowschema", s.Name), level: l, metrics: m.forSchema(l.name, s.Name)})
	}
	return c, nil
}

// Classification is the flow schema, priority level and flow of a request.
type Classification struct {
	s    *schema
	flow string
}

// FlowSchema is the name of the matching flow schema.
func (c Classification) FlowSchema() string { return c.s.Name }

// PriorityLevel is the name of the schema's priority level.
func (c Classification) PriorityLevel() string { return c.s.level.name }

// FlowSchemaUID is sent as X-Kubernetes-PF-FlowSchema-UID.
func (c Classification) FlowSchemaUID() string { return c.s.uid }

// PriorityLevelUID is sent as X-Kubernetes-PF-PriorityLevel-UID.
func (c Classification) PriorityLevelUID() string { return c.s.level.uid }

// Exempt reports a level that is never limited.
func (c Classification) Exempt() bool { return c.s.level.exempt }

// Classify finds r's flow schema: the first that matches. A request no
// schema matches goes to the last one.
func (c *Controller) Classify(r *Request) Classification {
	s := c.schemas[len(c.schemas)-1]
	for _, cand := range c.schemas {
		if cand.Match(r) {
			s = cand
			break
		}
	}
	cl := Classification{s: s}
	switch s.Distinguisher {
	case ByUser:
		cl.flow = s.Name + "\x00" + r.User
	case ByNamespace:
		cl.flow = s.Name + "\x00" + r.Namespace
	default:
		cl.flow = s.Name
	}
	return cl
}

// RejectedError is a request refused a seat (or a watch past the bound).
type RejectedError struct {
	PriorityLevel, FlowSchema string
	// Reason is kube's label: queue-full, concurrency-limit, time-out,
	// cancelled; or watch-limit.
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("flowcontrol: request rejected at priority level %q (flow schema %q): %s", e.PriorityLevel, e.FlowSchema, e.Reason)
}

// Wait waits until cl's level gives the request a seat, at most the
// queue wait; the caller must call release when the request ends. The
// error is a *RejectedError.
func (c *Controller) Wait(ctx context.Context, cl Classification) (release func(), err error) {
	release, reason := cl.s.level.acquire(ctx, cl.s, cl.flow, c.wait)
	if reason != "" {
		cl.s.metrics.reject(reason)
		return nil, &RejectedError{PriorityLevel: cl.PriorityLevel(), FlowSchema: cl.FlowSchema(), Reason: reason}
	}
	return release, nil
}

// StartWatch counts one more watch of user, who must be told apart by
// name (the insecure port passes ""); past MaxWatchesPerUser it is a
// *RejectedError with reason watch-limit. Exempt levels are not bounded.
// The caller must call done when the watch ends.
func (c *Controller) StartWatch(cl Classification, user string) (done func(), err error) {
	if c.maxWatches == 0 || cl.Exempt() {
		cl.s.metrics.watches.Inc()
		return cl.s.metrics.watches.Dec, nil
	}
	c.mu.Lock()
	if c.watches[user] >= c.maxWatches {
		c.mu.Unlock()
		cl.s.metrics.reject("watch-limit")
		return nil, &RejectedError{PriorityLevel: cl.PriorityLevel(), FlowSchema: cl.FlowSchema(), Reason: "watch-limit"}
	}
	c.watches[user]++
	c.mu.Unlock()
	cl.s.metrics.watches.Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			cl.s.metrics.watches.Dec()
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.watches[user]--; c.watches[user] <= 0 {
				delete(c.watches, user)
			}
		})
	}, nil
}

// watchUsers is the number of users with an open watch, for tests.
func (c *Controller) watchUsers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.watches)
}
