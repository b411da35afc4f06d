package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/portico-dev/portico/internal/pki"
)

// kubeconfigOptions are the flags of `portico kubeconfig`.
type kubeconfigOptions struct {
	user     string
	groups   []string
	out      string
	server   string
	caCert   string
	caKey    string
	validity time.Duration
}

func addKubeconfigFlags(fs *pflag.FlagSet) *kubeconfigOptions {
	k := &kubeconfigOptions{}
	fs.StringVar(&k.user, "user", "", "User name: the certificate's common name (required).")
	fs.StringArrayVar(&k.groups, "group", nil, "A group of the user: one organization of the certificate (repeatable).")
	fs.StringVar(&k.out, "out", "-", "Where to write the kubeconfig (mode 0600); '-' is standard out.")
	fs.StringVar(&k.server, "server", "", "URL of the secure port. Default: the server of <data-dir>/admin.kubeconfig, else https://127.0.0.1:6443.")
	fs.StringVar(&k.caCert, "client-ca-cert", "", "Certificate of the CA that signs the user certificate. Default: <data-dir>/pki/client-ca.crt (the default --client-ca-file).")
	fs.StringVar(&k.caKey, "client-ca-key", "", "Key of --client-ca-cert. Default: <data-dir>/pki/client-ca.key.")
	fs.DurationVar(&k.validity, "validity", pki.DefaultLeafValidity, "Lifetime of the user certificate.")
	return k
}

func (k *kubeconfigOptions) validate() error {
	var errs []error
	if k.user == "" {
		errs = append(errs, errors.New("--user is required"))
	}
	for _, g := range k.groups {
		if g == "" {
			errs = append(errs, errors.New("--group must not be empty"))
		}
	}
	if k.validity <= 0 {
		errs = append(errs, fmt.Errorf("--validity %s must be positive", k.validity))
	}
	if k.server != "" {
		if u, err := url.Parse(k.server); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("--server %q: want an https:// URL", k.server))
		}
	}
	return errors.Join(errs...)
}

// runKubeconfig issues a client certificate for the user from the client
// CA and writes a kubeconfig for the secure port.
func runKubeconfig(o *options, k *kubeconfigOptions, stdout io.Writer) error {
	if err := k.validate(); err != nil {
		return err
	}
	layout := o.pki()
	caCert, caKey := k.caCert, k.caKey
	if caCert == "" {
		caCert = layout.ClientCACert()
	}
	if caKey == "" {
		caKey = layout.ClientCAKey()
	}
	ca, err := pki.LoadCA(caCert, caKey)
	if err != nil {
		return fmt.Errorf("client CA (run `portico up` or `portico certs` first): %w", err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: k.user, Organizations: k.groups, Client: true, Validity: k.validity})
	if err != nil {
		return err
	}
	server := k.server
	if server == "" {
		server = adminServer(filepath.Join(o.dataDir, "admin.kubeconfig"))
	}
	servingCA, err := os.ReadFile(servingCertFile(o))
	if err != nil {
		return fmt.Errorf("the secure port's certificate (its CA goes into the kubeconfig): %w", err)
	}
	kc := renderKubeconfig(server, servingCA, certPEM, keyPEM, k.user)
	if k.out == "-" {
		_, err := stdout.Write(kc)
		return err
	}
	if err := pki.WriteFile(k.out, kc, 0o600); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// servingCertFile is the secure port's certificate: --tls-cert-file, or
// the self-signed one in --cert-dir (default <data-dir>/certs).
func servingCertFile(o *options) string {
	if o.tlsCertFile != "" {
		return o.tlsCertFile
	}
	dir := o.certDir
	if dir == "" {
		dir = filepath.Join(o.dataDir, "certs")
	}
	return filepath.Join(dir, "apiserver.crt")
}

// adminServer is the server URL `portico up` wrote into the admin
// kubeconfig, or the default secure port on loopback.
func adminServer(path string) string {
	const fallback = "https://127.0.0.1:6443"
	data, err := os.ReadFile(path)
	if err != nil {
		return fallback
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "server: ")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v
	}
	return fallback
}

// renderKubeconfig is a kubeconfig with one cluster (the secure port,
// trusting caPEM), one user (a client certificate) and one context.
func renderKubeconfig(server string, caPEM, certPEM, keyPEM []byte, user string) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return []byte(strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- name: portico",
		"  cluster:",
		"    server: " + strconv.Quote(server),
		"    certificate-authority-data: " + b64(caPEM),
		"users:",
		"- name: " + strconv.Quote(user),
		"  user:",
		"    client-certificate-data: " + b64(certPEM),
		"    client-key-data: " + b64(keyPEM),
		"contexts:",
		"- name: portico",
		"  context:",
		"    cluster: portico",
		"    user: " + strconv.Quote(user),
		"current-context: portico",
		"",
	}, "\n"))
}
