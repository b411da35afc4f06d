package tracing

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

const (
	// Kind is the only kind accepted.
	Kind = "TracingConfiguration"
	// DefaultEndpoint is where spans go when the file names no endpoint:
	// an OpenTelemetry collector beside the process, as kube-apiserver.
	DefaultEndpoint = "localhost:4317"
	// MaxSamplingRatePerMillion samples every trace.
	MaxSamplingRatePerMillion = 1_000_000

	// maxFileBytes bounds the file read: the format has two fields.
	maxFileBytes = 64 << 10
	// maxEndpointBytes bounds the endpoint (a host name is at most 253).
	maxEndpointBytes = 512
)

// APIVersions are the versions accepted, as kube-apiserver accepts the
// same TracingConfiguration in each.
var APIVersions = []string{
	"apiserver.config.k8s.io/v1",
	"apiserver.config.k8s.io/v1beta1",
	"apiserver.config.k8s.io/v1alpha1",
}

// fileConfig is the file's shape, field for field as kube-apiserver's
// TracingConfiguration (k8s.io/component-base/tracing/api/v1).
type fileConfig struct {
	APIVersion             string  `json:"apiVersion"`
	Kind                   string  `json:"kind"`
	Endpoint               *string `json:"endpoint,omitempty"`
	SamplingRatePerMillion *int32  `json:"samplingRatePerMillion,omitempty"`
}

// Config is a validated TracingConfiguration.
type Config struct {
	// Endpoint is the OTLP gRPC collector's host:port.
	Endpoint string
	// SamplingRatePerMillion is how many of a million traces that start
	// here (no sampled parent) are recorded; a request whose traceparent
	// says sampled is always recorded. 0, the default, records only those.
	SamplingRatePerMillion int32
}

// Validate reports an unusable configuration.
func (c Config) Validate() error {
	var errs []error
	if err := validateEndpoint(c.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint: %w", err))
	}
	if c.SamplingRatePerMillion < 0 || c.SamplingRatePerMillion > MaxSamplingRatePerMillion {
		errs = append(errs, fmt.Errorf("samplingRatePerMillion: %d is not between 0 and %d", c.SamplingRatePerMillion, MaxSamplingRatePerMillion))
	}
	return errors.Join(errs...)
}

// validateEndpoint accepts host:port, the form the OTLP gRPC exporter
// dials, and says so for a URL.
func validateEndpoint(e string) error {
	if len(e) > maxEndpointBytes {
		return fmt.Errorf("longer than %d bytes", maxEndpointBytes)
	}
	if strings.Contains(e, "://") {
		return fmt.Errorf("%q: give host:port, without a scheme", e)
	}
	host, port, err := net.SplitHostPort(e)
	if err != nil {
		return fmt.Errorf("%q is not host:port", e)
	}
	if host == "" || strings.ContainsAny(host, " /\t\r\n") {
		return fmt.Errorf("%q: no valid host", e)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a port number", e, port)
	}
	return nil
}

// Load reads and validates the file at path (--tracing-config-file).
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("tracing config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("tracing config %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return Config{}, fmt.Errorf("tracing config %s: larger than %d bytes", path, maxFileBytes)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("tracing config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a TracingConfiguration in YAML or JSON: unknown and
// repeated fields are refused, every problem is reported, and what the
// file leaves out gets kube-apiserver's defaults.
func Parse(data []byte) (Config, error) {
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return Config{}, fmt.Errorf("not a valid TracingConfiguration: %w", err)
	}
	var errs []error
	if !slices.Contains(APIVersions, fc.APIVersion) {
		errs = append(errs, fmt.Errorf("apiVersion %q: want one of %s", fc.APIVersion, strings.Join(APIVersions, ", ")))
	}
	if fc.Kind != Kind {
		errs = append(errs, fmt.Errorf("kind %q: want %q", fc.Kind, Kind))
	}
	c := Config{Endpoint: DefaultEndpoint}
	if fc.Endpoint != nil {
		c.Endpoint = *fc.Endpoint
	}
	if fc.SamplingRatePerMillion != nil {
		c.SamplingRatePerMillion = *fc.SamplingRatePerMillion
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}
