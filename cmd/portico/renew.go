package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/internal/pki"
)

// certRenewer is what renewServiceCerts needs of a PKI directory.
type certRenewer interface {
	RenewServices(now time.Time) ([]string, error)
}

// renewServiceCerts renews the service certificates in l every interval
// until ctx ends: `portico up` holds the internal CA, so it renews its
// own services' certificates, which they pick up from the files on their
// next handshake (tlsconf.Reloader). A failed renewal is logged and
// tried again at the next tick; the current certificates stay until
// they expire, a third of their validity later at the soonest.
func renewServiceCerts(ctx context.Context, l certRenewer, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			renewed, err := l.RenewServices(now)
			if len(renewed) > 0 {
				log.Info("service certificates renewed", "services", renewed)
			}
			if err != nil {
				log.Error("service certificates not renewed: trying again", "error", err, "in", interval)
			}
		}
	}
}

// renewInterval is how often renewServiceCerts looks: a tenth of the
// validity, at most a minute.
func renewInterval(validity time.Duration) time.Duration {
	if validity == 0 {
		validity = pki.DefaultServiceValidity
	}
	return min(validity/10, time.Minute)
}

// connectionAge is how long a gRPC server keeps a connection: a tenth
// of the service certificates' validity, and as long again for the calls
// in flight. A connection opened just before a renewal, on a certificate
// with a third of its validity left, is so closed before that expires.
func connectionAge(validity time.Duration) time.Duration {
	if validity == 0 {
		validity = pki.DefaultServiceValidity
	}
	return validity / 10
}
