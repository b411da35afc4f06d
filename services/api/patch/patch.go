// Package patch applies the three PATCH types of the Kubernetes API —
// JSON patch (RFC 6902), merge patch (RFC 7386) and strategic merge
// patch — to an object's JSON form, with every piece of the work bounded:
// the patch's nesting, its operation count, the bytes its copies add, the
// list comparisons a strategic merge makes and the size of the result. A
// patch past a bound fails at once with a Kubernetes error instead of
// taking the server's memory or CPU.
package patch

import (
	"encoding/json"
	"errors"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/portico-dev/portico/internal/apierrors"
)

// Types, as the Content-Type of a PATCH request names them.
const (
	Merge     = "application/merge-patch+json"
	JSON      = "application/json-patch+json"
	Strategic = "application/strategic-merge-patch+json"
	// ApplyYAML is a server-side apply patch (YAML, or JSON, which is
	// YAML): the api applies it with its field manager, after DecodeApply.
	ApplyYAML = "application/apply-patch+yaml"
)

// Default bounds. MaxBytes is kube-apiserver's request body limit (its
// JSONPatchMaxCopyBytes too); MaxOperations its maxJSONPatchOperations.
const (
	DefaultMaxBytes      = 3 << 20
	DefaultMaxOperations = 10000
	DefaultMaxDepth      = 100
	// DefaultMaxMergeWork bounds the element comparisons of a strategic
	// merge: merging lists by key compares each patch element with the
	// object's, about 0.1 µs a pair, so this is well under a second.
	DefaultMaxMergeWork = 4 << 20
)

// Limits bound the work of one patch. The zero value takes the defaults.
type Limits struct {
	// MaxBytes bounds the patched document and, for a JSON patch, the
	// bytes its copy operations add.
	MaxBytes int64
	// MaxOperations bounds the operations of a JSON patch.
	MaxOperations int
	// MaxDepth bounds how deeply the patch's objects and arrays nest.
	MaxDepth int
	// MaxMergeWork bounds the list element pairs a strategic merge may
	// compare (see mergeWork).
	MaxMergeWork int64
}

