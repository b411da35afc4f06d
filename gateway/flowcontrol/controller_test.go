package flowcontrol

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/portico-dev/portico/internal/testwait"
)

// oneLevel is a controller with one limited level, a flow per user, and
// an exempt level for system:masters.
func oneLevel(t *testing.T, seats, queueLength, maxWaiting int, wait time.Duration) *Controller {
	t.Helper()
	c, err := New(Options{
		Seats: seats, QueueWait: wait,
		Levels: []LevelConfig{
			{Name: LevelExempt, Exempt: true},
			{Name: "limited", Shares: 1, QueueLengthLimit: queueLength, MaxWaiting: maxWaiting},
		},
		Schemas: []Schema{
			{Name: "exempt", Level: LevelExempt, Match: inGroup(groupMasters)},
			{Name: "users", Level: "limited", Distinguisher: ByUser, Match: func(*Request) bool { return true }},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *Controller) levelNamed(name string) *level {
	for _, l := range c.levels {
		if l.name == name {
			return l
		}
	}
	return nil
}

func user(name string) *Request { return &Request{User: name, Groups: []string{groupAuthenticated}} }

// mustWait takes a seat or fails.
func mustWait(t *testing.T, c *Controller, r *Request) func() {
	t.Helper()
	release, err := c.Wait(context.Background(), c.Classify(r))
	if err != nil {
		t.Fatal(err)
	}
	return release
}

// TestFairness: a flow holding every seat and many queued requests,
// queued before, does not stop another flow's one request: the next
// free seat is the other flow's, with one seat or several.
func TestFairness(t *testing.T) {
	for _, seats := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(seats, " seats"), func(t *testing.T) { testFairness(t, seats) })
	}
}

func testFairness(t *testing.T, seats int) {
	c := oneLevel(t, seats, 50, 0, time.Minute)
	l := c.levelNamed("limited")
	var held []func()
	for range seats {
		held = append(held, mustWait(t, c, user("attacker")))
	}

	type result struct {
		who     string
		release func()
	}
	got := make(chan result, 20)
	queue := func(who string) {
		go func() {
			release, err := c.Wait(context.Background(), c.Classify(user(who)))
			if err != nil {
				t.Errorf("%s: %v", who, err)
				release = func() {}
			}
			got <- result{who, release}
		}()
	}
	for range 10 {
		queue("attacker")
	}
	testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "the attacker's requests queued", func() bool { return l.stats().waiting == 10 })
	queue("victim")
	testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "the victim's request queued", func() bool { return l.stats().waiting == 11 })

	held[0]()
	first := <-got
	if first.who != "victim" {
		t.Fatalf("the free seat went to %s, want the victim", first.who)
	}
	if s := l.stats(); s.waiting != 10 || s.executing != seats {
		t.Fatalf("after one dispatch: %+v", s)
	}
	// Every queued request gets its turn as seats free.
	first.release()
	for _, h := range held[1:] {
		h()
	}
	for range 10 {
		r := <-got
		if r.who != "attacker" {
			t.Fatalf("dispatched %s twice", r.who)
		}
		r.release()
	}
	if s := l.stats(); s != (stats{}) {
		t.Fatalf("at the end: %+v", s)
	}
}

// TestFairnessRoundRobin: among flows with as many seats executing, the
// seat goes to the flow served longest ago, so equal flows alternate.
func TestFairnessRoundRobin(t *testing.T) {
	c := oneLevel(t, 1, 50, 0, time.Minute)
	l := c.levelNamed("limited")
	hold := mustWait(t, c, user("x"))
	order := make(chan string, 6)
	releases := make(chan func(), 6)
	for i, who := range []string{"a", "a", "a", "b", "b", "b"} {
		go func() {
			release, err := c.Wait(context.Background(), c.Classify(user(who)))
			if err != nil {
				t.Error(err)
				return
			}
			order <- who
			releases <- release
		}()
		testwait.UntilEvery(t, 5*time.Second, time.Millisecond, fmt.Sprintf("request %d queued", i), func() bool { return l.stats().waiting == i+1 })
	}
	hold()
	var seq []string
	for range 6 {
		seq = append(seq, <-order)
		(<-releases)()
	}
	if got := strings.Join(seq, ""); got != "ababab" {
		t.Errorf("dispatch order %s, want ababab", got)
	}
}

