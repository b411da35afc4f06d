// Package peerbin builds and finds the real Kubernetes components that
// Portico is tested and benchmarked against: etcd, kube-apiserver,
// kube-scheduler, kube-controller-manager and kwok.
//
// They are built with the go command from the module in test/peers (its
// own go.mod, so k8s.io/kubernetes stays out of the main module) into
// bin/peers/ at the repository root, which git ignores. Each binary has a
// stamp file beside it, a hash of what it was built from (test/peers'
// go.mod and go.sum, the Go version, the build flags): a binary whose
// stamp matches is not built again. A build after a fresh clone on the
// same machine is quick all the same, since Go's build cache keeps the
// compiled packages.
package peerbin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The binaries' names in bin/peers/.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeScheduler         = "kube-scheduler"
	KubeControllerManager = "kube-controller-manager"
	Kwok                  = "kwok"
)

// Binary is one component and the package in test/peers' module that
// builds it.
type Binary struct {
	// Name is the file name in bin/peers/.
	Name string
	// Package is the main package's import path.
	Package string
	// Kubernetes marks a binary of k8s.io/kubernetes, whose version
	// variables are set at link time as its own build does (without them
	// it calls itself v0.0.0-master).
	Kubernetes bool
}

// All are the binaries `go tool task peers` builds, in build order.
var All = []Binary{
	// go.etcd.io/etcd/server/v3's root package is etcd's main (a wrapper
	// of etcdmain).
	{Name: Etcd, Package: "go.etcd.io/etcd/server/v3"},
	{Name: KubeAPIServer, Package: "k8s.io/kubernetes/cmd/kube-apiserver", Kubernetes: true},
	{Name: KubeScheduler, Package: "k8s.io/kubernetes/cmd/kube-scheduler", Kubernetes: true},
	{Name: KubeControllerManager, Package: "k8s.io/kubernetes/cmd/kube-controller-manager", Kubernetes: true},
	{Name: Kwok, Package: "sigs.k8s.io/kwok/cmd/kwok"},
}

// Lookup returns the binary of that name.
func Lookup(name string) (Binary, error) {
	for _, b := range All {
		if b.Name == name {
			return b, nil
		}
	}
	return Binary{}, fmt.Errorf("no peer binary %q", name)
}

// buildEnv is set for every build, on top of the caller's environment.
// Kubernetes builds its server binaries without cgo; GOWORK=off keeps a
// go.work of the caller's out of test/peers.
var buildEnv = []string{"CGO_ENABLED=0", "GOWORK=off"}

// baseLDFlags are the linker flags of every build: no symbol table and no
// DWARF, which makes linking these large binaries much quicker.
const baseLDFlags = "-s -w"

// kubeVersionVars are the variables Kubernetes' build
// (hack/lib/version.sh) sets with -X; VERSION is the version (v1.37.2),
// MAJOR and MINOR its first two numbers.
var kubeVersionVars = []string{
	"gitVersion=VERSION",
	"gitMajor=MAJOR",
	"gitMinor=MINOR",
	"gitTreeState=clean",
}

var kubeVersionPackages = []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"}

// Cache is bin/peers/ of one checkout.
type Cache struct {
	// Root is the repository root: the folder of the main go.mod, with
	// test/peers/go.mod below it.
	Root string
}

// FindRoot walks up from dir to the repository root.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "test", "peers", "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no test/peers/go.mod in %s or above", dir)
		}
	}
}

// Dir is bin/peers/.
func (c Cache) Dir() string { return filepath.Join(c.Root, "bin", "peers") }

// Module is test/peers, the module the binaries are built from.
func (c Cache) Module() string { return filepath.Join(c.Root, "test", "peers") }

// Path is where the binary of that name is.
func (c Cache) Path(name string) string { return filepath.Join(c.Dir(), name) }

func (c Cache) stampPath(name string) string { return c.Path(name) + ".stamp" }

