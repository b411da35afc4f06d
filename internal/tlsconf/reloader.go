package tlsconf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ReloadInterval is how often, at most, a Reloader looks at its files.
const ReloadInterval = time.Second

// Reloader serves a key pair from files and re-reads them when their
// modification time or size changes, checked at most once per
// ReloadInterval, on handshake. A failed re-read keeps the previous pair
// and logs why, once per distinct failure. It is safe for concurrent use;
// a handshake never waits for another one's check.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time // replaced in tests

	cur       atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // UnixNano of the last look at the files

	mu        sync.Mutex // held while checking; guards the fields below
	certStamp stamp      // of the files last read, successfully or not
	keyStamp  stamp
	lastErr   string // last failure logged, "" after a success
}

// stamp is what tells a changed file.
type stamp struct {
	modTime int64 // UnixNano
	size    int64
}

// NewReloader loads the pair in certFile and keyFile; it fails when they
// cannot be loaded now. log receives reload and failure messages (nil
// discards them); they name the files, never their content.
func NewReloader(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	cs, ks, err := r.stat()
	if err != nil {
		return nil, fmt.Errorf("certificate reloader: %w", err)
	}
	pair, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate reloader: %w", err)
	}
	r.certStamp, r.keyStamp = cs, ks
	r.cur.Store(&pair)
	r.lastCheck.Store(r.now().UnixNano())
	return r, nil
}

// GetCertificate returns the current pair; it fits tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cur.Load(), nil
}

// GetClientCertificate returns the current pair; it fits
// tls.Config.GetClientCertificate.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	r.maybeReload()
	return r.cur.Load(), nil
}

// maybeReload looks at the files when ReloadInterval has passed since the
// last look and no other goroutine is looking, and loads them when they
// changed.
func (r *Reloader) maybeReload() {
	now := r.now().UnixNano()
	if now-r.lastCheck.Load() < int64(ReloadInterval) {
		return
	}
	if !r.mu.TryLock() {
		return // another handshake is checking; serve the current pair
	}
	defer r.mu.Unlock()
	if now-r.lastCheck.Load() < int64(ReloadInterval) {
		return
	}
	r.lastCheck.Store(now)

	cs, ks, err := r.stat()
	if err != nil {
		r.failed(err)
		return
	}
	if cs == r.certStamp && ks == r.keyStamp {
		return
	}
	// Remember what was read even when it fails to load, so that a bad
	// write is reported once and the next change is tried again.
	r.certStamp, r.keyStamp = cs, ks
	pair, err := loadPair(r.certFile, r.keyFile)
	if err != nil {
		r.failed(err)
		return
	}
	r.cur.Store(&pair)
	r.lastErr = ""
	r.log.Info("reloaded certificate",
		"cert", r.certFile, "key", r.keyFile,
		"subject", pair.Leaf.Subject.String(), "notAfter", pair.Leaf.NotAfter)
}

// failed logs err unless it is the failure logged last.
func (r *Reloader) failed(err error) {
	if msg := err.Error(); msg != r.lastErr {
		r.lastErr = msg
		r.log.Warn("certificate reload failed, keeping the previous certificate",
			"cert", r.certFile, "key", r.keyFile, "err", err)
	}
}

// stat returns the stamps of the certificate and key files.
func (r *Reloader) stat() (cert, key stamp, err error) {
	ci, err := os.Stat(r.certFile)
	if err != nil {
		return stamp{}, stamp{}, err
	}
	ki, err := os.Stat(r.keyFile)
	if err != nil {
		return stamp{}, stamp{}, err
	}
	return stamp{ci.ModTime().UnixNano(), ci.Size()}, stamp{ki.ModTime().UnixNano(), ki.Size()}, nil
}
