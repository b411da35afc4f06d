package pki_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/pki"
)

func TestWriteFile(t *testing.T) {
	tests := map[string]struct {
		existing []byte // nil: no file before
		perm     os.FileMode
		data     []byte
	}{
		"new key file":             {perm: 0o600, data: []byte("key")},
		"new cert file":            {perm: 0o644, data: []byte("cert")},
		"replace existing":         {existing: []byte("old content, longer"), perm: 0o600, data: []byte("new")},
		"empty data":               {perm: 0o644, data: []byte{}},
		"replace keeps given perm": {existing: []byte("old"), perm: 0o640, data: []byte("new")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "a", "b")
			path := filepath.Join(dir, "f")
			if tc.existing != nil {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.existing, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := pki.WriteFile(path, tc.data, tc.perm); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tc.data) {
				t.Errorf("content %q, want %q", got, tc.data)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tc.perm)
			}
			if tc.existing == nil {
				di, err := os.Stat(dir)
				if err != nil {
					t.Fatal(err)
				}
				if di.Mode().Perm() != 0o700 {
					t.Errorf("created parent mode %v, want 0700", di.Mode().Perm())
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %q, want only f (temporary file left behind?)", names)
			}
		})
	}
}

func TestWriteFileError(t *testing.T) {
	dir := t.TempDir()
	// The parent "directory" is a regular file, so nothing can be written.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFile(filepath.Join(blocker, "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile under a regular file succeeded")
	}
}
