package main

import (
	"fmt"
	"os"
	"testing"
)

// programTB lets a program use internal/testpeers, which starts the real
// peers for a testing.TB: Fatal ends the run (main recovers, runs the
// cleanups, exits 1), TempDir is under one folder removed at the end.
// The embedded nil TB is only there to satisfy the interface; every
// method testpeers calls is defined here.
type programTB struct {
	testing.TB
	root     string
	n        int
	cleanups []func()
	failed   bool
}

// fatal is the panic value of Fatal and Skip.
type fatal struct{ msg string }

func newProgramTB() (*programTB, error) {
	root, err := os.MkdirTemp("", "portico-bench-")
	if err != nil {
		return nil, err
	}
	tb := &programTB{root: root}
	tb.Cleanup(func() { _ = os.RemoveAll(root) })
	return tb, nil
}

func (tb *programTB) Helper()                         {}
func (tb *programTB) Name() string                    { return "bench" }
func (tb *programTB) Failed() bool                    { return tb.failed }
func (tb *programTB) Log(args ...any)                 { fmt.Fprintln(os.Stderr, args...) }
func (tb *programTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (tb *programTB) Errorf(format string, args ...any) {
	tb.failed = true
	tb.Logf(format, args...)
}
func (tb *programTB) Fatal(args ...any) { tb.failed = true; panic(fatal{fmt.Sprint(args...)}) }
func (tb *programTB) Fatalf(format string, args ...any) {
	tb.failed = true
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (tb *programTB) Skipf(format string, args ...any) {
	tb.failed = true
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (tb *programTB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }

func (tb *programTB) TempDir() string {
	tb.n++
	dir := fmt.Sprintf("%s/%03d", tb.root, tb.n)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// cleanup runs the cleanups, last registered first.
func (tb *programTB) cleanup() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	tb.cleanups = nil
}