// TestRejections: each way of refusing a request, with its reason.
func TestRejections(t *testing.T) {
	tests := map[string]struct {
		queueLength, maxWaiting int
		wait                    time.Duration
		// queued are requests (by user) left waiting before the one tested.
		queued     []string
		user       string
		cancel     bool
		wantReason string
	}{
		"no queuing":          {queueLength: 0, wait: time.Minute, user: "u", wantReason: "concurrency-limit"},
		"the flow's queue":    {queueLength: 2, wait: time.Minute, queued: []string{"u", "u"}, user: "u", wantReason: "queue-full"},
		"another flow queues": {queueLength: 2, wait: time.Minute, queued: []string{"u", "u"}, user: "v", wantReason: ""},
		"the level's queues":  {queueLength: 5, maxWaiting: 2, wait: time.Minute, queued: []string{"u", "v"}, user: "w", wantReason: "queue-full"},
		"waited too long":     {queueLength: 5, wait: 20 * time.Millisecond, user: "u", wantReason: "time-out"},
		"client went away":    {queueLength: 5, wait: time.Minute, user: "u", cancel: true, wantReason: "cancelled"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := oneLevel(t, 1, tc.queueLength, tc.maxWaiting, tc.wait)
			l := c.levelNamed("limited")
			hold := mustWait(t, c, user("holder"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i, u := range tc.queued {
				go func() {
					if release, err := c.Wait(ctx, c.Classify(user(u))); err == nil {
						release()
					}
				}()
				testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "queued", func() bool { return l.stats().waiting == i+1 })
			}
			errc := make(chan error, 1)
			go func() {
				release, err := c.Wait(ctx, c.Classify(user(tc.user)))
				if release != nil {
					release()
				}
				errc <- err
			}()
			if tc.wantReason == "" {
				testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "queued", func() bool { return l.stats().waiting == len(tc.queued)+1 })
				cancel()
				<-errc
				hold()
				return
			}
			if tc.cancel {
				testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "queued", func() bool { return l.stats().waiting == len(tc.queued)+1 })
				cancel()
			}
			err := <-errc
			var rej *RejectedError
			if !errors.As(err, &rej) || rej.Reason != tc.wantReason || rej.PriorityLevel != "limited" || rej.FlowSchema != "users" {
				t.Fatalf("error %v, want reason %s", err, tc.wantReason)
			}
			cancel()
			hold()
			testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "the level empties", func() bool { return l.stats() == stats{} })
		})
	}
}

// TestExemptNeverQueued: with every seat of the limited level taken, an
// exempt request is admitted at once, as many times as asked.
func TestExemptNeverQueued(t *testing.T) {
	c := oneLevel(t, 1, 0, 0, time.Minute)
	hold := mustWait(t, c, user("u"))
	defer hold()
	if _, err := c.Wait(context.Background(), c.Classify(user("v"))); err == nil {
		t.Fatal("the limited level admitted a second request")
	}
	admin := &Request{User: "admin", Groups: []string{groupMasters}}
	var releases []func()
	for range 100 {
		cl := c.Classify(admin)
		if !cl.Exempt() {
			t.Fatalf("system:masters is at %s", cl.PriorityLevel())
		}
		releases = append(releases, mustWait(t, c, admin))
	}
	if s := c.levelNamed(LevelExempt).stats(); s.executing != 100 || s.waiting != 0 || s.flows != 0 {
		t.Errorf("exempt level: %+v", s)
	}
	for _, r := range releases {
		r()
	}
}

// TestIdleFlowsForgotten: the flows map holds only flows with a request
// executing or waiting; it shrinks to nothing when they end, however
// they end.
func TestIdleFlowsForgotten(t *testing.T) {
	c := oneLevel(t, 10, 5, 0, 20*time.Millisecond)
	l := c.levelNamed("limited")
	var releases []func()
	for i := range 10 {
		releases = append(releases, mustWait(t, c, user(fmt.Sprint("u", i))))
	}
	done := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := c.Wait(context.Background(), c.Classify(user(fmt.Sprint("w", i))))
			done <- err
		}()
	}
	testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "20 flows waiting", func() bool { return l.stats().waiting == 20 })
	if s := l.stats(); s.flows != 30 {
		t.Fatalf("flows %d, want 30", s.flows)
	}
	for range 20 {
		if err := <-done; err == nil {
			t.Fatal("a waiting request was given a seat nobody freed")
		}
	}
	if s := l.stats(); s.flows != 10 {
		t.Fatalf("after the timeouts: %d flows, want 10", s.flows)
	}
	for _, r := range releases {
		r()
		r() // a second release changes nothing
	}
	if s := l.stats(); s != (stats{}) {
		t.Fatalf("after every release: %+v", s)
	}
}