// Validate reports unusable limits.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("patch: MaxBytes %d is negative", l.MaxBytes))
	}
	if l.MaxOperations < 0 {
		errs = append(errs, fmt.Errorf("patch: MaxOperations %d is negative", l.MaxOperations))
	}
	if l.MaxDepth < 0 {
		errs = append(errs, fmt.Errorf("patch: MaxDepth %d is negative", l.MaxDepth))
	}
	if l.MaxMergeWork < 0 {
		errs = append(errs, fmt.Errorf("patch: MaxMergeWork %d is negative", l.MaxMergeWork))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxOperations == 0 {
		l.MaxOperations = DefaultMaxOperations
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxMergeWork == 0 {
		l.MaxMergeWork = DefaultMaxMergeWork
	}
	return l
}

// Supported reports whether t is a patch type Apply knows.
func Supported(t string) bool { return t == Merge || t == JSON || t == Strategic }

// Apply returns doc with patch applied. schema is the k8s.io/api Go
// value whose struct tags (patchStrategy, patchMergeKey) drive a
// strategic merge; nil refuses that type (415) as kube-apiserver does for
// kinds without one. Errors are Kubernetes errors: 400 for a patch that
// cannot be read, 413 past a size bound, 415 for an unknown type, 422
// for a patch that cannot be applied to this document.
func Apply(doc, patch []byte, patchType string, schema any, l Limits) ([]byte, error) {
	l = l.withDefaults()
	if patchType == Strategic && schema == nil || !Supported(patchType) {
		return nil, Unsupported()
	}
	if err := checkDepth(patch, l.MaxDepth); err != nil {
		return nil, apierrors.BadRequest(err.Error())
	}
	var out []byte
	var err error
	switch patchType {
	case JSON:
		out, err = applyJSON(doc, patch, l)
	case Merge:
		out, err = jsonpatch.MergePatch(doc, patch)
		if err != nil {
			err = mergeError(err)
		}
	case Strategic:
		out, err = applyStrategic(doc, patch, schema, l)
	}
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > l.MaxBytes {
		return nil, tooLarge(l.MaxBytes)
	}
	return out, nil
}

// Unsupported is kube-apiserver's 415 for a patch type it does not
// apply, listing the accepted ones as its patch handler does.
func Unsupported() error { return apierrors.UnsupportedMediaType(Accepted...) }

// Accepted are the patch types, in the order kube-apiserver lists them
// (application/apply-patch+cbor only behind its CBORServingAndStorage
// feature gate, which Portico does not serve).
var Accepted = []string{JSON, Merge, Strategic, ApplyYAML}

func applyJSON(doc, patch []byte, l Limits) ([]byte, error) {
	// Not a JSON array of objects is 400; an array whose operations do
	// not validate (an unknown op, a missing value) is 422, as
	// kube-apiserver answers when it applies them.
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, apierrors.BadRequest(fmt.Sprintf("the JSON patch is not an array of operations: %v", err))
	}
	if len(ops) > l.MaxOperations {
		return nil, apierrors.New(apierrors.ReasonRequestEntityTooLarge,
			fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", l.MaxOperations, len(ops)), apierrors.Details{})
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, invalid(err)
	}
	opts := jsonpatch.NewApplyOptions()
	opts.AccumulatedCopySizeLimit = l.MaxBytes
	out, err := p.ApplyWithOptions(doc, opts)
	if err != nil {
		var copyErr *jsonpatch.AccumulatedCopySizeError
		if errors.As(err, &copyErr) {
			return nil, tooLarge(l.MaxBytes)
		}
		// kube-apiserver: a patch that decodes but cannot be applied
		// (an unknown op, a missing path, a failed test) is 422.
		return nil, invalid(err)
	}
	return out, nil
}

func mergeError(err error) error {
	if errors.Is(err, jsonpatch.ErrBadJSONPatch) || errors.Is(err, jsonpatch.ErrBadJSONDoc) {
		return apierrors.BadRequest(err.Error())
	}
	return invalid(err)
}

// applyStrategic parses both documents once: the same maps are measured
// by mergeWork and merged, as strategicpatch.StrategicMergePatch would
// parse them (k8s.io/apimachinery's json, numbers as int64 or float64).
func applyStrategic(doc, patch []byte, schema any, l Limits) ([]byte, error) {
	var p any
	if err := utiljson.Unmarshal(patch, &p); err != nil {
		return nil, apierrors.BadRequest(fmt.Sprintf("the patch is not valid JSON: %v", err))
	}
	patchMap, ok := p.(map[string]any)
	if !ok {
		return nil, strategicError(mergepatch.ErrBadJSONDoc)
	}
	docMap := map[string]any{}
	if err := utiljson.Unmarshal(doc, &docMap); err != nil {
		return nil, strategicError(mergepatch.ErrBadJSONDoc)
	}
	if work := mergeWork(docMap, patchMap); work > l.MaxMergeWork {
		return nil, apierrors.New(apierrors.ReasonRequestEntityTooLarge,
			fmt.Sprintf("the strategic merge patch would compare %d list elements, more than the limit of %d: send a smaller patch or a JSON or merge patch", work, l.MaxMergeWork),
			apierrors.Details{})
	}
	merged, err := strategicpatch.StrategicMergeMapPatch(docMap, patchMap, schema)
	if err != nil {
		return nil, strategicError(err)
	}
	return utiljson.Marshal(merged)
}

// strategicError words a strategic merge failure as kube-apiserver's
// interpretStrategicMergePatchError: a malformed patch is 400, one that
// does not fit the object 422.
func strategicError(err error) error {
	switch {
	case errors.Is(err, mergepatch.ErrBadJSONDoc),
		errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
		errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys),
		errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
		errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat):
		return apierrors.BadRequest(err.Error())
	}
	return invalid(err)
}

func invalid(err error) error {
	return apierrors.New(apierrors.ReasonInvalid, fmt.Sprintf("the patch could not be applied: %v", err), apierrors.Details{})
}

func tooLarge(limit int64) error {
	return apierrors.New(apierrors.ReasonRequestEntityTooLarge,
		fmt.Sprintf("Request entity too large: limit is %d", limit), apierrors.Details{})
}
