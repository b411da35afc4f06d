package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		o       Options
		wantErr string
	}{
		"bounded":        {o: Options{Concurrency: 16, Duration: 5 * time.Second, MaxRequests: 1}},
		"no workers":     {o: Options{Concurrency: 0, Duration: time.Second, MaxRequests: 1}, wantErr: "concurrency"},
		"too many":       {o: Options{Concurrency: 5000, Duration: time.Second, MaxRequests: 1}, wantErr: "concurrency"},
		"no time":        {o: Options{Concurrency: 1, MaxRequests: 1}, wantErr: "duration"},
		"unbounded time": {o: Options{Concurrency: 1, Duration: time.Hour, MaxRequests: 1}, wantErr: "duration"},
		"no count":       {o: Options{Concurrency: 1, Duration: time.Second}, wantErr: "count"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.Validate()
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := map[string]struct {
		url     string
		wantErr bool
	}{
		"loopback ip":   {url: "http://127.0.0.1:8080/x"},
		"localhost":     {url: "https://localhost:6443/x"},
		"ipv6 loopback": {url: "http://[::1]:8080/x"},
		"other address": {url: "http://10.0.0.1:8080/x", wantErr: true},
		"a name":        {url: "http://example.com/x", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := CheckLoopback(tc.url); (err != nil) != tc.wantErr {
				t.Fatalf("CheckLoopback(%q) = %v, want error %v", tc.url, err, tc.wantErr)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := map[string]struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		"empty":        {sorted: nil, p: 0.5, want: 0},
		"one":          {sorted: ms(7), p: 0.99, want: 7 * time.Millisecond},
		"median odd":   {sorted: ms(1, 2, 3), p: 0.5, want: 2 * time.Millisecond},
		"p99 of 100":   {sorted: ms(hundred...), p: 0.99, want: 99 * time.Millisecond},
		"max":          {sorted: ms(hundred...), p: 1, want: 100 * time.Millisecond},
		"clamped high": {sorted: ms(1, 2), p: 2, want: 2 * time.Millisecond},
		"clamped low":  {sorted: ms(1, 2), p: -1, want: 1 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestRunStopsAtCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	call := HTTP(srv.Client(), func(ctx context.Context, _ int) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	})
	res, err := Run(context.Background(), Options{Concurrency: 4, Duration: 10 * time.Second, MaxRequests: 100}, call)
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 100 || res.Failed != 0 || res.Codes[200] != 100 || len(res.Latencies) != 100 {
		t.Fatalf("result = %+v", res)
	}
}

func TestRunGivesEachCallItsIndex(t *testing.T) {
	seen := make(chan int, 50)
	call := func(_ context.Context, i int) (int, error) { seen <- i; return 200, nil }
	if _, err := Run(context.Background(), Options{Concurrency: 3, Duration: 10 * time.Second, MaxRequests: 50}, call); err != nil {
		t.Fatal(err)
	}
	close(seen)
	got := map[int]bool{}
	for i := range seen {
		got[i] = true
	}
	for i := range 50 {
		if !got[i] {
			t.Fatalf("index %d was never given; got %v", i, got)
		}
	}
}

func TestRunPaced(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Time
	call := func(_ context.Context, _ int) (int, error) {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return 200, nil
	}
	// 2 workers, each once per 100 ms, for 1 s: about 20 calls, not
	// the thousands of an unpaced run.
	res, err := Run(context.Background(), Options{Concurrency: 2, Duration: time.Second, MaxRequests: 1000, Pace: 100 * time.Millisecond}, call)
	if err != nil {
		t.Fatal(err)
	}
	if res.N < 15 || res.N > 22 {
		t.Fatalf("%d calls in 1s at 2 workers paced 100ms, want about 20", res.N)
	}
}

func TestOptionsValidatePace(t *testing.T) {
	for name, tc := range map[string]struct {
		pace time.Duration
		ok   bool
	}{"none": {0, true}, "within": {time.Second, true}, "negative": {-1, false}, "past the duration": {time.Minute, false}} {
		err := Options{Concurrency: 1, Duration: 10 * time.Second, MaxRequests: 1, Pace: tc.pace}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}
