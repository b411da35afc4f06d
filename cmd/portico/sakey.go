package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

// serviceAccountKeyFile is the development service-account signing key,
// <data-dir>/pki/service-account.key.
func serviceAccountKeyFile(layout pki.Layout) string {
	return filepath.Join(layout.Dir, "service-account.key")
}

// ensureServiceAccountKey returns the development signing key's path,
// making an ECDSA P-256 key there first when there is none. An existing
// file is checked, never overwritten: tokens signed with it stay valid
// across restarts. written is true when the key was made.
func ensureServiceAccountKey(layout pki.Layout) (path string, written bool, err error) {
	path = serviceAccountKeyFile(layout)
	if _, err := os.Stat(path); err == nil {
		if _, err := serviceaccount.LoadSigningKey(path); err != nil {
			return "", false, fmt.Errorf("service-account key (remove it to have it made again): %w", err)
		}
		return path, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("service-account key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", false, fmt.Errorf("service-account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", false, fmt.Errorf("service-account key: %w", err)
	}
	if err := os.MkdirAll(layout.Dir, 0o700); err != nil {
		return "", false, fmt.Errorf("service-account key: %w", err)
	}
	if err := pki.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", false, fmt.Errorf("service-account key: %w", err)
	}
	return path, true, nil
}
