package tracing

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const head = "apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\n"
	tests := map[string]struct {
		in      string
		want    Config
		wantErr []string // every one must be in the error; nil means valid
	}{
		"defaults": {
			in:   head,
			want: Config{Endpoint: DefaultEndpoint},
		},
		"both fields": {
			in:   head + "endpoint: collector.monitoring:4317\nsamplingRatePerMillion: 100\n",
			want: Config{Endpoint: "collector.monitoring:4317", SamplingRatePerMillion: 100},
		},
		"every trace": {
			in:   head + "samplingRatePerMillion: 1000000\n",
			want: Config{Endpoint: DefaultEndpoint, SamplingRatePerMillion: MaxSamplingRatePerMillion},
		},
		"IPv6 endpoint": {
			in:   head + "endpoint: '[::1]:4317'\n",
			want: Config{Endpoint: "[::1]:4317"},
		},
		"v1beta1": {
			in:   "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: TracingConfiguration\nsamplingRatePerMillion: 1\n",
			want: Config{Endpoint: DefaultEndpoint, SamplingRatePerMillion: 1},
		},
		"v1alpha1": {
			in:   "apiVersion: apiserver.config.k8s.io/v1alpha1\nkind: TracingConfiguration\n",
			want: Config{Endpoint: DefaultEndpoint},
		},
		"JSON": {
			in:   `{"apiVersion":"apiserver.config.k8s.io/v1","kind":"TracingConfiguration","endpoint":"127.0.0.1:4317"}`,
			want: Config{Endpoint: "127.0.0.1:4317"},
		},
		"empty file": {
			in:      "",
			wantErr: []string{`apiVersion "": want one of apiserver.config.k8s.io/v1`, `kind "": want "TracingConfiguration"`},
		},
		"another kind": {
			in:      "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n",
			wantErr: []string{`kind "EncryptionConfiguration"`},
		},
		"another group": {
			in:      "apiVersion: kubelet.config.k8s.io/v1\nkind: TracingConfiguration\n",
			wantErr: []string{`apiVersion "kubelet.config.k8s.io/v1"`},
		},
		"unknown field": {
			in:      head + "samplingRate: 100\n",
			wantErr: []string{`unknown field "samplingRate"`},
		},
		"repeated field": {
			in:      head + "endpoint: a:1\nendpoint: b:2\n",
			wantErr: []string{"not a valid TracingConfiguration"},
		},
		"negative rate": {
			in:      head + "samplingRatePerMillion: -1\n",
			wantErr: []string{"samplingRatePerMillion: -1 is not between 0 and 1000000"},
		},
		"rate above a million": {
			in:      head + "samplingRatePerMillion: 1000001\n",
			wantErr: []string{"samplingRatePerMillion: 1000001 is not between 0 and 1000000"},
		},
		"rate past int32": {
			in:      head + "samplingRatePerMillion: 4294967296\n",
			wantErr: []string{"not a valid TracingConfiguration"},
		},
		"rate not a number": {
			in:      head + "samplingRatePerMillion: all\n",
			wantErr: []string{"not a valid TracingConfiguration"},
		},
		"endpoint as URL": {
			in:      head + "endpoint: http://collector:4317\n",
			wantErr: []string{`endpoint: "http://collector:4317": give host:port, without a scheme`},
		},
		"endpoint without port": {
			in:      head + "endpoint: collector\n",
			wantErr: []string{`endpoint: "collector" is not host:port`},
		},
		"endpoint without host": {
			in:      head + "endpoint: ':4317'\n",
			wantErr: []string{"no valid host"},
		},
		"endpoint port zero": {
			in:      head + "endpoint: collector:0\n",
			wantErr: []string{`port "0" is not a port number`},
		},
		"empty endpoint": {
			in:      head + "endpoint: ''\n",
			wantErr: []string{`endpoint: "" is not host:port`},
		},
		"every problem at once": {
			in:      "apiVersion: v1\nkind: TracingConfiguration\nendpoint: x\nsamplingRatePerMillion: -5\n",
			wantErr: []string{`apiVersion "v1"`, `endpoint: "x"`, "samplingRatePerMillion: -5"},
		},
		"a list": {
			in:      "- a\n- b\n",
			wantErr: []string{"not a valid TracingConfiguration"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got != tc.want {
					t.Fatalf("Parse = %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %+v, want an error with %q", got, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tracing.yaml")
	if err := os.WriteFile(good, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nsamplingRatePerMillion: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(good); err != nil || c.SamplingRatePerMillion != 10 {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Load of a missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), maxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load of a huge file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: TracingConfiguration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Load of a bad file names no file: %v", err)
	}
}

// FuzzParse: no file, however malformed, panics the parser, and what it
// accepts is a configuration the exporter can use.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: apiserver.config.k8s.io/v1\nkind: TracingConfiguration\nendpoint: localhost:4317\nsamplingRatePerMillion: 100\n"))
	f.Add([]byte(`{"apiVersion":"apiserver.config.k8s.io/v1beta1","kind":"TracingConfiguration","endpoint":"[::1]:4317"}`))
	f.Add([]byte("apiVersion: apiserver.config.k8s.io/v1alpha1\nkind: TracingConfiguration\nsamplingRatePerMillion: -1\n"))
	f.Add([]byte("endpoint: http://x:1\nendpoint: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted %+v, which does not validate: %v", c, verr)
		}
		if c.Endpoint == "" {
			t.Fatalf("accepted a configuration with no endpoint: %+v", c)
		}
	})
}
