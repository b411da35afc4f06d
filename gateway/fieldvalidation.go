package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/portico-dev/portico/internal/kjson"
)

// fieldValidation is kube-apiserver's ?fieldValidation: Strict refuses a
// body with unknown or duplicate fields (400, naming each by its path),
// Warn (the default) accepts it and answers a Warning header per field,
// Ignore accepts it silently because the client asked so.

// warnings collects a request's Warning headers.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, s)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.list...)
}

type warningsKey struct{}

// decodeOptions returns the options for a request's body, and the context
// carrying its warnings.
func decodeOptions(r *http.Request, maxBody int64) (kjson.DecodeOptions, context.Context, error) {
	opts := kjson.DecodeOptions{MaxBytes: maxBody}
	mode, err := kjson.ParseFieldValidation(r.URL.Query().Get("fieldValidation"))
	if err != nil {
		return opts, nil, err
	}
	switch mode {
	case kjson.FieldValidationStrict:
		return opts, r.Context(), nil
	case kjson.FieldValidationIgnore:
		opts.AllowUnknown = true
		return opts, r.Context(), nil
	}
	ws := &warnings{}
	opts.AllowUnknown = true
	opts.OnUnknown = func(path string) { ws.add(fmt.Sprintf("unknown field %q", path)) }
	opts.OnDuplicate = func(path string) { ws.add(fmt.Sprintf("duplicate field %q", path)) }
	return opts, context.WithValue(r.Context(), warningsKey{}, ws), nil
}

// writeWarnings sets the Warning headers collected for a request.
func writeWarnings(ctx context.Context, w http.ResponseWriter) {
	ws, ok := ctx.Value(warningsKey{}).(*warnings)
	if !ok {
		return
	}
	for _, msg := range ws.all() {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
}
