package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// maxProfile bounds one CPU profile (Go's pprof handler refuses longer
// than the server's write timeout anyway).
const maxProfile = 30 * time.Second

// profile, with -profile DIR, starts recording a CPU profile of Portico
// (started with --profiling, served on its insecure port) into
// DIR/name.prof for d; wait returns once it is written. Without
// -profile, or for kube-apiserver, it records nothing.
func (b *bench) profile(s *server, name string, d time.Duration) (wait func()) {
	if b.o.profileDir == "" || s.insecureURL == "" || name == "" {
		return func() {}
	}
	d = min(max(d, time.Second), maxProfile)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fetchProfile(b, s, filepath.Join(b.o.profileDir, name+".prof"), d); err != nil {
			logf("%s: profile %s: %v", s.name, name, err)
			return
		}
		logf("%s: profile %s written", s.name, name)
	}()
	return func() { <-done }
}

func fetchProfile(b *bench, s *server, file string, d time.Duration) error {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.insecureURL, int(d.Seconds()))
	req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: d + 30*time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 256<<20)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
