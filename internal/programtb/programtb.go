// Package programtb lets a program (a benchmark, a demo) use
// internal/testpeers, which starts the real peers for a testing.TB.
package programtb

import (
	"fmt"
	"os"
	"testing"
)

// TB is a testing.TB for a program: Fatal ends the run (Main recovers,
// runs the cleanups, returns 1), TempDir is under one folder removed at
// the end, logs go to standard error. The embedded nil TB is only there
// to satisfy the interface; every method testpeers calls is defined
// here.
type TB struct {
	testing.TB
	name     string
	root     string
	n        int
	cleanups []func()
	failed   bool
}

// fatal is the panic value of Fatal and Skip.
type fatal struct{ msg string }

// Main runs f with a TB named name and returns the program's exit code:
// 0, or 1 when f called Fatal (its message printed) or the temporary
// folder could not be made. The cleanups f registered have run, last
// first, when it returns; a panic that is not Fatal's goes on after
// them.
func Main(name string, f func(tb *TB)) (code int) {
	root, err := os.MkdirTemp("", "portico-"+name+"-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	tb := &TB{name: name, root: root}
	tb.Cleanup(func() { _ = os.RemoveAll(root) })
	defer tb.cleanup()
	defer func() {
		if r := recover(); r != nil {
			msg, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			fmt.Fprintf(os.Stderr, "%s: %s\n", name, msg.msg)
			code = 1
		}
	}()
	f(tb)
	return 0
}

func (tb *TB) Helper()                         {}
func (tb *TB) Name() string                    { return tb.name }
func (tb *TB) Failed() bool                    { return tb.failed }
func (tb *TB) Log(args ...any)                 { fmt.Fprintln(os.Stderr, args...) }
func (tb *TB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (tb *TB) Errorf(format string, args ...any) {
	tb.failed = true
	tb.Logf(format, args...)
}
func (tb *TB) Fatal(args ...any) { tb.failed = true; panic(fatal{fmt.Sprint(args...)}) }
func (tb *TB) Fatalf(format string, args ...any) {
	tb.failed = true
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (tb *TB) Skipf(format string, args ...any) {
	tb.failed = true
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (tb *TB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }

// TempDir is a new folder under the run's temporary folder.
func (tb *TB) TempDir() string {
	tb.n++
	dir := fmt.Sprintf("%s/%03d", tb.root, tb.n)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// cleanup runs the cleanups, last registered first.
func (tb *TB) cleanup() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	tb.cleanups = nil
}
