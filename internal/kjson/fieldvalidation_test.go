package kjson

import "testing"

func TestParseFieldValidation(t *testing.T) {
	tests := map[string]struct {
		in, want string
		ok       bool
	}{
		"empty is Warn": {"", FieldValidationWarn, true},
		"Strict":        {"Strict", FieldValidationStrict, true},
		"Warn":          {"Warn", FieldValidationWarn, true},
		"Ignore":        {"Ignore", FieldValidationIgnore, true},
		"lower case":    {"strict", "", false},
		"unknown":       {"Loose", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseFieldValidation(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseFieldValidation(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && err.Error() != `invalid fieldValidation parameter "`+tc.in+`": expected one of Ignore, Warn, Strict` {
				t.Fatalf("message %q", err)
			}
		})
	}
}
