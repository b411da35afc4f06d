package main

import "testing"

func TestOpenAPIDescription(t *testing.T) {
	tests := map[string]struct {
		lines []string
		want  string
	}{
		"joined":    {[]string{"List of containers belonging to the pod.", "Cannot be updated."}, "List of containers belonging to the pod. Cannot be updated."},
		"markers":   {[]string{"Name of the port.", "+optional", "+listType=map"}, "Name of the port."},
		"paragraph": {[]string{"First.", "", "Second."}, "First.\n\nSecond."},
		"indented":  {[]string{"Values:", " - a", " - b", "End."}, "Values:\n - a\n - b\nEnd."},
		"todo":      {[]string{"Kept.", "TODO: dropped", "Also kept."}, "Kept. Also kept."},
		"private":   {[]string{"Public.", "---", "Private."}, "Public."},
		"empty":     {[]string{"+k8s:deepcopy-gen=true"}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := openAPIDescription(tc.lines); got != tc.want {
				t.Errorf("openAPIDescription = %q, want %q", got, tc.want)
			}
		})
	}
}
