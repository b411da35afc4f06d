package programtb

import (
	"os"
	"slices"
	"testing"
)

func TestMain_(t *testing.T) {
	tests := map[string]struct {
		run      func(tb *TB)
		wantCode int
	}{
		"returns":         {run: func(*TB) {}, wantCode: 0},
		"Fatal":           {run: func(tb *TB) { tb.Fatal("no") }, wantCode: 1},
		"Fatalf":          {run: func(tb *TB) { tb.Fatalf("no %d", 1) }, wantCode: 1},
		"Errorf goes on":  {run: func(tb *TB) { tb.Errorf("soft") }, wantCode: 0},
		"Skipf is fatal ": {run: func(tb *TB) { tb.Skipf("skip") }, wantCode: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var order []int
			var dir string
			code := Main("test", func(tb *TB) {
				dir = tb.TempDir()
				tb.Cleanup(func() { order = append(order, 1) })
				tb.Cleanup(func() { order = append(order, 2) })
				tc.run(tb)
			})
			if code != tc.wantCode {
				t.Errorf("code %d, want %d", code, tc.wantCode)
			}
			if !slices.Equal(order, []int{2, 1}) {
				t.Errorf("cleanups ran %v, want last first: [2 1]", order)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("TempDir %s left behind: %v", dir, err)
			}
		})
	}
}

func TestMainOtherPanic(t *testing.T) {
	cleaned := false
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the panic to go on", r)
		}
		if !cleaned {
			t.Error("cleanups did not run before the panic went on")
		}
	}()
	Main("test", func(tb *TB) {
		tb.Cleanup(func() { cleaned = true })
		panic("boom")
	})
}
