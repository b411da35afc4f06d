package cluster

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/portico-dev/portico/internal/pki"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{Dir: "d", Portico: "p", Etcd: "e"}
	tests := map[string]struct {
		change  func(*Options)
		wantErr string
	}{
		"defaults":          {change: func(*Options) {}},
		"no dir":            {change: func(o *Options) { o.Dir = "" }, wantErr: "Dir is required"},
		"no binaries":       {change: func(o *Options) { o.Etcd = "" }, wantErr: "binaries are required"},
		"even etcd":         {change: func(o *Options) { o.EtcdMembers = 2 }, wantErr: "odd number"},
		"too many gateways": {change: func(o *Options) { o.Gateways = MaxReplicas + 1 }, wantErr: "Gateways"},
		"unknown role":      {change: func(o *Options) { o.Args = map[string][]string{"kubelet": nil} }, wantErr: "unknown role"},
		"negative timeout":  {change: func(o *Options) { o.ReadyTimeout = -1 }, wantErr: "negative"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			err := o.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestLayout: each service listens on its own address and reaches every
// replica of the others; etcd admits only the api's certificate; the
// built-in controllers run on one api replica.
func TestLayout(t *testing.T) {
	o := Options{Dir: t.TempDir(), Portico: "portico", Etcd: "etcd"}
	o.defaults()
	c := &Cluster{o: o, pki: pki.Layout{Dir: filepath.Join(o.Dir, "pki")}}
	if err := c.layout(); err != nil {
		t.Fatal(err)
	}
	if len(c.Etcd) != 3 || len(c.APIs) != 2 || len(c.Authns) != 2 || len(c.Authzs) != 2 || len(c.Gateways) != 2 {
		t.Fatalf("layout %d/%d/%d/%d/%d", len(c.Etcd), len(c.APIs), len(c.Authns), len(c.Authzs), len(c.Gateways))
	}
	flag := func(p *Process, name string) string {
		i := slices.Index(p.args, name)
		if i < 0 || i+1 >= len(p.args) {
			return ""
		}
		return p.args[i+1]
	}
	apis := c.APIs[0].Address + "," + c.APIs[1].Address
	if got := flag(c.Gateways[1], "--grpc-api-address"); got != apis {
		t.Errorf("gateway --grpc-api-address %q, want %q", got, apis)
	}
	// The api's own flag comes again, last (pflag keeps the last): it
	// listens on one address.
	if i := lastIndex(c.APIs[1].args, "--grpc-api-address"); i < 0 || c.APIs[1].args[i+1] != c.APIs[1].Address {
		t.Errorf("api-1 does not listen on its own address: %q", c.APIs[1].args)
	}
	if got := flag(c.Etcd[0], "--client-cert-allowed-hostname"); got != "portico-api" {
		t.Errorf("etcd admits %q", got)
	}
	if n := strings.Count(flag(c.APIs[0], "--etcd-servers"), "https://"); n != 3 {
		t.Errorf("api-0 --etcd-servers %q", flag(c.APIs[0], "--etcd-servers"))
	}
	if slices.Contains(c.APIs[0].args, "--builtin-controllers=") || !slices.Contains(c.APIs[1].args, "--builtin-controllers=") {
		t.Errorf("built-in controllers: api-0 %q, api-1 %q", c.APIs[0].args, c.APIs[1].args)
	}
}

func lastIndex(args []string, name string) int {
	for i := len(args) - 2; i >= 0; i-- {
		if args[i] == name {
			return i
		}
	}
	return -1
}

// TestKubeconfig: one cluster and one context per gateway (a kubeconfig
// cluster has one server), the first current, the admin certificate
// embedded.
func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	l := pki.Layout{Dir: filepath.Join(dir, "pki")}
	if _, err := l.EnsureDev(); err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.EnsureSelfSigned(filepath.Join(dir, "certs"), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{pki: l, ServingCert: cert, ServingKey: key, Gateways: []*Process{
		{Name: "gateway-0", Address: "https://127.0.0.1:1"}, {Name: "gateway-1", Address: "https://127.0.0.1:2"},
	}}
	b, err := c.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "gateway-0" || len(cfg.Contexts) != 2 || len(cfg.Clusters) != 2 {
		t.Fatalf("kubeconfig: current %q, %d contexts, %d clusters", cfg.CurrentContext, len(cfg.Contexts), len(cfg.Clusters))
	}
	for _, g := range c.Gateways {
		ctx := cfg.Contexts[g.Name]
		if ctx == nil || cfg.Clusters[ctx.Cluster].Server != g.Address || len(cfg.AuthInfos[ctx.AuthInfo].ClientCertificateData) == 0 {
			t.Errorf("context %s: %+v", g.Name, ctx)
		}
	}
}
