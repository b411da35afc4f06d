package main

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	good := func() options {
		return options{portico: "bin/portico", dataDir: ".portico-demo", securePort: 6443, insecurePort: 8080, nodes: 3, readyTimeout: time.Minute}
	}
	tests := map[string]struct {
		change  func(*options)
		wantErr string
	}{
		"defaults":      {change: func(*options) {}},
		"no binary":     {change: func(o *options) { o.portico = "" }, wantErr: "-portico"},
		"same ports":    {change: func(o *options) { o.insecurePort = 6443 }, wantErr: "two ports"},
		"port too big":  {change: func(o *options) { o.securePort = 70000 }, wantErr: "two ports"},
		"no nodes":      {change: func(o *options) { o.nodes = 0 }, wantErr: "-nodes"},
		"too many":      {change: func(o *options) { o.nodes = 5000 }, wantErr: "-nodes"},
		"no ready wait": {change: func(o *options) { o.readyTimeout = 0 }, wantErr: "-ready-timeout"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := good()
			tc.change(&o)
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate() = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}
