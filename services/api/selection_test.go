package api

import "testing"

// TestSelectorsMatches: an object is selected by its labels and, only
// when there is a field selector, by its fields, which are not worked out
// otherwise.
func TestSelectorsMatches(t *testing.T) {
	known := map[string]string{"metadata.name": "", "status.phase": ""}
	obj := map[string]string{"app": "web"}
	fieldsOf := map[string]string{"metadata.name": "a", "status.phase": "Running"}
	tests := []struct {
		name            string
		labels, fields  string
		want            bool
		wantFieldsAsked bool
	}{
		{"everything", "", "", true, false},
		{"labels match", "app=web", "", true, false},
		{"labels do not", "app=db", "", false, false},
		{"fields match", "", "status.phase=Running", true, true},
		{"fields do not", "", "metadata.name=b", false, true},
		{"labels fail first", "app=db", "metadata.name=a", false, false},
		{"both match", "app", "metadata.name=a,status.phase!=Failed", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := parseSelectors(tc.labels, tc.fields, known)
			if err != nil {
				t.Fatal(err)
			}
			asked := false
			got := sel.matches(obj, func() map[string]string { asked = true; return fieldsOf })
			if got != tc.want || asked != tc.wantFieldsAsked {
				t.Fatalf("matches = %v (fields asked: %v), want %v (%v)", got, asked, tc.want, tc.wantFieldsAsked)
			}
		})
	}
}
