package tokenfile

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logSink is a log sink for one test.
type logSink struct{ bytes.Buffer }

func newLogger() (*slog.Logger, *logSink) {
	var s logSink
	return slog.New(slog.NewTextHandler(&s.Buffer, &slog.HandlerOptions{Level: slog.LevelDebug})), &s
}

func write(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// Move the modification time on explicitly: a rewrite within the same
	// clock tick must still be seen (size may not change either).
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func user(t *testing.T, f *File, token string) string {
	t.Helper()
	r, ok, err := f.AuthenticateToken(context.Background(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return r.User.GetUsername()
}

func TestFileReload(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.csv")
	base := time.Now().Add(-time.Hour)
	write(t, p, "tok-a,alice,1\n", base)
	log, sink := newLogger()
	f, err := Open(p, log)
	if err != nil {
		t.Fatal(err)
	}
	reloads := 0
	f.OnReload(func() { reloads++ })

	steps := []struct {
		name        string
		content     string // "" leaves the file as it is
		touch       bool   // only a new mtime, same content
		wantChanged bool
		wantErr     string
		wantLog     string
		users       map[string]string // token → user ("" = refused)
		wantReloads int
	}{
		{name: "unchanged", users: map[string]string{"tok-a": "alice"}},
		{name: "same size, new content", content: "tok-b,alice,1\n", wantChanged: true, wantReloads: 1,
			users: map[string]string{"tok-a": "", "tok-b": "alice"}},
		{name: "touched only", touch: true, wantReloads: 1, users: map[string]string{"tok-b": "alice"}},
		{name: "bad file keeps old tokens", content: "tok-c,carol,3\ntok-d\n", wantErr: "line 2: want at least 3 columns",
			wantLog: "keeping the tokens loaded before", wantReloads: 1,
			users: map[string]string{"tok-b": "alice", "tok-c": ""}},
		{name: "bad file seen once", wantReloads: 1, users: map[string]string{"tok-b": "alice"}},
		{name: "fixed file with duplicate", content: "tok-c,carol,3\ntok-c,dave,4\n", wantChanged: true, wantReloads: 2,
			wantLog: "duplicate token", users: map[string]string{"tok-b": "", "tok-c": "dave"}},
	}
	for i, st := range steps {
		mtime := base.Add(time.Duration(i+1) * time.Minute)
		switch {
		case st.content != "":
			write(t, p, st.content, mtime)
		case st.touch:
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		sink.Reset()
		changed, err := f.Check()
		if changed != st.wantChanged {
			t.Errorf("%s: changed = %v, want %v", st.name, changed, st.wantChanged)
		}
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Errorf("%s: err = %v, want %q", st.name, err, st.wantErr)
		}
		if st.wantLog != "" && !strings.Contains(sink.String(), st.wantLog) {
			t.Errorf("%s: log lacks %q:\n%s", st.name, st.wantLog, sink.String())
		}
		for _, secret := range []string{"tok-a", "tok-b", "tok-c", "tok-d"} {
			if strings.Contains(sink.String(), secret) {
				t.Errorf("%s: log leaks token %s:\n%s", st.name, secret, sink.String())
			}
		}
		for tok, want := range st.users {
			if got := user(t, f, tok); got != want {
				t.Errorf("%s: token %s → %q, want %q", st.name, tok, got, want)
			}
		}
		if reloads != st.wantReloads {
			t.Errorf("%s: OnReload ran %d times, want %d", st.name, reloads, st.wantReloads)
		}
	}
}

func TestFileRemovedKeepsTokens(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.csv")
	write(t, p, "tok-a,alice,1\n", time.Now())
	log, sink := newLogger()
	f, err := Open(p, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Check(); err == nil {
		t.Fatal("a missing file was not reported")
	}
	if got := user(t, f, "tok-a"); got != "alice" {
		t.Fatalf("after removal tok-a → %q", got)
	}
	if !strings.Contains(sink.String(), "keeping the tokens") {
		t.Fatalf("log: %s", sink.String())
	}
}

func TestOpenMalformedStopsStart(t *testing.T) {
	tests := map[string]struct {
		content, want string
	}{
		"too few columns": {"s3cr3t1,alice,1\n\ns3cr3t2,bob\n", "line 3: want at least 3 columns"},
		"bad quoting":     {"s3cr3t1,\"alice,1\n", "line 1: malformed CSV"},
		"empty token":     {"s3cr3t1,alice,1\n,bob,2\n", "line 2: empty token"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokens.csv")
			write(t, p, tc.content, time.Now())
			log, _ := newLogger()
			_, err := Open(p, log)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Open = %v, want an error naming %s and %q", err, p, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks a token: %v", err)
			}
		})
	}
}

func TestOpenTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.csv")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	log, _ := newLogger()
	if _, err := Open(p, log); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Open = %v", err)
	}
}

func TestFileRunPicksUpChange(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.csv")
	write(t, p, "tok-a,alice,1\n", time.Now().Add(-time.Minute))
	log, _ := newLogger()
	f, err := Open(p, log)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{}, 1)
	f.OnReload(func() { reloaded <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx, 10*time.Millisecond)
	write(t, p, "tok-z,zed,9\n", time.Now())
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not reload the changed file")
	}
	if got := user(t, f, "tok-z"); got != "zed" {
		t.Fatalf("tok-z → %q", got)
	}
}
