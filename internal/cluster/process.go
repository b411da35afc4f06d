package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one member of the cluster: an etcd member or a Portico
// service, started again with the same flags after a kill.
type Process struct {
	// Name is unique in the cluster: "etcd-0", "api-1", "gateway-0".
	Name string
	// Role is "etcd", "api", "authn", "authz" or "gateway".
	Role string
	// Address is where it serves: the gRPC host:port of a service, the
	// client URL of an etcd member, the secure URL of a gateway.
	Address string
	// InsecureURL is a gateway's insecure port (http://...); "" for others.
	InsecureURL string
	// LogFile receives its standard out and error, across restarts.
	LogFile string

	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs the process; its output is appended to LogFile. It dies
// with this process (SIGKILL when the parent dies), so nothing is left
// behind by a crash of the caller.
func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !exited(p.done) {
		return fmt.Errorf("%s is running", p.Name)
	}
	f, err := os.OpenFile(p.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== %s start: %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

func exited(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Running reports whether the process is started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !exited(p.done)
}

// PID is the process id, 0 when not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || exited(p.done) {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() error {
	return p.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGTERM, and SIGKILL after grace, and waits.
func (p *Process) Stop(grace time.Duration) error {
	return p.signal(syscall.SIGTERM, grace)
}

func (p *Process) signal(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || exited(done) {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	if sig == syscall.SIGKILL {
		<-done
		return nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", p.Name, grace)
	}
}

// Tail is the last n bytes of the process's log.
func (p *Process) Tail(n int) string {
	f, err := os.Open(p.LogFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > int64(n) {
		_, _ = f.Seek(-int64(n), io.SeekEnd)
	}
	b, _ := io.ReadAll(io.LimitReader(f, int64(n)))
	return string(b)
}
