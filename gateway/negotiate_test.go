package gateway

import (
	"testing"

	"github.com/portico-dev/portico/internal/requestinfo"
	"github.com/portico-dev/portico/internal/resources"
)

func TestNegotiate(t *testing.T) {
	const (
		kubectlGet   = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
		metadataGet  = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
		metadataList = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
	)
	tests := map[string]struct {
		accept []string
		want   output
		ok     bool
	}{
		"no accept header":        {accept: nil, ok: true},
		"empty accept header":     {accept: []string{""}, ok: true},
		"plain json":              {accept: []string{"application/json"}, ok: true},
		"anything":                {accept: []string{"*/*"}, ok: true},
		"protobuf, answered json": {accept: []string{"application/vnd.kubernetes.protobuf,application/json"}, ok: true},
		"kubectl get":             {accept: []string{kubectlGet}, want: output{as: asTable}, ok: true},
		"table v1beta1":           {accept: []string{"application/json;as=Table;v=v1beta1;g=meta.k8s.io"}, want: output{as: asTable}, ok: true},
		"json first":              {accept: []string{"application/json, application/json;as=Table;v=v1;g=meta.k8s.io"}, ok: true},
		"metadata client get":     {accept: []string{metadataGet}, want: output{as: asPartial, protobuf: true}, ok: true},
		"metadata client list":    {accept: []string{metadataList}, want: output{as: asPartialList, protobuf: true}, ok: true},
		"metadata json":           {accept: []string{"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"}, want: output{as: asPartial}, ok: true},
		"unknown as, then json":   {accept: []string{"application/json;as=Foo;g=meta.k8s.io;v=v1, application/json"}, ok: true},
		"several headers":         {accept: []string{"application/json;as=Foo;g=meta.k8s.io;v=v1", "application/json;as=Table;g=meta.k8s.io;v=v1"}, want: output{as: asTable}, ok: true},
		"by preference":           {accept: []string{"application/json;q=0.5, application/json;as=Table;g=meta.k8s.io;v=v1"}, want: output{as: asTable}, ok: true},
		"q=0 is refused":          {accept: []string{"application/json;as=Table;g=meta.k8s.io;v=v1;q=0, application/json"}, ok: true},
		"unknown as only":         {accept: []string{"application/json;as=Foo;g=meta.k8s.io;v=v1"}},
		"other group":             {accept: []string{"application/json;as=Table;v=v1;g=example.com"}},
		"metadata v1beta1":        {accept: []string{"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1"}},
		"table in protobuf":       {accept: []string{"application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1"}},
		"yaml":                    {accept: []string{"application/yaml"}},
		"html":                    {accept: []string{"text/html"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := negotiate(tc.accept)
			if got != tc.want || ok != tc.ok {
				t.Errorf("negotiate(%q) = %+v, %v; want %+v, %v", tc.accept, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPartialMismatch(t *testing.T) {
	cm := resources.Resource{Kind: "ConfigMap", ListKind: "ConfigMapList"}
	tests := map[string]struct {
		as, verb string
		want     string
	}{
		"get":              {as: asPartial, verb: "get"},
		"watch":            {as: asPartial, verb: "watch"},
		"patch":            {as: asPartial, verb: "patch"},
		"list":             {as: asPartialList, verb: "list"},
		"list as object":   {as: asPartial, verb: "list", want: "you requested PartialObjectMetadata, but the requested object is a list (*v1.ConfigMapList)"},
		"get as list":      {as: asPartialList, verb: "get", want: "you requested PartialObjectMetadataList, but the requested object is not a list (*v1.ConfigMap)"},
		"deletecollection": {as: asPartialList, verb: "deletecollection"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := partialMismatch(tc.as, requestinfo.Info{Verb: tc.verb}, cm); got != tc.want {
				t.Errorf("partialMismatch = %q, want %q", got, tc.want)
			}
		})
	}
}
