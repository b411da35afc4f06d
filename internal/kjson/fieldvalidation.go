package kjson

import "fmt"

// The values of kube-apiserver's ?fieldValidation: Strict refuses a body
// with unknown or duplicate fields, Warn (the default) accepts it with a
// warning per field, Ignore accepts it silently.
const (
	FieldValidationStrict = "Strict"
	FieldValidationWarn   = "Warn"
	FieldValidationIgnore = "Ignore"
)

// ParseFieldValidation reads a ?fieldValidation value (or a gRPC request's
// field_validation): empty is Warn; anything else unknown is an error in
// kube-apiserver's words.
func ParseFieldValidation(v string) (string, error) {
	switch v {
	case "":
		return FieldValidationWarn, nil
	case FieldValidationStrict, FieldValidationWarn, FieldValidationIgnore:
		return v, nil
	}
	return "", fmt.Errorf("invalid fieldValidation parameter %q: expected one of Ignore, Warn, Strict", v)
}
