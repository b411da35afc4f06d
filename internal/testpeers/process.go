// Package testpeers starts the real Kubernetes components next to
// Portico in tests: etcd (one member or a cluster), kube-apiserver,
// kube-scheduler, kube-controller-manager and kwok, each a process on
// free loopback ports, stopped at the test's cleanup.
//
// The binaries come from bin/peers/ (internal/peerbin, `go tool task
// peers`). A binary that is missing, or was built from another
// test/peers/go.sum, is built when CI=true or PORTICO_PEERS_BUILD=1, and
// otherwise skips the test with the command that builds it: in CI a peer
// test never skips.
package testpeers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/peerbin"
)

// BuildEnv is the variable that makes a test build missing peers outside CI.
const BuildEnv = "PORTICO_PEERS_BUILD"

// building serializes builds within one test binary; peerbin's lock file
// serializes them across test binaries.
var building sync.Mutex

// Binary returns the path of the built peer of that name (peerbin.Etcd,
// ...), building it or skipping the test as the package comment says.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	b, err := peerbin.Lookup(name)
	if err != nil {
		tb.Fatal(err)
	}
	c := cache(tb)
	ctx := context.Background()
	fresh, err := c.Fresh(ctx, b)
	if err != nil {
		tb.Fatal(err)
	}
	if fresh {
		return c.Path(name)
	}
	if os.Getenv("CI") != "true" && os.Getenv(BuildEnv) != "1" {
		tb.Skipf("%s is not built from this test/peers/go.sum: run `go tool task peers` (or set %s=1 to build it here; CI builds it)", c.Path(name), BuildEnv)
	}
	building.Lock()
	defer building.Unlock()
	var log bytes.Buffer
	start := time.Now()
	if err := c.Build(ctx, &log, b); err != nil {
		tb.Fatalf("%v\n%s", err, log.String())
	}
	tb.Logf("built %s in %s", c.Path(name), time.Since(start).Round(100*time.Millisecond))
	return c.Path(name)
}

// cache is bin/peers/ of the checkout the test runs in.
func cache(tb testing.TB) peerbin.Cache {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	root, err := peerbin.FindRoot(wd)
	if err != nil {
		tb.Fatal(err)
	}
	return peerbin.Cache{Root: root}
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
const StopGrace = 15 * time.Second

// logTail is how much of a process's log a failed test prints.
const logTail = 16 << 10

// Process is one running peer.
type Process struct {
	// Name says which peer it is in messages ("etcd m1").
	Name string
	tb   testing.TB
	cmd  *exec.Cmd
	logs *syncBuffer
	// exited is closed when the process has exited.
	exited chan struct{}
	err    error // from Wait, once exited is closed
	once   sync.Once
}

// Start runs the binary with args, its stdout and stderr captured. The
// process is stopped at the test's cleanup, and when the test failed its
// log's tail is printed. It dies with the test binary too (SIGKILL on the
// parent's death).
func Start(tb testing.TB, name, path string, args ...string) *Process {
	tb.Helper()
	p := &Process{Name: name, tb: tb, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s logs (tail):\n%s", name, p.Tail())
		}
	})
	return p
}

// Logs is everything the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Tail is the last part of the logs.
func (p *Process) Tail() string {
	s := p.logs.String()
	if len(s) > logTail {
		s = "...\n" + s[len(s)-logTail:]
	}
	return s
}

// PID is the process id (for reading its memory from /proc).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.exited }

// Stop ends the process with SIGTERM, and SIGKILL after StopGrace, and
// waits for it. It may be called more than once.
func (p *Process) Stop() {
	p.once.Do(func() {
		if p.Exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(StopGrace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.tb.Logf("%s did not stop within %s of SIGTERM; killed", p.Name, StopGrace)
		}
	})
}

// bindClash reports whether the process failed because a port it was
// given was taken in the meantime.
func (p *Process) bindClash() bool {
	return strings.Contains(p.Logs(), "address already in use")
}

// handedOut are the ports FreePort already gave in this test binary: the
// kernel may offer a just-closed port again.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a loopback port nobody listens on now and that no
// earlier call returned.
func FreePort(tb testing.TB) int {
	tb.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	tb.Fatal("no fresh loopback port after 100 tries")
	return 0
}

// startAttempts is how often a start is tried on fresh ports when a port
// was taken between FreePort and the bind.
const startAttempts = 3

func loopbackURL(scheme string, port int) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
}
