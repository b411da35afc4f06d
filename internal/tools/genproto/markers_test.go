package main

import (
	"reflect"
	"testing"
)

func TestReadMarkers(t *testing.T) {
	tests := map[string]struct {
		comment []string
		want    fieldMarkers
	}{
		"none": {[]string{"containers is a list.", "+optional"}, fieldMarkers{}},
		"map with two keys and a patch strategy": {
			[]string{"+patchMergeKey=containerPort", "+patchStrategy=merge", "+listType=map", "+listMapKey=containerPort", "+listMapKey=protocol"},
			fieldMarkers{ListType: "map", ListMapKeys: []string{"containerPort", "protocol"}, PatchStrategy: "merge", PatchMergeKey: "containerPort"},
		},
		"the plain marker wins over its +k8s twin": {
			[]string{"+listType=set", "+k8s:listType=map", "+k8s:listMapKey=name"},
			fieldMarkers{ListType: "set", ListMapKeys: []string{"name"}},
		},
		"a +k8s marker alone counts": {
			[]string{"+patchStrategy=merge", "+listMapKey=reason", "+k8s:listType=map", "+k8s:listMapKey=reason"},
			fieldMarkers{ListType: "map", ListMapKeys: []string{"reason"}, PatchStrategy: "merge"},
		},
		"a JSON default, not a ref(...) one": {
			[]string{`+default="TCP"`, "+default=ref(AzureSharedBlobDisk)"},
			fieldMarkers{Default: `"TCP"`},
		},
		"other markers and prose are ignored": {
			[]string{"  +mapType=atomic", "+k8s:maxItems=10", "a + b = c", "+structType=atomic"},
			fieldMarkers{MapType: "atomic", StructType: "atomic"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := readMarkers(tc.comment); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("readMarkers = %+v, want %+v", got, tc.want)
			}
		})
	}
}
