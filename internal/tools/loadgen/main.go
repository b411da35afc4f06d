// Command loadgen measures a running Portico from outside: a fixed number
// of workers send the same request over keep-alive connections for a
// bounded time and count, then it prints throughput and latency
// percentiles. It only talks to loopback addresses. The engine is
// internal/loadgen, which the side-by-side bench (internal/tools/bench)
// shares.
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
	"net/http"
	"os"
	"time"

	"github.com/portico-dev/portico/internal/loadgen"
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
	if err := loadgen.CheckLoopback(o.url); err != nil {
		return fmt.Errorf("-url: %w", err)
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

func run(o options) (loadgen.Result, error) {
	c, err := client(o)
	if err != nil {
		return loadgen.Result{}, err
	}
	call := loadgen.HTTP(c, func(ctx context.Context, _ int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
		if err == nil && o.token != "" {
			req.Header.Set("Authorization", "Bearer "+o.token)
		}
		return req, err
	})
	return loadgen.Run(context.Background(), loadgen.Options{Concurrency: o.concurrency, Duration: o.duration, MaxRequests: o.maxRequests}, call)
}
