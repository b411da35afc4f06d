// Package cluster runs Portico as a cluster on one machine, every piece
// its own process on loopback: an etcd cluster (mutual TLS, peer and
// client), api, authn, authz and gateway replicas, from the PKI of
// `portico certs`. It is what `go tool task cluster` runs and what the
// chaos tests kill and restart, so both run the same layout.
package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/portico-dev/portico/internal/grpcclient"
	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/tlsconf"
)

// Roles, in the order they start.
const (
	RoleEtcd    = "etcd"
	RoleAPI     = "api"
	RoleAuthn   = "authn"
	RoleAuthz   = "authz"
	RoleGateway = "gateway"
)

// Defaults of Options.
const (
	DefaultEtcdMembers  = 3
	DefaultReplicas     = 2
	DefaultReadyTimeout = 90 * time.Second
	DefaultStopGrace    = 15 * time.Second
	// MaxReplicas bounds every count.
	MaxReplicas = 9
)

// Options describe the cluster.
type Options struct {
	// Dir holds the state: pki/ (from `portico certs`), certs/ (the
	// gateways' serving pair), etcd-N/ (members' data) and logs/.
	// Required.
	Dir string
	// Portico is the portico binary; Etcd the etcd binary. Required.
	Portico, Etcd string
	// EtcdMembers, APIs, Authns, Authzs and Gateways are how many of
	// each run (DefaultEtcdMembers, DefaultReplicas when 0).
	EtcdMembers, APIs, Authns, Authzs, Gateways int
	// Args are more flags for every process of a role (RoleGateway: ...).
	Args map[string][]string
	// ReadyTimeout bounds the wait for each process to be ready.
	ReadyTimeout time.Duration
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
	StopGrace time.Duration
	// Logger hears what starts and stops; nil discards.
	Logger *slog.Logger
}

// Validate reports missing or impossible options.
func (o *Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("cluster: Dir is required"))
	}
	if o.Portico == "" || o.Etcd == "" {
		errs = append(errs, errors.New("cluster: the portico and etcd binaries are required"))
	}
	for name, n := range map[string]int{"EtcdMembers": o.EtcdMembers, "APIs": o.APIs, "Authns": o.Authns, "Authzs": o.Authzs, "Gateways": o.Gateways} {
		if n < 0 || n > MaxReplicas {
			errs = append(errs, fmt.Errorf("cluster: %s %d: between 1 and %d (0 is the default)", name, n, MaxReplicas))
		}
	}
	if o.EtcdMembers%2 == 0 && o.EtcdMembers != 0 {
		errs = append(errs, fmt.Errorf("cluster: %d etcd members: an odd number, for a majority", o.EtcdMembers))
	}
	for role := range o.Args {
		switch role {
		case RoleEtcd, RoleAPI, RoleAuthn, RoleAuthz, RoleGateway:
		default:
			errs = append(errs, fmt.Errorf("cluster: Args for unknown role %q", role))
		}
	}
	if o.ReadyTimeout < 0 || o.StopGrace < 0 {
		errs = append(errs, errors.New("cluster: negative timeout"))
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	for _, n := range []*int{&o.APIs, &o.Authns, &o.Authzs, &o.Gateways} {
		if *n == 0 {
			*n = DefaultReplicas
		}
	}
	if o.EtcdMembers == 0 {
		o.EtcdMembers = DefaultEtcdMembers
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.StopGrace == 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Cluster is a running cluster.
type Cluster struct {
	o   Options
	pki pki.Layout
	// Processes by role, in start order.
	Etcd, APIs, Authns, Authzs, Gateways []*Process
	// ServingCert and ServingKey are the gateways' secure-port pair
	// (one pair for all, so one CA in the kubeconfig).
	ServingCert, ServingKey string

	// stopRenewing ends the renewal of the service certificates.
	stopRenewing context.CancelFunc
}

const host = "127.0.0.1"

// Start makes the PKI with `portico certs` (kept across runs), lays the
// processes out on free loopback ports and starts them in dependency
// order, each waited for: etcd members, api replicas one at a time (each
// reconciles the bootstrap objects), authn and authz, gateways. On error
// everything started is stopped.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.defaults()
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	c := &Cluster{o: o, pki: pki.Layout{Dir: filepath.Join(o.Dir, "pki")}}
	out, err := exec.CommandContext(ctx, o.Portico, "certs", "--data-dir", o.Dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("portico certs: %w\n%s", err, out)
	}
	if c.ServingCert, c.ServingKey, err = pki.EnsureSelfSigned(filepath.Join(o.Dir, "certs"), []string{"localhost", host}); err != nil {
		return nil, err
	}
	if err := c.layout(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	for _, group := range [][]*Process{c.Etcd, c.APIs[:1], c.APIs[1:], c.Authns, c.Authzs, c.Gateways} {
		if err := c.startAll(ctx, group); err != nil {
			return nil, err
		}
	}
	renewCtx, stop := context.WithCancel(context.Background())
	c.stopRenewing = stop
	go c.renew(renewCtx)
	return c, nil
}

// renew renews the service certificates every minute, as an operator's
// timer running `portico certs` would (docs/deploy.md): every process
// here reads its files from the one PKI directory.
func (c *Cluster) renew(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			renewed, err := c.pki.RenewServices(now)
			if len(renewed) > 0 {
				c.o.Logger.Info("service certificates renewed", "services", renewed)
			}
			if err != nil {
				c.o.Logger.Error("service certificates not renewed", "error", err)
			}
		}
	}
}

