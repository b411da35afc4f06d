package workqueue

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	tests := map[string]struct {
		max  int
		run  func(q *Queue[string]) []string // what Get hands out, in order
		want []string
	}{
		"fifo, deduplicated": {10, func(q *Queue[string]) []string {
			q.Add("a")
			q.Add("b")
			q.Add("a")
			return drain(q, 2)
		}, []string{"a", "b"}},
		"full refuses new keys": {2, func(q *Queue[string]) []string {
			q.Add("a")
			q.Add("b")
			if q.Add("c") {
				return []string{"c accepted"}
			}
			if !q.Add("a") {
				return []string{"a refused"}
			}
			return drain(q, 2)
		}, []string{"a", "b"}},
		"added while processing comes back once": {10, func(q *Queue[string]) []string {
			q.Add("a")
			k, _ := q.Get(context.Background())
			q.Add("a")
			q.Add("a")
			if q.Len() != 1 {
				return []string{"len"}
			}
			q.Done(k)
			return append([]string{k}, drain(q, 1)...)
		}, []string{"a", "a"}},
		"delayed after immediate": {10, func(q *Queue[string]) []string {
			q.AddAfter("late", 30*time.Millisecond)
			q.Add("now")
			return drain(q, 2)
		}, []string{"now", "late"}},
		"add overrides a delay": {10, func(q *Queue[string]) []string {
			q.AddAfter("a", time.Hour)
			q.Add("a")
			return drain(q, 1)
		}, []string{"a"}},
		"retry backs off": {10, func(q *Queue[string]) []string {
			start := time.Now()
			q.Retry("a") // 10ms
			q.Retry("a") // 20ms, later than the first: kept at 10ms
			got := drain(q, 1)
			if time.Since(start) < 10*time.Millisecond {
				return []string{"too early"}
			}
			return got
		}, []string{"a"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, err := New[string](Options{MaxLen: tc.max, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.run(q); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// drain takes n keys (Done at once), with a deadline.
func drain(q *Queue[string], n int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	for range n {
		k, ok := q.Get(ctx)
		if !ok {
			return append(out, "timeout")
		}
		q.Done(k)
		out = append(out, k)
	}
	return out
}

func TestGetEndsWithContext(t *testing.T) {
	q, _ := New[int](Defaults())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, ok := q.Get(ctx); ok {
		t.Fatal("Get of an empty queue returned a key")
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		o  Options
		ok bool
	}{
		"defaults":     {Defaults(), true},
		"no length":    {Options{BaseDelay: 1, MaxDelay: 1}, false},
		"delays wrong": {Options{MaxLen: 1, BaseDelay: 2, MaxDelay: 1}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}
