package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := map[string]struct {
		status  string
		want    int64
		wantErr string
	}{
		"a process": {
			status: "Name:\tportico\nState:\tS (sleeping)\nVmPeak:\t 1300000 kB\nVmRSS:\t   81236 kB\nRssAnon:\t   40000 kB\nThreads:\t12\n",
			want:   81236 << 10,
		},
		"spaces instead of a tab": {status: "VmRSS:      12 kB\n", want: 12 << 10},
		"zero":                    {status: "VmRSS:\t0 kB\n", want: 0},
		"first line":              {status: "VmRSS:\t1 kB", want: 1 << 10},
		"a zombie has none":       {status: "Name:\tportico\nState:\tZ (zombie)\nThreads:\t1\n", wantErr: "no VmRSS"},
		"empty":                   {status: "", wantErr: "no VmRSS"},
		"not a number":            {status: "VmRSS:\tlots kB\n", wantErr: "number of kB"},
		"another unit":            {status: "VmRSS:\t12 MB\n", wantErr: "number of kB"},
		"no unit":                 {status: "VmRSS:\t12\n", wantErr: "number of kB"},
		"negative":                {status: "VmRSS:\t-3 kB\n", wantErr: "number of kB"},
		"a longer name is not it": {status: "VmRSSX:\t5 kB\n", wantErr: "no VmRSS"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseVmRSS(strings.NewReader(tc.status))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseVmRSS() = %d, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseVmRSS() = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// This test process's own /proc entries read as the soak reads a
// child's.
func TestReadOwnProcess(t *testing.T) {
	rss, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Fatalf("readRSS(self) = %d, %v", rss, err)
	}
	fds, err := countFDs(os.Getpid())
	if err != nil || fds < 3 {
		t.Fatalf("countFDs(self) = %d, %v", fds, err)
	}
}

func TestParseGauge(t *testing.T) {
	const exposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 117
# HELP go_goroutines_created_total Goroutines created.
go_goroutines_created_total 52001
go_threads 12
`
	tests := map[string]struct {
		text    string
		metric  string
		want    float64
		wantOK  bool
		wantErr bool
	}{
		"gateway":                 {text: exposition, metric: "go_goroutines", want: 117, wantOK: true},
		"a longer name is not it": {text: "go_goroutines_created_total 5\ngo_goroutines 9\n", metric: "go_goroutines", want: 9, wantOK: true},
		"with a timestamp":        {text: "go_goroutines 42 1700000000000\n", metric: "go_goroutines", want: 42, wantOK: true},
		"a float":                 {text: "go_goroutines 1.5e+02\n", metric: "go_goroutines", want: 150, wantOK: true},
		"labeled samples skipped": {text: "go_goroutines{a=\"b\"} 3\n", metric: "go_goroutines"},
		"comments only":           {text: "# HELP go_goroutines x\n# TYPE go_goroutines gauge\n", metric: "go_goroutines"},
		"absent":                  {text: "go_threads 12\n", metric: "go_goroutines"},
		"empty":                   {text: "", metric: "go_goroutines"},
		"not a number":            {text: "go_goroutines many\n", metric: "go_goroutines", wantErr: true},
		"no value":                {text: "go_goroutines \n", metric: "go_goroutines", wantErr: true},
		"too many fields":         {text: "go_goroutines 1 2 3\n", metric: "go_goroutines", wantErr: true},
		"another metric":          {text: exposition, metric: "go_threads", want: 12, wantOK: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok, err := parseGauge(strings.NewReader(tc.text), tc.metric)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseGauge() error %v, want error %v", err, tc.wantErr)
			}
			if ok != tc.wantOK || got != tc.want {
				t.Fatalf("parseGauge() = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCPUModel(t *testing.T) {
	tests := map[string]struct{ cpuinfo, want string }{
		"x86":  {cpuinfo: "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Processor\n\nprocessor\t: 1\nmodel name\t: other\n", want: "Intel(R) Xeon(R) Processor"},
		"none": {cpuinfo: "processor\t: 0\nBogoMIPS\t: 50.00\n", want: "unknown"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := cpuModel(strings.NewReader(tc.cpuinfo)); got != tc.want {
				t.Fatalf("cpuModel() = %q, want %q", got, tc.want)
			}
		})
	}
}