// PKI is the cluster's PKI directory.
func (c *Cluster) PKI() pki.Layout { return c.pki }

// All is every process, in start order.
func (c *Cluster) All() []*Process {
	var all []*Process
	for _, g := range [][]*Process{c.Etcd, c.APIs, c.Authns, c.Authzs, c.Gateways} {
		all = append(all, g...)
	}
	return all
}

// Process is the process of that name, nil when there is none.
func (c *Cluster) Process(name string) *Process {
	for _, p := range c.All() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// layout names every process and gives it its ports and flags.
func (c *Cluster) layout() error {
	used := map[int]bool{}
	port := func() (int, error) { return freePort(used) }
	addrs := func(role string, n int) ([]*Process, error) {
		var ps []*Process
		for i := range n {
			p, err := port()
			if err != nil {
				return nil, err
			}
			name := role + "-" + strconv.Itoa(i)
			ps = append(ps, &Process{Name: name, Role: role, Address: net.JoinHostPort(host, strconv.Itoa(p)),
				LogFile: filepath.Join(c.o.Dir, "logs", name+".log"), bin: c.o.Portico})
		}
		return ps, nil
	}
	var err error
	if c.Etcd, err = addrs(RoleEtcd, c.o.EtcdMembers); err != nil {
		return err
	}
	if c.APIs, err = addrs(RoleAPI, c.o.APIs); err != nil {
		return err
	}
	if c.Authns, err = addrs(RoleAuthn, c.o.Authns); err != nil {
		return err
	}
	if c.Authzs, err = addrs(RoleAuthz, c.o.Authzs); err != nil {
		return err
	}
	if c.Gateways, err = addrs(RoleGateway, c.o.Gateways); err != nil {
		return err
	}
	// etcd: a client and a peer port each; TLS on both with the
	// internal CA; clients admitted only with the api's certificate
	// (its portico-api name), peers only with etcd's.
	peers := make([]string, len(c.Etcd))
	for i, m := range c.Etcd {
		p, err := port()
		if err != nil {
			return err
		}
		peers[i] = "https://" + net.JoinHostPort(host, strconv.Itoa(p))
		m.Address = "https://" + m.Address
	}
	var initial []string
	for i, m := range c.Etcd {
		initial = append(initial, m.Name+"="+peers[i])
	}
	for i, m := range c.Etcd {
		m.bin = c.o.Etcd
		m.args = append([]string{
			"--name", m.Name,
			"--data-dir", filepath.Join(c.o.Dir, m.Name),
			"--listen-client-urls", m.Address, "--advertise-client-urls", m.Address,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new", "--initial-cluster-token", "portico-cluster",
			"--cert-file", c.pki.ServiceCert("etcd"), "--key-file", c.pki.ServiceKey("etcd"),
			"--trusted-ca-file", c.pki.CACert(), "--client-cert-auth",
			"--client-cert-allowed-hostname", pki.ServiceCNPrefix + "api",
			"--peer-cert-file", c.pki.ServiceCert("etcd"), "--peer-key-file", c.pki.ServiceKey("etcd"),
			"--peer-trusted-ca-file", c.pki.CACert(), "--peer-client-cert-auth",
			"--peer-cert-allowed-cn", pki.ServiceCNPrefix + "etcd",
			"--log-level", "warn",
		}, c.o.Args[RoleEtcd]...)
	}
	list := func(ps []*Process) string {
		var a []string
		for _, p := range ps {
			a = append(a, p.Address)
		}
		return strings.Join(a, ",")
	}
	var etcdURLs []string
	for _, m := range c.Etcd {
		etcdURLs = append(etcdURLs, m.Address)
	}
	common := func(p *Process, own string) []string {
		args := []string{p.Role, "--data-dir", c.o.Dir, "--client-ca-file", c.pki.ClientCACert(),
			"--grpc-api-address", list(c.APIs), "--grpc-authn-address", list(c.Authns), "--grpc-authz-address", list(c.Authzs)}
		if own != "" {
			args = append(args, "--grpc-"+p.Role+"-address", own)
		}
		return args
	}
	for i, p := range c.APIs {
		p.args = append(common(p, p.Address), "--etcd-servers", strings.Join(etcdURLs, ","),
			"--etcd-cafile", c.pki.CACert(), "--etcd-certfile", c.pki.ServiceCert("api"), "--etcd-keyfile", c.pki.ServiceKey("api"))
		if i > 0 {
			// The built-in controllers on one replica only.
			p.args = append(p.args, "--builtin-controllers=")
		}
		p.args = append(p.args, c.o.Args[RoleAPI]...)
	}
	for _, p := range c.Authns {
		p.args = append(common(p, p.Address), "--service-account-signing-key-file", filepath.Join(c.pki.Dir, "service-account.key"))
		p.args = append(p.args, c.o.Args[RoleAuthn]...)
	}
	for _, p := range c.Authzs {
		p.args = append(common(p, p.Address), c.o.Args[RoleAuthz]...)
	}
	for _, p := range c.Gateways {
		insecure, err := port()
		if err != nil {
			return err
		}
		_, secure, _ := net.SplitHostPort(p.Address)
		p.Address = "https://" + p.Address
		p.InsecureURL = "http://" + net.JoinHostPort(host, strconv.Itoa(insecure))
		p.args = append(common(p, ""), "--secure-port", secure, "--bind-address", host,
			"--insecure-port", strconv.Itoa(insecure), "--insecure-bind-address", host,
			"--tls-cert-file", c.ServingCert, "--tls-private-key-file", c.ServingKey)
		p.args = append(p.args, c.o.Args[RoleGateway]...)
	}
	return nil
}

// freePort is a loopback port nobody listens on now, not handed out
// before by this layout.
func freePort(used map[int]bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !used[p] {
			used[p] = true
			return p, nil
		}
	}
	return 0, errors.New("no free loopback port")
}

