// Command task runs go-task from the tools module, so that `go tool task`
// works in this repository while task's own dependencies (cloud SDKs, a
// terminal UI) stay out of the main module's go.mod and go.sum. It is the
// main module's one `tool` line: it runs
//
//	go tool -modfile=<module root>/tools/go.mod task <args>
//
// with the same standard streams, and exits with task's status.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	code, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
	}
	os.Exit(code)
}

func run(args []string) (int, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return 1, fmt.Errorf("finding the module root: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return 1, errors.New("not inside the Portico module")
	}
	cmd := exec.Command("go", append([]string{"tool", "-modfile=" + filepath.Join(filepath.Dir(mod), "tools", "go.mod"), "task"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Ctrl-C reaches task from the terminal with the whole process
	// group; a SIGTERM sent to this process alone is passed on. Either
	// way task decides when to stop, and this process waits for it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGTERM {
				_ = cmd.Process.Signal(sig)
			}
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
