package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically: it writes a temporary file in
// the same directory with mode perm, syncs it and renames it over path, so
// a reader sees either the old content or the new, never a torn file. The
// parent directory is created with mode 0700 when missing.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// Chmod is not subject to the umask, so the mode is exactly perm.
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename durable; not every platform can sync a directory,
	// and the file itself is already complete, so this is best effort.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// exists reports whether path exists; errors other than "does not exist"
// are returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
}

// pairState tells how much of a certificate/key pair exists on disk.
type pairState int

const (
	pairMissing pairState = iota // neither file exists
	pairPresent                  // both files exist
)

// statPair returns whether both or neither of certFile and keyFile exist,
// and an error when only one does: the other one cannot be regenerated
// without overwriting or orphaning what is there.
func statPair(certFile, keyFile string) (pairState, error) {
	certOK, err := exists(certFile)
	if err != nil {
		return 0, err
	}
	keyOK, err := exists(keyFile)
	if err != nil {
		return 0, err
	}
	switch {
	case certOK && keyOK:
		return pairPresent, nil
	case !certOK && !keyOK:
		return pairMissing, nil
	case certOK:
		return 0, fmt.Errorf("%s exists but its key %s does not; remove %s to have both made again", certFile, keyFile, certFile)
	default:
		return 0, fmt.Errorf("%s exists but its certificate %s does not; remove %s to have both made again", keyFile, certFile, keyFile)
	}
}

// writePair writes a key (mode 0600) and then its certificate (mode 0644).
func writePair(certFile, keyFile string, certPEM, keyPEM []byte) error {
	if err := WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return WriteFile(certFile, certPEM, 0o644)
}