// startAll starts ps at once and waits until each is ready.
func (c *Cluster) startAll(ctx context.Context, ps []*Process) error {
	for _, p := range ps {
		if err := p.start(); err != nil {
			return err
		}
		c.o.Logger.Info("started", "process", p.Name, "address", p.Address, "pid", p.PID())
	}
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = c.WaitReady(ctx, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Restart starts a stopped or killed process again with the same flags
// and data, and waits until it is ready.
func (c *Cluster) Restart(ctx context.Context, p *Process) error {
	if err := p.start(); err != nil {
		return err
	}
	c.o.Logger.Info("restarted", "process", p.Name, "pid", p.PID())
	return c.WaitReady(ctx, p)
}

// WaitReady waits until p answers as ready: an etcd member's /health,
// a service's grpc.health.v1 SERVING (authz: its policy loaded), a
// gateway's /readyz. It fails at once when p exits.
func (c *Cluster) WaitReady(ctx context.Context, p *Process) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.ReadyTimeout)
	defer cancel()
	for {
		err := c.ready(ctx, p)
		if err == nil {
			return nil
		}
		if !p.Running() {
			return fmt.Errorf("%s exited before it was ready: %v\n%s", p.Name, err, p.Tail(4096))
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s not ready within %s: %v\n%s", p.Name, c.o.ReadyTimeout, err, p.Tail(4096))
		case <-t.C:
		}
	}
}

func (c *Cluster) ready(ctx context.Context, p *Process) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	switch p.Role {
	case RoleEtcd:
		cfg, err := c.ClientTLS("api", "127.0.0.1")
		if err != nil {
			return err
		}
		return getOK(ctx, &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, p.Address+"/health", `"health":"true"`)
	case RoleGateway:
		return getOK(ctx, http.DefaultClient, p.InsecureURL+"/readyz", "ok")
	default:
		service := ""
		if p.Role == RoleAuthz {
			service = "policy"
		}
		return c.grpcServing(ctx, p, service)
	}
}

// ClientTLS is a client config with service's certificate from the
// internal PKI, verifying servers for serverName ("" per address).
func (c *Cluster) ClientTLS(service, serverName string) (*tls.Config, error) {
	return tlsconf.Files{CertFile: c.pki.ServiceCert(service), KeyFile: c.pki.ServiceKey(service), CAFiles: []string{c.pki.CACert()}}.ClientConfig(serverName)
}

func (c *Cluster) grpcServing(ctx context.Context, p *Process, service string) error {
	cfg, err := tlsconf.Files{CertFile: c.pki.ServiceCert("gateway"), KeyFile: c.pki.ServiceKey("gateway"), CAFiles: []string{c.pki.CACert()}}.ServiceClientConfig("", p.Role)
	if err != nil {
		return err
	}
	conn, err := grpcclient.Dial(p.Address, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health %s", s)
	}
	return nil
}

func getOK(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	return nil
}

// Stop stops every process, gateways first and etcd last (SIGTERM, then
// SIGKILL after StopGrace), at once within each role.
func (c *Cluster) Stop() {
	if c.stopRenewing != nil {
		c.stopRenewing()
	}
	for _, g := range [][]*Process{c.Gateways, c.Authzs, c.Authns, c.APIs, c.Etcd} {
		var wg sync.WaitGroup
		for _, p := range g {
			wg.Go(func() {
				if err := p.Stop(c.o.StopGrace); err != nil {
					c.o.Logger.Warn("stop", "process", p.Name, "error", err)
				}
			})
		}
		wg.Wait()
	}
}