// TestWatchBound: past MaxWatchesPerUser a user's watch is refused;
// other users and exempt users are not affected, and a closed watch
// frees its place.
func TestWatchBound(t *testing.T) {
	c, err := New(Options{MaxWatchesPerUser: 2, Levels: []LevelConfig{{Name: LevelExempt, Exempt: true}, {Name: "l", Shares: 1}},
		Schemas: []Schema{
			{Name: "exempt", Level: LevelExempt, Match: inGroup(groupMasters)},
			{Name: "all", Level: "l", Distinguisher: ByUser, Match: func(*Request) bool { return true }},
		}})
	if err != nil {
		t.Fatal(err)
	}
	start := func(r *Request) (func(), error) { return c.StartWatch(c.Classify(r), r.User) }
	d1, err1 := start(user("a"))
	d2, err2 := start(user("a"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	var rej *RejectedError
	if _, err := start(user("a")); !errors.As(err, &rej) || rej.Reason != "watch-limit" {
		t.Fatalf("third watch: %v", err)
	}
	db, err := start(user("b"))
	if err != nil {
		t.Fatalf("another user: %v", err)
	}
	admin := &Request{User: "admin", Groups: []string{groupMasters}}
	for range 5 {
		if _, err := start(admin); err != nil {
			t.Fatalf("exempt: %v", err)
		}
	}
	d1()
	d1()
	d3, err := start(user("a"))
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	for _, d := range []func(){d2, d3, db} {
		d()
	}
	if n := c.watchUsers(); n != 0 {
		t.Errorf("%d users still counted", n)
	}
}

// TestClassifyDefault: kube's mandatory and suggested schemas.
func TestClassifyDefault(t *testing.T) {
	levels, schemas := DefaultConfig()
	c, err := New(Options{Seats: 600, Levels: levels, Schemas: schemas})
	if err != nil {
		t.Fatal(err)
	}
	sa := func(ns, name string) *Request {
		return &Request{User: "system:serviceaccount:" + ns + ":" + name, Groups: []string{groupServiceAccounts, groupServiceAccounts + ":" + ns, groupAuthenticated}}
	}
	with := func(r *Request, f func(*Request)) *Request { f(r); return r }
	lease := func(r *Request) {
		r.ResourceRequest, r.Verb, r.APIGroup, r.Resource, r.Namespace = true, "update", "coordination.k8s.io", "leases", "kube-system"
	}
	tests := map[string]struct {
		req                *Request
		schema, level      string
		sameFlowAs         *Request
		differentFlowsFrom *Request
	}{
		"system:masters":    {req: &Request{User: "admin", Groups: []string{groupMasters, groupAuthenticated}}, schema: "exempt", level: LevelExempt},
		"a probe":           {req: &Request{User: "system:anonymous", Groups: []string{groupUnauthenticated}, Verb: "get", Path: "/readyz/etcd"}, schema: "probes", level: LevelExempt},
		"not a probe":       {req: &Request{User: "system:anonymous", Groups: []string{groupUnauthenticated}, Verb: "get", Path: "/readyzz"}, schema: "global-default", level: LevelGlobalDefault},
		"scheduler lease":   {req: with(&Request{User: userScheduler, Groups: []string{groupAuthenticated}}, lease), schema: "system-leader-election", level: LevelLeaderElection},
		"kube-system SA":    {req: with(sa("kube-system", "x"), lease), schema: "system-leader-election", level: LevelLeaderElection},
		"workload lease":    {req: with(sa("demo", "op"), lease), schema: "workload-leader-election", level: LevelLeaderElection},
		"lease elsewhere":   {req: with(sa("demo", "op"), func(r *Request) { lease(r); r.Namespace = "demo" }), schema: "service-accounts", level: LevelWorkloadLow},
		"a node":            {req: &Request{User: "system:node:n1", Groups: []string{groupNodes, groupAuthenticated}}, schema: "system-nodes", level: LevelSystem},
		"a Portico service": {req: &Request{User: "system:portico:authz", Groups: []string{"system:portico", groupAuthenticated}}, schema: "portico-services", level: LevelSystem},
		"controller manager": {
			req:    &Request{User: userControllerMgr, Groups: []string{groupAuthenticated}, ResourceRequest: true, Verb: "list", Resource: "pods", Namespace: "a"},
			schema: "kube-controller-manager", level: LevelWorkloadHigh,
			differentFlowsFrom: &Request{User: userControllerMgr, Groups: []string{groupAuthenticated}, ResourceRequest: true, Verb: "list", Resource: "pods", Namespace: "b"},
		},
		"kube-system SAs share a namespace flow": {
			req: with(sa("kube-system", "a"), func(r *Request) { r.Namespace = "kube-system" }), schema: "kube-system-service-accounts", level: LevelWorkloadHigh,
			sameFlowAs: with(sa("kube-system", "b"), func(r *Request) { r.Namespace = "kube-system" }),
		},
		"service accounts by user": {
			req: sa("demo", "a"), schema: "service-accounts", level: LevelWorkloadLow, differentFlowsFrom: sa("demo", "b"),
		},
		"authenticated users by user": {
			req: user("alice"), schema: "global-default", level: LevelGlobalDefault, differentFlowsFrom: user("bob"),
		},
		"no groups": {req: &Request{User: "odd"}, schema: "catch-all", level: LevelCatchAll},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl := c.Classify(tc.req)
			if cl.FlowSchema() != tc.schema || cl.PriorityLevel() != tc.level {
				t.Fatalf("%s at %s, want %s at %s", cl.FlowSchema(), cl.PriorityLevel(), tc.schema, tc.level)
			}
			if cl.Exempt() != (tc.level == LevelExempt) {
				t.Errorf("exempt %v", cl.Exempt())
			}
			if len(cl.FlowSchemaUID()) != 36 || len(cl.PriorityLevelUID()) != 36 || cl.FlowSchemaUID() == cl.PriorityLevelUID() {
				t.Errorf("UIDs %q %q", cl.FlowSchemaUID(), cl.PriorityLevelUID())
			}
			if tc.sameFlowAs != nil && c.Classify(tc.sameFlowAs).flow != cl.flow {
				t.Errorf("not the same flow")
			}
			if tc.differentFlowsFrom != nil && c.Classify(tc.differentFlowsFrom).flow == cl.flow {
				t.Errorf("the same flow")
			}
		})
	}
}