// Stamp is the hash of what b is built from.
func (c Cache) Stamp(ctx context.Context, b Binary) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(c.Module(), f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	goEnv, err := c.goCmd(ctx, "env", "GOVERSION", "GOOS", "GOARCH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h.Write(goEnv)
	fmt.Fprintf(h, "%s %s %v %q %q %q %q\n", b.Name, b.Package, b.Kubernetes, buildEnv, baseLDFlags, kubeVersionVars, kubeVersionPackages)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Fresh reports whether b is built and its stamp matches.
func (c Cache) Fresh(ctx context.Context, b Binary) (bool, error) {
	want, err := c.Stamp(ctx, b)
	if err != nil {
		return false, err
	}
	got, err := os.ReadFile(c.stampPath(b.Name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(string(got)) != want {
		return false, nil
	}
	if _, err := os.Stat(c.Path(b.Name)); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Build builds each of bins that is not fresh, one at a time, writing the
// go command's output and a line per binary to log. Builds of one
// checkout are serialized by a lock file, so that test binaries of
// several packages may call it at once.
func (c Cache) Build(ctx context.Context, log io.Writer, bins ...Binary) error {
	if err := os.MkdirAll(c.Dir(), 0o755); err != nil {
		return err
	}
	unlock, err := lock(filepath.Join(c.Dir(), ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	for _, b := range bins {
		fresh, err := c.Fresh(ctx, b)
		if err != nil {
			return err
		}
		if fresh {
			fmt.Fprintf(log, "%s: up to date\n", b.Name)
			continue
		}
		start := time.Now()
		if err := c.build(ctx, log, b); err != nil {
			return err
		}
		fmt.Fprintf(log, "%s: built in %s\n", b.Name, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

func (c Cache) build(ctx context.Context, log io.Writer, b Binary) error {
	stamp, err := c.Stamp(ctx, b)
	if err != nil {
		return err
	}
	ldflags := baseLDFlags
	if b.Kubernetes {
		vars, err := c.kubeVersionFlags(ctx)
		if err != nil {
			return err
		}
		ldflags += " " + vars
	}
	out := c.Path(b.Name)
	tmp := out + ".tmp"
	// The stamp goes first: a binary without a matching stamp is
	// rebuilt, never trusted.
	if err := os.Remove(c.stampPath(b.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cmd := c.goCmd(ctx, "build", "-ldflags="+ldflags, "-o", tmp, b.Package)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("building %s (%s) in %s: %w", b.Name, b.Package, c.Module(), err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	return os.WriteFile(c.stampPath(b.Name), []byte(stamp+"\n"), 0o644)
}

// kubeVersionFlags are the -X flags for k8s.io/kubernetes at the version
// test/peers requires.
func (c Cache) kubeVersionFlags(ctx context.Context) (string, error) {
	out, err := c.goCmd(ctx, "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes").Output()
	if err != nil {
		return "", fmt.Errorf("the version of k8s.io/kubernetes in %s: %w", c.Module(), err)
	}
	version := strings.TrimSpace(string(out))
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("k8s.io/kubernetes version %q is not vMAJOR.MINOR.PATCH", version)
	}
	subst := strings.NewReplacer("VERSION", version, "MAJOR", parts[0], "MINOR", parts[1])
	var flags []string
	for _, pkg := range kubeVersionPackages {
		for _, v := range kubeVersionVars {
			flags = append(flags, "-X "+pkg+"."+subst.Replace(v))
		}
	}
	return strings.Join(flags, " "), nil
}

// ModuleDir is the folder of a module that test/peers requires, in the
// module cache (kwok's stage files, say).
func (c Cache) ModuleDir(ctx context.Context, module string) (string, error) {
	out, err := c.goCmd(ctx, "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("the folder of %s in %s: %w", module, c.Module(), err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%s is not in the module cache; `go -C %s mod download %s` brings it", module, c.Module(), module)
	}
	return dir, nil
}

func (c Cache) goCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = c.Module()
	cmd.Env = append(os.Environ(), buildEnv...)
	return cmd
}

// Version runs the built binary with --version and returns the first
// line it prints.
func (c Cache) Version(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Path(name), "--version")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", name, err, out.String())
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	return line, nil
}

// lock takes an exclusive lock on the file, waiting for it.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
