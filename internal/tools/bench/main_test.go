package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	good := func() options {
		return options{duration: 5 * time.Second, concurrency: 16, portico: "bin/portico", scale: []int{100, 1000, 10000}, watchers: 1000, writes: 1000, schedPods: 500, schedNodes: 100}
	}
	tests := map[string]struct {
		change  func(*options)
		wantErr string
	}{
		"defaults":        {change: func(*options) {}},
		"no time":         {change: func(o *options) { o.duration = 0 }, wantErr: "-d"},
		"too long":        {change: func(o *options) { o.duration = time.Hour }, wantErr: "-d"},
		"no clients":      {change: func(o *options) { o.concurrency = 0 }, wantErr: "-c"},
		"no binary":       {change: func(o *options) { o.portico = "" }, wantErr: "-portico"},
		"no watchers":     {change: func(o *options) { o.watchers = 0 }, wantErr: "-watchers"},
		"too many write":  {change: func(o *options) { o.writes = 100_000 }, wantErr: "-writes"},
		"huge scale":      {change: func(o *options) { o.scale = []int{1_000_000} }, wantErr: "-scale"},
		"no nodes":        {change: func(o *options) { o.schedNodes = 0 }, wantErr: "-sched-nodes"},
		"sched skipped":   {change: func(o *options) { o.schedPods = 0 }},
		"only nothing":    {change: func(o *options) { o.schedPods, o.schedOnly = 0, true }, wantErr: "-sched-only"},
		"profile dir":     {change: func(o *options) { o.profileDir = t.TempDir() }},
		"profile nowhere": {change: func(o *options) { o.profileDir = filepath.Join(t.TempDir(), "none") }, wantErr: "-profile"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := good()
			tc.change(&o)
			errs := o.Validate()
			if tc.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("Validate() = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want one naming %q", errs, tc.wantErr)
			}
		})
	}
}

func TestApplyQuick(t *testing.T) {
	o := options{duration: 5 * time.Second, scale: []int{100, 1000, 10000}, watchers: 1000, writes: 1000, schedPods: 500}
	o.applyQuick()
	if o.duration != time.Second || len(o.scale) != 2 || o.watchers != 100 || o.writes != 100 || o.schedPods != 100 {
		t.Fatalf("quick options = %+v", o)
	}
}