// TestSeats: the total is shared out by shares (ceil, at least one); 0
// seats is no limit.
func TestSeats(t *testing.T) {
	levels, schemas := DefaultConfig()
	tests := map[string]struct {
		total int
		want  map[string]int
	}{
		// shares 30+10+40+100+20+5 = 205
		"kube's 400+200": {total: 600, want: map[string]int{LevelExempt: 0, LevelSystem: 88, LevelLeaderElection: 30, LevelWorkloadHigh: 118, LevelWorkloadLow: 293, LevelGlobalDefault: 59, LevelCatchAll: 15}},
		"one seat":       {total: 1, want: map[string]int{LevelExempt: 0, LevelSystem: 1, LevelLeaderElection: 1, LevelWorkloadHigh: 1, LevelWorkloadLow: 1, LevelGlobalDefault: 1, LevelCatchAll: 1}},
		"no limit":       {total: 0, want: map[string]int{LevelExempt: 0, LevelSystem: 0, LevelLeaderElection: 0, LevelWorkloadHigh: 0, LevelWorkloadLow: 0, LevelGlobalDefault: 0, LevelCatchAll: 0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(Options{Seats: tc.total, Levels: levels, Schemas: schemas, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range c.levels {
				if l.seats != tc.want[l.name] {
					t.Errorf("%s: %d seats, want %d", l.name, l.seats, tc.want[l.name])
				}
				if v := value(t, m.seats.WithLabelValues(l.name)); v != float64(tc.want[l.name]) {
					t.Errorf("%s: nominal_limit_seats %v", l.name, v)
				}
			}
		})
	}
	t.Run("no limit admits everything at once", func(t *testing.T) {
		c, err := New(Options{Levels: levels, Schemas: schemas})
		if err != nil {
			t.Fatal(err)
		}
		for range 1000 {
			mustWait(t, c, user("u"))
		}
		if s := c.levelNamed(LevelGlobalDefault).stats(); s.executing != 1000 || s.flows != 0 {
			t.Errorf("%+v", s)
		}
	})
}

// TestMetrics: the series move as requests wait, run and are refused.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Seats: 1, QueueWait: 20 * time.Millisecond, Metrics: m,
		Levels:  []LevelConfig{{Name: "l", Shares: 1, QueueLengthLimit: 1}},
		Schemas: []Schema{{Name: "s", Level: "l", Distinguisher: ByUser, Match: func(*Request) bool { return true }}}})
	if err != nil {
		t.Fatal(err)
	}
	release := mustWait(t, c, user("u"))
	if v := value(t, m.executing.WithLabelValues("l", "s")); v != 1 {
		t.Errorf("executing %v", v)
	}
	queued := make(chan error)
	go func() { _, err := c.Wait(context.Background(), c.Classify(user("u"))); queued <- err }()
	testwait.UntilEvery(t, 5*time.Second, time.Millisecond, "in queue", func() bool { return value(t, m.inqueue.WithLabelValues("l", "s")) == 1 })
	if _, err := c.Wait(context.Background(), c.Classify(user("u"))); err == nil {
		t.Fatal("admitted past the queue")
	}
	if err := <-queued; err == nil {
		t.Fatal("admitted past the wait")
	}
	release()
	for series, want := range map[prometheus.Metric]float64{
		m.executing.WithLabelValues("l", "s"):              0,
		m.inqueue.WithLabelValues("l", "s"):                0,
		m.dispatched.WithLabelValues("l", "s"):             1,
		m.rejected.WithLabelValues("l", "s", "queue-full"): 1,
		m.rejected.WithLabelValues("l", "s", "time-out"):   1,
	} {
		if v := value(t, series); v != want {
			t.Errorf("%v: %v, want %v", series, v, want)
		}
	}
	// Only a request that waited is observed as not executed.
	for execute, want := range map[string]uint64{"true": 1, "false": 1} {
		var out dto.Metric
		if err := m.wait.WithLabelValues("l", "s", execute).(prometheus.Histogram).Write(&out); err != nil {
			t.Fatal(err)
		}
		if n := out.GetHistogram().GetSampleCount(); n != want {
			t.Errorf("waits with execute=%s: %d, want %d", execute, n, want)
		}
	}
}

