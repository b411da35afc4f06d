package patch

import (
	"fmt"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/portico-dev/portico/internal/apierrors"
)

// DecodeApply reads a server-side apply patch (application/apply-patch+yaml:
// YAML, or JSON, which is YAML) into a JSON object, as kube-apiserver's
// yaml.Unmarshal does, with its work bounded: the patch's size, aliases
// expanding past a small multiple of the document (the YAML parser refuses
// a "billion laughs"), its nesting (the parser stops at 10000 levels, this
// at MaxDepth), and the size of the JSON it expands to. Numbers that are
// integers decode as int64, as in an unstructured object. Errors are 400
// (413 past a size bound), in kube-apiserver's words: "error decoding
// patch: " and sigs.k8s.io/yaml.Unmarshal's error.
func DecodeApply(data []byte, l Limits) (map[string]any, error) {
	l = l.withDefaults()
	if int64(len(data)) > l.MaxBytes {
		return nil, tooLarge(l.MaxBytes)
	}
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, decodeError("error converting YAML to JSON: %v", err)
	}
	if int64(len(j)) > l.MaxBytes {
		return nil, tooLarge(l.MaxBytes)
	}
	if err := checkDepth(j, l.MaxDepth); err != nil {
		return nil, decodeError("%v", err)
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(j, &obj); err != nil {
		return nil, decodeError("error unmarshaling JSON: while decoding JSON: %v", err)
	}
	if obj == nil {
		obj = map[string]any{}
	}
	return obj, nil
}

// decodeError is a 400 for an apply patch that does not decode.
func decodeError(format string, err error) error {
	return apierrors.BadRequest("error decoding patch: " + fmt.Sprintf(format, err))
}

// StrictApply is the problem fieldValidation=Strict refuses (and Warn
// answers as a warning) in an apply patch, kube-apiserver's
// yaml.UnmarshalStrict: a duplicate field; "" when there is none. Call it
// after DecodeApply, which bounds the work.
func StrictApply(data []byte) string {
	if err := yaml.UnmarshalStrict(data, &map[string]any{}); err != nil {
		return err.Error()
	}
	return ""
}
