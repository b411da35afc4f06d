package tokenfile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/services/authn/authenticator"
)

// DefaultPollInterval is how often File.Run looks at the file.
const DefaultPollInterval = time.Second

// File is a token file that is re-read when it changes. The first read
// must succeed (a malformed file stops the start); a later bad version is
// logged and the tokens already loaded stay in force.
type File struct {
	path string
	log  *slog.Logger

	tokens atomic.Pointer[Tokens]

	mu       sync.Mutex // serializes Check
	stat     fileStat
	sum      [32]byte
	onReload []func()
}

// fileStat is what a poll compares: a change of either means "read again".
type fileStat struct {
	modTime time.Time
	size    int64
}

// Open reads the token file at path. Warnings (duplicates) are logged;
// an error names the line at fault and never contains a token.
func Open(path string, log *slog.Logger) (*File, error) {
	f := &File{path: path, log: log}
	st, data, err := f.read()
	if err != nil {
		return nil, err
	}
	toks, err := parseFile(path, data)
	if err != nil {
		return nil, err
	}
	f.stat, f.sum = st, sha256.Sum256(data)
	f.install(toks)
	return f, nil
}

// OnReload registers fn to run after every successful reload (to drop
// cached results).
func (f *File) OnReload(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onReload = append(f.onReload, fn)
}

// Tokens returns the tokens in force.
func (f *File) Tokens() *Tokens { return f.tokens.Load() }

// AuthenticateToken authenticates against the tokens in force.
func (f *File) AuthenticateToken(ctx context.Context, token string, audiences []string) (*authenticator.Response, bool, error) {
	return f.tokens.Load().AuthenticateToken(ctx, token, audiences)
}

// Run polls the file every interval (DefaultPollInterval when 0) until
// ctx ends.
func (f *File) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = f.Check()
		}
	}
}

// Check looks at the file once and reloads it when its size, modification
// time or content changed. It reports whether new tokens were installed;
// a file that cannot be read or parsed keeps the old tokens, is logged and
// is returned as the error.
func (f *File) Check() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.log.Error("token file unreadable: keeping the tokens loaded before", "file", f.path, "error", err)
		return false, fmt.Errorf("token file: %w", err)
	}
	st := fileStat{modTime: fi.ModTime(), size: fi.Size()}
	if st == f.stat {
		return false, nil
	}
	st, data, err := f.read()
	if err != nil {
		f.log.Error("token file unreadable: keeping the tokens loaded before", "file", f.path, "error", err)
		return false, err
	}
	sum := sha256.Sum256(data)
	if sum == f.sum {
		f.stat = st // touched, not changed
		return false, nil
	}
	toks, err := parseFile(f.path, data)
	if err != nil {
		// Remember this version so the same bad file is reported once.
		f.stat, f.sum = st, sum
		f.log.Error("token file changed but is invalid: keeping the tokens loaded before", "file", f.path, "error", err)
		return false, err
	}
	f.stat, f.sum = st, sum
	f.install(toks)
	for _, fn := range f.onReload {
		fn()
	}
	return true, nil
}

func (f *File) install(toks *Tokens) {
	for _, w := range toks.Warnings {
		f.log.Warn("token file", "file", f.path, "warning", w)
	}
	f.tokens.Store(toks)
	f.log.Info("token file loaded", "file", f.path, "tokens", toks.Len())
}

// read returns the file's stat and content, at most MaxFileBytes.
func (f *File) read() (fileStat, []byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return fileStat{}, nil, fmt.Errorf("token file: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fileStat{}, nil, fmt.Errorf("token file: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return fileStat{}, nil, fmt.Errorf("token file %s: %w", f.path, err)
	}
	if len(data) > MaxFileBytes {
		return fileStat{}, nil, fmt.Errorf("token file %s: larger than %d bytes", f.path, MaxFileBytes)
	}
	return fileStat{modTime: fi.ModTime(), size: fi.Size()}, data, nil
}

func parseFile(path string, data []byte) (*Tokens, error) {
	t, err := Parse(bytes.Clone(data))
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return t, nil
}
