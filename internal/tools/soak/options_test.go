package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		change  func(*options)
		wantErr string
	}{
		"defaults":              {change: func(*options) {}},
		"a short look":          {change: func(o *options) { o.duration, o.interval = 2*time.Minute, 30*time.Second }},
		"a day":                 {change: func(o *options) { o.duration, o.interval = 24*time.Hour, 5*time.Minute }},
		"no dir":                {change: func(o *options) { o.dir = "" }, wantErr: "-dir"},
		"the working directory": {change: func(o *options) { o.dir = "." }, wantErr: "-dir"},
		"no portico":            {change: func(o *options) { o.portico = "" }, wantErr: "-portico"},
		"no duration":           {change: func(o *options) { o.duration = 0 }, wantErr: "-duration"},
		"longer than a day":     {change: func(o *options) { o.duration = 25 * time.Hour }, wantErr: "-duration"},
		"not whole intervals":   {change: func(o *options) { o.duration = 90 * time.Second }, wantErr: "whole number"},
		"shorter than one":      {change: func(o *options) { o.duration = 30 * time.Second }, wantErr: "whole number"},
		"too many intervals":    {change: func(o *options) { o.duration, o.interval = 24*time.Hour, 10*time.Second }, wantErr: "at most"},
		"interval too short":    {change: func(o *options) { o.interval = time.Second }, wantErr: "-interval"},
		"interval too long":     {change: func(o *options) { o.duration, o.interval = time.Hour, 10*time.Minute }, wantErr: "-interval"},
		"no rate":               {change: func(o *options) { o.rate = 0 }, wantErr: "-rate"},
		"rate too high":         {change: func(o *options) { o.rate = 1 << 20 }, wantErr: "-rate"},
		"odd workers":           {change: func(o *options) { o.workers = 3 }, wantErr: "-workers"},
		"too many workers":      {change: func(o *options) { o.workers = 128 }, wantErr: "-workers"},
		"no watchers":           {change: func(o *options) { o.watchers = 0 }},
		"too many watchers":     {change: func(o *options) { o.watchers = 100 }, wantErr: "-watchers"},
		"empty pool":            {change: func(o *options) { o.pool = 0 }, wantErr: "-pool"},
		"huge churn":            {change: func(o *options) { o.churn = 1 << 20 }, wantErr: "-churn"},
		"etcd compaction":       {change: func(o *options) { o.etcdCompaction = 5 * time.Minute }},
		"negative compaction":   {change: func(o *options) { o.etcdCompaction = -time.Minute }, wantErr: "-etcd-compaction"},
		"workers slower than an interval": {
			change:  func(o *options) { o.rate, o.workers, o.interval, o.duration = 1, 64, 10*time.Second, time.Minute },
			wantErr: "longer than an interval",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := defaultOptions()
			tc.change(&o)
			err := o.Validate()
			if (err != nil) != (tc.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestOptionsDerived(t *testing.T) {
	o := defaultOptions()
	if got := o.intervals(); got != 10 {
		t.Errorf("intervals() = %d, want 10", got)
	}
	// 8 workers at 100 req/s: each every 80 ms.
	if got := o.pace(); got != 80*time.Millisecond {
		t.Errorf("pace() = %s, want 80ms", got)
	}
}

func TestClusterArgs(t *testing.T) {
	o := defaultOptions()
	if args := o.clusterArgs(); args != nil {
		t.Errorf("clusterArgs() = %v by default, want none (the cluster as it runs)", args)
	}
	o.etcdCompaction = 5 * time.Minute
	if got := strings.Join(o.clusterArgs()["etcd"], " "); got != "--auto-compaction-mode periodic --auto-compaction-retention 5m0s" {
		t.Errorf("clusterArgs() = %q", got)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o != defaultOptions() {
		t.Fatalf("parseFlags(nil) = %+v, %v; want the defaults", o, err)
	}
	o, err = parseFlags([]string{"-duration", "2m", "-interval", "30s", "-rate", "50"}, io.Discard)
	if err != nil || o.duration != 2*time.Minute || o.interval != 30*time.Second || o.rate != 50 {
		t.Fatalf("parseFlags() = %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Fatal("parseFlags(extra) accepted an argument")
	}
}
