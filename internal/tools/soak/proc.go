package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is what one process looked like at the end of an interval.
// A figure that could not be read is -1.
type sample struct {
	pid        int
	rss        int64 // bytes
	goroutines int
	fds        int
}

// unknown marks a figure that was not read.
const unknown = -1

// parseVmRSS reads the resident set size in bytes from the contents of
// /proc/<pid>/status ("VmRSS:\t  123456 kB").
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", sc.Text())
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line (a zombie or kernel thread)")
}

// readRSS is the process's VmRSS in bytes.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(io.LimitReader(f, 64<<10))
}

// countFDs is the number of open file descriptors of the process.
func countFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// parseGauge finds an unlabeled sample of name in Prometheus text
// exposition ("go_goroutines 57") and returns its value; ok is false
// when there is none.
func parseGauge(r io.Reader, name string) (v float64, ok bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		rest, found := strings.CutPrefix(line, name)
		if !found || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue // another metric with this prefix, or a labeled one
		}
		f := strings.Fields(rest)
		if len(f) < 1 || len(f) > 2 { // value, and an optional timestamp
			return 0, false, fmt.Errorf("%s: line %q", name, line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("%s: line %q: %w", name, line, err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}

// metricsLimit bounds a /metrics answer read.
const metricsLimit = 8 << 20

// scrapeGoroutines is go_goroutines of the /metrics at url.
func scrapeGoroutines(ctx context.Context, client *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, resp.Status)
	}
	v, ok, err := parseGauge(io.LimitReader(resp.Body, metricsLimit), "go_goroutines")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%s: no go_goroutines", url)
	}
	return int(v), nil
}

// metricsClient is an HTTP client for /metrics: tlsConfig for etcd's
// client URL (it admits only the api's certificate), plain HTTP for a
// gateway's insecure port.
func metricsClient(tlsConfig *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
}
