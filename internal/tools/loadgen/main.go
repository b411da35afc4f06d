// Command loadgen measures a running Portico from outside: a fixed number
// of workers send the same request over keep-alive connections for a
// bounded time and count, then it prints throughput and latency
// percentiles. It only talks to loopback addresses.
//
//	go run ./internal/tools/loadgen -url http://127.0.0.1:8080/api/v1/namespaces/default -c 16 -d 10s
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"
)

type options struct {
	url         string
	concurrency int
	duration    time.Duration
	maxRequests int
	caFile      string
	certFile    string
	keyFile     string
	token       string
	h2          bool
}

func (o *options) validate() error {
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url: %s is not a loopback address; loadgen only loads this machine", host)
	}
	if o.concurrency < 1 || o.concurrency > 1024 {
		return errors.New("-c must be between 1 and 1024")
	}
	if o.duration <= 0 || o.duration > 5*time.Minute {
		return errors.New("-d must be between 0 and 5m")
	}
	if o.maxRequests < 1 {
		return errors.New("-n must be positive")
	}
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "URL to GET (loopback only)")
	flag.IntVar(&o.concurrency, "c", 16, "concurrent workers")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long to run")
	flag.IntVar(&o.maxRequests, "n", 1_000_000, "stop after this many requests")
	flag.StringVar(&o.caFile, "cacert", "", "CA of the server's certificate (https)")
	flag.StringVar(&o.certFile, "cert", "", "client certificate (https)")
	flag.StringVar(&o.keyFile, "key", "", "client key (https)")
	flag.StringVar(&o.token, "token", "", "bearer token")
	flag.BoolVar(&o.h2, "h2", true, "HTTP/2 over TLS (one connection, many streams)")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Print(res)
}

type result struct {
	n, failed int
	elapsed   time.Duration
	latencies []time.Duration
	codes     map[int]int
}

func (r result) String() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(float64(len(r.latencies)-1)*p)]
	}
	return fmt.Sprintf("requests %d  failed %d  codes %v\nthroughput %.0f req/s\nlatency p50 %v  p90 %v  p99 %v  max %v\n",
		r.n, r.failed, r.codes, float64(r.n)/r.elapsed.Seconds(),
		pct(0.50), pct(0.90), pct(0.99), pct(1))
}

func client(o options) (*http.Client, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency, ForceAttemptHTTP2: o.h2}
	if o.caFile != "" || o.certFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.caFile != "" {
			pem, err := os.ReadFile(o.caFile)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = x509.NewCertPool()
			cfg.RootCAs.AppendCertsFromPEM(pem)
		}
		if o.certFile != "" {
			pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

func run(o options) (result, error) {
	c, err := client(o)
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var mu sync.Mutex
	total := result{codes: map[int]int{}}
	var sent int
	var wg sync.WaitGroup
	start := time.Now()
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := result{codes: map[int]int{}}
			for ctx.Err() == nil {
				mu.Lock()
				if sent >= o.maxRequests {
					mu.Unlock()
					break
				}
				sent++
				mu.Unlock()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
				if o.token != "" {
					req.Header.Set("Authorization", "Bearer "+o.token)
				}
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						local.failed++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local.latencies = append(local.latencies, time.Since(t0))
				local.codes[resp.StatusCode]++
				local.n++
				if resp.StatusCode >= 300 {
					local.failed++
				}
			}
			mu.Lock()
			total.n += local.n
			total.failed += local.failed
			total.latencies = append(total.latencies, local.latencies...)
			for k, v := range local.codes {
				total.codes[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total, nil
}