// value is a gauge's or counter's value.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	if out.Gauge != nil {
		return out.GetGauge().GetValue()
	}
	return out.GetCounter().GetValue()
}

func TestValidate(t *testing.T) {
	all := func(*Request) bool { return true }
	tests := map[string]struct {
		o       Options
		wantErr string
	}{
		"default":        {o: func() Options { l, s := DefaultConfig(); return Options{Seats: 600, Levels: l, Schemas: s} }()},
		"insecure":       {o: func() Options { l, s := InsecureConfig(); return Options{Seats: 600, Levels: l, Schemas: s} }()},
		"negative seats": {o: Options{Seats: -1, Levels: []LevelConfig{{Name: "l", Shares: 1}}, Schemas: []Schema{{Name: "s", Level: "l", Match: all}}}, wantErr: "negative"},
		"no shares":      {o: Options{Levels: []LevelConfig{{Name: "l"}}, Schemas: []Schema{{Name: "s", Level: "l", Match: all}}}, wantErr: "positive shares"},
		"unknown level":  {o: Options{Levels: []LevelConfig{{Name: "l", Shares: 1}}, Schemas: []Schema{{Name: "s", Level: "m", Match: all}}}, wantErr: "names no priority level"},
		"no schema":      {o: Options{Levels: []LevelConfig{{Name: "l", Shares: 1}}}, wantErr: "no flow schema"},
		"twice":          {o: Options{Levels: []LevelConfig{{Name: "l", Shares: 1}, {Name: "l", Shares: 1}}, Schemas: []Schema{{Name: "s", Level: "l", Match: all}}}, wantErr: "defined twice"},
		"no match":       {o: Options{Levels: []LevelConfig{{Name: "l", Shares: 1}}, Schemas: []Schema{{Name: "s", Level: "l"}}}, wantErr: "matches nothing"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
