package storage

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// Errors returned by Store, possibly wrapped with detail; test with errors.Is.
var (
	// ErrNotFound: no object under the key (404).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: Create found an object under the key (409).
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the object changed since the resourceVersion the caller
	// had, or a delete precondition does not hold (409).
	ErrConflict = errors.New("the object has been modified")
	// ErrGone: the requested resourceVersion has been compacted away (410).
	ErrGone = errors.New("resource version too old")
	// ErrInvalidContinue: the continue token is malformed or is combined
	// with a resourceVersion (400).
	ErrInvalidContinue = errors.New("invalid continue token")
	// ErrInvalidResourceVersion: a resourceVersion is not a decimal
	// revision (400).
	ErrInvalidResourceVersion = errors.New("invalid resource version")
	// ErrResourceVersionTooLarge: a resourceVersion is newer than the
	// store's current revision (kube-apiserver answers 504 with retry).
	ErrResourceVersionTooLarge = errors.New("too large resource version")
	// ErrTooLarge: the encoded object exceeds MaxValueBytes (413).
	ErrTooLarge = errors.New("object too large")
	// ErrInvalidKey: an empty name, or a namespace or name containing "/".
	ErrInvalidKey = errors.New("invalid namespace or name")
)

// etcdErr turns etcd's errors into ours where one applies.
func etcdErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %v", ErrGone, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %v", ErrResourceVersionTooLarge, err)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	}
	return fmt.Errorf("storage: %w", err)
}
