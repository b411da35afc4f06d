package cluster

import (
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/portico-dev/portico/internal/pki"
)

// Kubeconfig is an admin kubeconfig (the system:masters certificate of
// `portico certs`) for every gateway. A kubeconfig cluster has one
// server, so each gateway is a cluster and a context of its own,
// "gateway-N"; the current context is the first.
func (c *Cluster) Kubeconfig() ([]byte, error) {
	ca, err := os.ReadFile(c.ServingCert)
	if err != nil {
		return nil, err
	}
	cert, err := os.ReadFile(c.pki.AdminCert())
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(c.pki.AdminKey())
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.AuthInfos[pki.AdminCommonName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	for _, g := range c.Gateways {
		cfg.Clusters[g.Name] = &clientcmdapi.Cluster{Server: g.Address, CertificateAuthorityData: ca}
		cfg.Contexts[g.Name] = &clientcmdapi.Context{Cluster: g.Name, AuthInfo: pki.AdminCommonName}
	}
	if len(c.Gateways) > 0 {
		cfg.CurrentContext = c.Gateways[0].Name
	}
	return clientcmd.Write(*cfg)
}

// WriteKubeconfig writes Kubeconfig to path, mode 0600.
func (c *Cluster) WriteKubeconfig(path string) error {
	b, err := c.Kubeconfig()
	if err != nil {
		return err
	}
	return pki.WriteFile(path, b, 0o600)
}

// Describe prints every process and where it serves.
func (c *Cluster) Describe(w io.Writer) {
	for _, p := range c.All() {
		extra := ""
		if p.InsecureURL != "" {
			extra = "  insecure " + p.InsecureURL
		}
		fmt.Fprintf(w, "  %-10s pid %-7d %s%s  log %s\n", p.Name, p.PID(), p.Address, extra, p.LogFile)
	}
	var contexts []string
	for _, g := range c.Gateways {
		contexts = append(contexts, g.Name)
	}
	fmt.Fprintf(w, "  kubeconfig contexts (one per gateway): %s\n", strings.Join(contexts, ", "))
}
