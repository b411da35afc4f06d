package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// parse registers the flags of `portico up` and parses args.
func parse(t *testing.T, args ...string) (*options, *pflag.FlagSet) {
	t.Helper()
	o := defaultOptions()
	fs := pflag.NewFlagSet("portico up", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.addCommonFlags(fs)
	o.addTracingFlags(fs)
	o.addServiceCertFlags(fs)
	o.addGatewayFlags(fs)
	o.addAuthnFlags(fs)
	o.addAuthzFlags(fs)
	o.addStorageFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o, fs
}

func TestPortFlagsValidate(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr []string // "" entries are not allowed; nil means valid
	}{
		"defaults": {},
		"TLS 1.3 and two suites": {
			args: []string{"--tls-min-version", "VersionTLS13", "--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		},
		"TLS 1.1 refused": {
			args:    []string{"--tls-min-version", "VersionTLS11"},
			wantErr: []string{"--tls-min-version: VersionTLS11 is refused"},
		},
		"insecure suite refused": {
			args:    []string{"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_RC4_128_SHA"},
			wantErr: []string{"--tls-cipher-suites: TLS_RSA_WITH_RC4_128_SHA is an insecure cipher suite"},
		},
		"unknown suite": {
			args:    []string{"--tls-cipher-suites", "AES128-GCM-SHA256"},
			wantErr: []string{`"AES128-GCM-SHA256" is not a cipher suite`},
		},
		"suites without the one HTTP/2 needs": {
			args:    []string{"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
			wantErr: []string{"HTTP/2 over TLS 1.2 requires one of them"},
		},
		"the same with TLS 1.3 minimum: suites unused": {
			args: []string{"--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "--tls-min-version", "VersionTLS13"},
		},
		"built-in controllers off":          {args: []string{"--builtin-controllers="}},
		"built-in controllers by kube name": {args: []string{"--builtin-controllers=*,-garbage-collector-controller"}},
		"unknown built-in controller": {
			args:    []string{"--builtin-controllers=replicaset"},
			wantErr: []string{`--builtin-controllers: unknown controller "replicaset"`},
		},
		"rewrite without an encryption config": {
			args:    []string{"--encryption-rewrite-stale"},
			wantErr: []string{"--encryption-rewrite-stale needs --encryption-provider-config"},
		},
		"watch cache without a size": {
			args:    []string{"--default-watch-cache-size", "0"},
			wantErr: []string{"--default-watch-cache-size: 0 is not a size"},
		},
		"no watch cache": {
			args: []string{"--watch-cache=false", "--default-watch-cache-size", "0"},
		},
		"rewrite with an encryption config": {
			args: []string{"--encryption-rewrite-stale", "--encryption-provider-config", "enc.yaml"},
		},
		"read-only port": {
			args:    []string{"--read-only-port", "7080"},
			wantErr: []string{"--read-only-port: the read-only port was removed for security reasons; use service accounts"},
		},
		"read-only port 0 is refused too": {
			args:    []string{"--read-only-port=0"},
			wantErr: []string{"removed for security reasons"},
		},
		"remote insecure port": {
			args:    []string{"--insecure-bind-address", "0.0.0.0"},
			wantErr: []string{"--insecure-bind-address 0.0.0.0 is not a loopback address", "--insecure-allow-remote"},
		},
		"remote insecure port allowed": {
			args: []string{"--insecure-bind-address", "0.0.0.0", "--insecure-allow-remote"},
		},
		"remote insecure port disabled": {
			args: []string{"--insecure-bind-address", "0.0.0.0", "--insecure-port", "0"},
		},
		"secure port 0": {args: []string{"--secure-port", "0"}},
		"negative in-flight limit": {
			args:    []string{"--max-requests-inflight", "-1"},
			wantErr: []string{"--max-requests-inflight: -1 is negative"},
		},
		"no in-flight limit": {args: []string{"--max-requests-inflight", "0", "--max-mutating-requests-inflight", "0"}},
		"negative mutating in-flight limit": {
			args:    []string{"--max-mutating-requests-inflight", "-1"},
			wantErr: []string{"--max-mutating-requests-inflight: -1 is negative"},
		},
		"negative watch bound": {
			args:    []string{"--max-watches-per-user", "-5"},
			wantErr: []string{"--max-watches-per-user: -5 is negative"},
		},
		"no watch bound": {args: []string{"--max-watches-per-user", "0"}},
		"negative body timeout": {
			args:    []string{"--request-body-timeout", "-1s"},
			wantErr: []string{"--request-body-timeout: -1s is negative"},
		},
		"zero timeout": {
			args:    []string{"--request-timeout", "0s"},
			wantErr: []string{"--request-timeout: 0s must be positive"},
		},
		"zero bookmark interval": {
			args:    []string{"--watch-bookmark-interval", "0s"},
			wantErr: []string{"--watch-bookmark-interval: 0s must be positive"},
		},
		"short bookmark interval": {args: []string{"--watch-bookmark-interval", "200ms"}},
		"negative compaction interval": {
			args:    []string{"--etcd-compaction-interval", "-1m"},
			wantErr: []string{"--etcd-compaction-interval: -1m0s is negative"},
		},
		"compaction left to etcd":    {args: []string{"--etcd-compaction-interval", "0"}},
		"profiling":                  {args: []string{"--profiling"}},
		"short service certificates": {args: []string{"--service-cert-validity", "15s"}},
		"too short service certificates": {
			args:    []string{"--service-cert-validity", "14s"},
			wantErr: []string{"--service-cert-validity: 14s is shorter than 15s"},
		},
		"profiling without the insecure port": {
			args:    []string{"--profiling", "--insecure-port", "0"},
			wantErr: []string{"--profiling: profiles are served on the insecure port only"},
		},
		"every error at once": {
			args:    []string{"--tls-min-version", "VersionTLS10", "--secure-port", "70000", "--request-timeout", "-1s"},
			wantErr: []string{"VersionTLS10 is refused", "--secure-port: 70000 is not a port", "--request-timeout"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, fs := parse(t, tc.args...)
			err := o.validate(fs)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPortFlagDefaults(t *testing.T) {
	o, _ := parse(t)
	if o.insecurePort != 8080 || o.insecureBindAddress != "127.0.0.1" || o.securePort != 6443 || o.bindAddress != "" {
		t.Errorf("ports: %d on %s, %d on %q", o.insecurePort, o.insecureBindAddress, o.securePort, o.bindAddress)
	}
	if o.tlsMinVersion != "VersionTLS12" || o.tlsCipherSuites != nil {
		t.Errorf("TLS: %s %v", o.tlsMinVersion, o.tlsCipherSuites)
	}
	if o.maxRequestsInflight != 400 || o.maxMutatingRequestsInflight != 200 || o.maxWatchesPerUser != 100 ||
		o.requestTimeout != time.Minute || o.requestBodyTimeout != 0 || o.auditLogPath != "" {
		t.Errorf("limits: %d %d %d %s %s %q", o.maxRequestsInflight, o.maxMutatingRequestsInflight, o.maxWatchesPerUser,
			o.requestTimeout, o.requestBodyTimeout, o.auditLogPath)
	}
}

func TestDefaultBindAddress(t *testing.T) {
	ipnet := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	lo := iface{name: "lo", up: true, loop: true, addrs: []net.Addr{ipnet("127.0.0.1/8"), ipnet("::1/128")}}
	tests := map[string]struct {
		ifaces            []iface
		wantAddr, wantIfc string
	}{
		"no interfaces":  {nil, "0.0.0.0", ""},
		"only loopback":  {[]iface{lo}, "0.0.0.0", ""},
		"first up, IPv4": {[]iface{lo, {name: "eth0", up: true, addrs: []net.Addr{ipnet("fe80::1/64"), ipnet("10.0.0.5/24")}}}, "10.0.0.5", "eth0"},
		"down skipped": {[]iface{
			{name: "eth0", up: false, addrs: []net.Addr{ipnet("10.0.0.5/24")}},
			{name: "eth1", up: true, addrs: []net.Addr{ipnet("192.168.1.2/24")}},
		}, "192.168.1.2", "eth1"},
		"link-local and IPv6 only": {[]iface{lo, {name: "eth0", up: true, addrs: []net.Addr{ipnet("169.254.1.1/16"), ipnet("2001:db8::1/64")}}}, "0.0.0.0", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			addr, ifc := defaultBindAddress(tc.ifaces)
			if addr != tc.wantAddr || ifc != tc.wantIfc {
				t.Fatalf("= %s %q, want %s %q", addr, ifc, tc.wantAddr, tc.wantIfc)
			}
		})
	}
}

// TestGRPCAddressFlags: callers take a list of replicas or a dns:///
// target; a service listens on its own flag's one address.
func TestGRPCAddressFlags(t *testing.T) {
	tests := map[string]struct {
		serves  []string
		args    []string
		wantErr string
	}{
		"gateway: lists and dns": {args: []string{"--grpc-api-address", "10.0.0.1:6444,10.0.0.2:6444", "--grpc-authn-address", "dns:///authn.portico:6445"}},
		"api: a list of the others": {
			serves: []string{"api"}, args: []string{"--grpc-api-address", "0.0.0.0:6444", "--grpc-authz-address", "a:1,b:2"},
		},
		"api: its own address a list": {
			serves: []string{"api"}, args: []string{"--grpc-api-address", "a:1,b:2"},
			wantErr: "--grpc-api-address a:1,b:2: this process serves api and listens on one host:port",
		},
		"up: every address single": {
			serves: []string{"api", "authn", "authz"}, args: []string{"--grpc-authz-address", "dns:///authz:6446"},
			wantErr: "--grpc-authz-address dns:///authz:6446: this process serves authz",
		},
		"bad list": {args: []string{"--grpc-authn-address", "a:1,,b:2"}, wantErr: "--grpc-authn-address:"},
		"no port":  {args: []string{"--grpc-api-address", "a"}, wantErr: "--grpc-api-address:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, fs := parse(t, tc.args...)
			o.serves = tc.serves
			err := o.validate(fs)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateHosts(t *testing.T) {
	tests := map[string]struct {
		hosts   []string
		wantErr bool
	}{
		"none":          {},
		"names and ips": {hosts: []string{"api.example.com", "10.0.0.1", "::1", "node-1"}},
		"upper case":    {hosts: []string{"API.example"}, wantErr: true},
		"empty":         {hosts: []string{""}, wantErr: true},
		"wildcard":      {hosts: []string{"*.example"}, wantErr: true},
		"url":           {hosts: []string{"https://a"}, wantErr: true},
		"too many":      {hosts: make([]string, maxCertHosts+1), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if errs := validateHosts(tc.hosts); (len(errs) > 0) != tc.wantErr {
				t.Fatalf("validateHosts(%q) = %v, want errors %v", tc.hosts, errs, tc.wantErr)
			}
		})
	}
}
