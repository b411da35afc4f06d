package kjson

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// DefaultMaxBytes is kube-apiserver's limit on a request body: 3 MiB.
const DefaultMaxBytes = 3 << 20

// DefaultMaxDepth is how deeply objects and arrays may nest in a body.
const DefaultMaxDepth = 100

// ErrRequestEntityTooLarge is what a body over the size limit fails with
// (errors.Is); the gateway answers it with 413.
var ErrRequestEntityTooLarge = errors.New("request entity too large")

// DecodeError is a body that could not be decoded. Its message is worded as
// kube-apiserver words the same failure (the message of its 400 Status).
type DecodeError struct {
	// Message is the whole message.
	Message string
	// Strict lists the unknown and duplicate fields (`unknown field
	// "spec.foo"`) when they alone failed the decode: the message was
	// decoded otherwise.
	Strict []string
	// Err is the underlying failure.
	Err error
}

func (e *DecodeError) Error() string { return e.Message }
func (e *DecodeError) Unwrap() error { return e.Err }

type tooLargeError struct{ limit int64 }

func (e tooLargeError) Error() string {
	return "Request entity too large: limit is " + strconv.FormatInt(e.limit, 10)
}
func (e tooLargeError) Unwrap() error { return ErrRequestEntityTooLarge }

// TooLarge is the error for a body over limit bytes: kube-apiserver's
// "Request entity too large: limit is N", errors.Is ErrRequestEntityTooLarge.
func TooLarge(limit int64) *DecodeError {
	return &DecodeError{Message: tooLargeError{limit}.Error(), Err: tooLargeError{limit}}
}

// ReadBody reads a whole request body, refusing one longer than limit
// (limit < 0: no limit) with kube-apiserver's "Request entity too large:
// limit is N", which errors.Is ErrRequestEntityTooLarge.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	if limit < 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, TooLarge(mbe.Limit)
		}
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, TooLarge(limit)
	}
	return data, nil
}

// StrictError joins unknown and duplicate field problems as kube-apiserver
// does: `strict decoding error: unknown field "spec.foo", duplicate field
// "metadata.name"`.
func StrictError(problems []string) error {
	return errors.New("strict decoding error: " + strings.Join(problems, ", "))
}

// CannotHandle words a failure to decode a body naming apiVersion and kind
// into target as kube-apiserver does: `ConfigMap in version "v1" cannot be
// handled as a ConfigMap: <err>` (the version without its group, as
// kube-apiserver prints it). For a target without a registered kind
// the error is returned as it is.
func (t *Types) CannotHandle(target protoreflect.MessageDescriptor, apiVersion, kind string, err error) *DecodeError {
	if de, ok := err.(*DecodeError); ok {
		return de
	}
	tk, registered := t.targetKind(target)
	if !registered {
		return &DecodeError{Message: err.Error(), Err: err}
	}
	if kind == "" {
		kind = tk
	}
	return &DecodeError{
		Message: fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", kind, versionPart(apiVersion), tk, err),
		Err:     err,
	}
}

// Unrecognized words a failure to read a body's kind as kube-apiserver
// does: `the object provided is unrecognized (must be of type ConfigMap):
// <err> (<the body's first 30 bytes>)`.
func (t *Types) Unrecognized(target protoreflect.MessageDescriptor, err error, body []byte) *DecodeError {
	tk, _ := t.targetKind(target)
	return &DecodeError{
		Message: fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v (%s)", tk, err, summarizeData(body, 30)),
		Err:     err,
	}
}

// summarizeData is kube-apiserver's summary of a body in error messages.
func summarizeData(data []byte, maxLength int) string {
	switch {
	case len(data) == 0:
		return "<empty>"
	case data[0] == '{':
		if len(data) > maxLength {
			return string(data[:maxLength]) + " ..."
		}
		return string(data)
	default:
		if len(data) > maxLength {
			return hex.EncodeToString(data[:maxLength]) + " ..."
		}
		return hex.EncodeToString(data)
	}
}
