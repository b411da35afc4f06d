package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		o       options
		wantErr string
	}{
		"loopback ip":    {o: options{url: "http://127.0.0.1:8080/x", concurrency: 1, duration: time.Second, maxRequests: 1}},
		"localhost":      {o: options{url: "http://localhost:8080/x", concurrency: 1, duration: time.Second, maxRequests: 1}},
		"other address":  {o: options{url: "http://10.0.0.1:8080/x", concurrency: 1, duration: time.Second, maxRequests: 1}, wantErr: "not a loopback"},
		"a name":         {o: options{url: "http://example.com/x", concurrency: 1, duration: time.Second, maxRequests: 1}, wantErr: "not a loopback"},
		"no workers":     {o: options{url: "http://127.0.0.1/x", concurrency: 0, duration: time.Second, maxRequests: 1}, wantErr: "-c"},
		"unbounded time": {o: options{url: "http://127.0.0.1/x", concurrency: 1, duration: time.Hour, maxRequests: 1}, wantErr: "-d"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.o.validate()
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRunStopsAtCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	res, err := run(options{url: srv.URL, concurrency: 4, duration: 10 * time.Second, maxRequests: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.N != 100 || res.Failed != 0 || res.Codes[200] != 100 {
		t.Fatalf("result = %+v", res)
	}
}
