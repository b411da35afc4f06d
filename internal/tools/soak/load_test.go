package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
)

func TestChoose(t *testing.T) {
	tests := map[string]struct {
		i, live, churn int
		want           op
	}{
		"the cycle's create":              {i: 0, live: 150, churn: 200, want: opCreate},
		"the cycle's delete":              {i: 5, live: 150, churn: 200, want: opDelete},
		"an update":                       {i: 11, live: 150, churn: 200, want: opUpdate},
		"a get":                           {i: 2, live: 150, churn: 200, want: opGet},
		"a list":                          {i: 8, live: 150, churn: 200, want: opList},
		"full: the create deletes":        {i: 10, live: 200, churn: 200, want: opDelete},
		"filling: the delete creates":     {i: 15, live: 0, churn: 200, want: opCreate},
		"half full: the delete creates":   {i: 5, live: 100, churn: 200, want: opCreate},
		"past half full: the delete runs": {i: 5, live: 101, churn: 200, want: opDelete},
		"churn of one":                    {i: 0, live: 1, churn: 1, want: opDelete},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := choose(tc.i, tc.live, tc.churn); got != tc.want {
				t.Fatalf("choose(%d, %d, %d) = %s, want %s", tc.i, tc.live, tc.churn, got, tc.want)
			}
		})
	}
}

// fakeGateway answers as a gateway would the mix's requests, counting
// them by method, and fails an update with a stale resourceVersion.
type fakeGateway struct {
	mu      sync.Mutex
	rv      int
	objects map[string]int // name -> resourceVersion
	methods map[string]int
	bad     []string
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.methods[r.Method]++
	name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	answer := func(code int, name string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"metadata":{"name":%q,"resourceVersion":"%d"}}`, name, f.objects[name])
	}
	var body struct {
		Metadata struct{ Name, ResourceVersion string } `json:"metadata"`
	}
	if r.Body != nil {
		_ = json.NewDecoder(r.Body).Decode(&body)
	}
	switch r.Method {
	case http.MethodPost:
		name := body.Metadata.Name
		f.rv++
		f.objects[name] = f.rv
		answer(http.StatusCreated, name)
	case http.MethodPut:
		if body.Metadata.ResourceVersion != fmt.Sprint(f.objects[name]) {
			f.bad = append(f.bad, "stale update of "+name)
			w.WriteHeader(http.StatusConflict)
			return
		}
		f.rv++
		f.objects[name] = f.rv
		answer(http.StatusOK, name)
	case http.MethodDelete:
		if _, ok := f.objects[name]; !ok {
			f.bad = append(f.bad, "delete of a missing "+name)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		delete(f.objects, name)
		answer(http.StatusOK, name)
	default:
		if name == "configmaps" {
			_, _ = w.Write([]byte(`{"metadata":{"resourceVersion":"1"},"items":[]}`))
			return
		}
		if _, ok := f.objects[name]; !ok {
			f.bad = append(f.bad, "get of a missing "+name)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		answer(http.StatusOK, name)
	}
}

// TestMix runs the mix from two lanes at once against a fake gateway:
// no update is stale (the lanes never share an object at once), no
// delete or get misses, the created objects stay within the churn
// bound, and every kind of request is sent.
func TestMix(t *testing.T) {
	f := &fakeGateway{objects: map[string]int{}, methods: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	m := newMix(srv.Client(), 20, 10)
	if err := m.setup(context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]loadgen.Result, 2)
	for lane := range 2 {
		wg.Go(func() {
			var err error
			results[lane], err = loadgen.Run(context.Background(), loadgen.Options{Concurrency: 4, Duration: 10 * time.Second, MaxRequests: 2000}, m.call(srv.URL, lane, 2))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		if r.Failed > 0 {
			t.Errorf("%d of %d failed: %v", r.Failed, r.N, r.Codes)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.bad {
		t.Error(b)
	}
	if n := len(f.objects) - 20; n > 10 || n < 5 {
		t.Errorf("%d created objects left, want between 5 and the churn bound 10", n)
	}
	for _, method := range []string{"POST", "PUT", "GET", "DELETE"} {
		if f.methods[method] == 0 {
			t.Errorf("no %s sent: %v", method, f.methods)
		}
	}
}
