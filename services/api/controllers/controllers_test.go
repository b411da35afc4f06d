package controllers

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		list    []string
		want    []string
		wantErr string
	}{
		"default":       {All(), []string{GarbageCollector, Namespace}, ""},
		"empty":         {nil, nil, ""},
		"empty string":  {[]string{""}, nil, ""},
		"one":           {[]string{"namespace"}, []string{Namespace}, ""},
		"kube names":    {[]string{"garbage-collector-controller", "namespace-controller"}, []string{GarbageCollector, Namespace}, ""},
		"all but one":   {[]string{"*", "-garbagecollector"}, []string{Namespace}, ""},
		"kube negation": {[]string{"*", "-namespace-controller"}, []string{GarbageCollector}, ""},
		"unknown":       {[]string{"replicaset"}, nil, `unknown controller "replicaset"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.list)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tc.want) {
				t.Errorf("Parse(%q) = %q, want %q", tc.list, names, tc.want)
			}
		})
	}
}
