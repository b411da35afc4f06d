package requestinfo

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/requestinfo/requestinfotest"
)

// TestSharedCases is the REST half of the table services/api also runs on
// its gRPC methods.
func TestSharedCases(t *testing.T) {
	for name, tc := range requestinfotest.Cases {
		t.Run(name, func(t *testing.T) {
			u, err := url.ParseRequestURI(tc.URL)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Parse(tc.Method, u)
			if err != nil {
				t.Fatalf("Parse(%s %s): %v", tc.Method, tc.URL, err)
			}
			if got := info.Attributes(); !proto.Equal(got, tc.Want) {
				t.Errorf("Parse(%s %s)\n got %v\nwant %v", tc.Method, tc.URL, got, tc.Want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := map[string]struct {
		method, url string
		want        Info
	}{
		"proxy keeps the rest as parts": {"GET", "/api/v1/proxy/namespaces/ns/pods/web/a/b",
			Info{ResourceRequest: true, Verb: "proxy", APIPrefix: "api", APIVersion: "v1", Namespace: "ns", Resource: "pods", Name: "web", Parts: []string{"pods", "web", "a", "b"}}},
		"legacy watch of one object": {"GET", "/api/v1/watch/namespaces/ns/configmaps/app",
			Info{ResourceRequest: true, Verb: "watch", APIPrefix: "api", APIVersion: "v1", Namespace: "ns", Resource: "configmaps", Name: "app", Parts: []string{"configmaps", "app"}}},
		"watch with no value is a watch": {"GET", "/api/v1/pods?watch",
			Info{ResourceRequest: true, Verb: "watch", APIPrefix: "api", APIVersion: "v1", Resource: "pods", Parts: []string{"pods"}}},
		"watch=FALSE is a list": {"GET", "/api/v1/pods?watch=FALSE",
			Info{ResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "pods", Parts: []string{"pods"}}},
		"trailing slash is dropped": {"GET", "/api/v1/namespaces/ns/pods/",
			Info{ResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Namespace: "ns", Resource: "pods", Parts: []string{"pods"}}},
		"extra segments are ignored": {"GET", "/api/v1/namespaces/ns/pods/web/status/x",
			Info{ResourceRequest: true, Verb: "get", APIPrefix: "api", APIVersion: "v1", Namespace: "ns", Resource: "pods", Name: "web", Subresource: "status", Parts: []string{"pods", "web", "status", "x"}}},
		"unknown method has no verb": {"OPTIONS", "/api/v1/pods",
			Info{ResourceRequest: true, APIPrefix: "api", APIVersion: "v1", Resource: "pods", Parts: []string{"pods"}}},
		"invalid name in a field selector is not a name": {"GET", "/api/v1/pods?fieldSelector=metadata.name%3D..",
			Info{ResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "pods", Parts: []string{"pods"}, FieldSelector: "metadata.name=.."}},
		"two names in a field selector are not a name": {"GET", "/api/v1/pods?fieldSelector=metadata.name%3Da,metadata.name%3Db",
			Info{ResourceRequest: true, Verb: "list", APIPrefix: "api", APIVersion: "v1", Resource: "pods", Parts: []string{"pods"}, FieldSelector: "metadata.name=a,metadata.name=b", Name: "a"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u, err := url.ParseRequestURI(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(tc.method, u)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Path = u.Path
			if !equal(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func equal(a, b Info) bool {
	return a.ResourceRequest == b.ResourceRequest && a.Path == b.Path && a.Verb == b.Verb &&
		a.APIPrefix == b.APIPrefix && a.APIGroup == b.APIGroup && a.APIVersion == b.APIVersion &&
		a.Namespace == b.Namespace && a.Resource == b.Resource && a.Subresource == b.Subresource &&
		a.Name == b.Name && strings.Join(a.Parts, "/") == strings.Join(b.Parts, "/") &&
		a.FieldSelector == b.FieldSelector && a.LabelSelector == b.LabelSelector
}

// TestPathTricks: a path that a cleaning router, a decoding router and
// this parser could read differently is refused, never guessed at.
func TestPathTricks(t *testing.T) {
	tests := map[string]string{
		"dot dot into another namespace": "/api/v1/namespaces/demo/../kube-system/secrets",
		"dot dot as a name":              "/api/v1/namespaces/demo/secrets/..",
		"dot segment":                    "/api/v1/namespaces/./secrets",
		"escaped slash in a namespace":   "/api/v1/namespaces/kube-system%2Fsecrets%2Fx/configmaps",
		"escaped slash lower case":       "/api/v1/namespaces/demo/configmaps/a%2fb",
		"escaped dot dot":                "/api/v1/namespaces/demo/configmaps/%2E%2E",
		"double slash":                   "/api/v1/namespaces//secrets",
		"leading double slash":           "//api/v1/secrets",
		"escaped percent":                "/api/v1/namespaces/demo/configmaps/a%25b",
		"control character":              "/api/v1/namespaces/demo/configmaps/a%00b",
		"dot dot in a non-resource path": "/healthz/../api/v1/secrets",
		"watch with nothing after it":    "/api/v1/watch",
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			u, err := url.ParseRequestURI(p)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Parse("GET", u)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", p, info)
			}
			if name != "watch with nothing after it" && !errors.Is(err, ErrBadPath) {
				t.Errorf("error %v is not ErrBadPath", err)
			}
		})
	}
}

func TestNameFromFieldSelector(t *testing.T) {
	tests := map[string]string{
		"":                                "",
		"metadata.name=x":                 "x",
		"metadata.name==x":                "x",
		"metadata.name!=x":                "",
		"spec.nodeName=n,metadata.name=x": "x",
		"metadata.name=a/b":               "",
		"metadata.name=":                  "",
		"garbage(":                        "",
	}
	for sel, want := range tests {
		if got := NameFromFieldSelector(sel); got != want {
			t.Errorf("NameFromFieldSelector(%q) = %q, want %q", sel, got, want)
		}
	}
}

// FuzzParse: whatever the path, Parse does not panic; a path it accepts
// is already clean, so no router that cleans or decodes paths can reach
// another object than the one authorized; and no attribute holds a
// separator or a dot segment.
func FuzzParse(f *testing.F) {
	for _, tc := range requestinfotest.Cases {
		f.Add(tc.Method, tc.URL)
	}
	for _, s := range []string{"/api/v1/namespaces/a/../b/pods", "/api/v1/namespaces/a%2Fb/pods", "//api//v1", "/apis/g/v/watch/x", "/api/v1/proxy/nodes/n/x/../../y"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		info, err := Parse(method, u)
		if err != nil {
			return
		}
		if u.Path != "/" {
			clean := path.Clean(u.Path)
			if strings.TrimSuffix(u.Path, "/") != clean {
				t.Fatalf("accepted unclean path %q (clean %q)", u.Path, clean)
			}
		}
		if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
			t.Fatalf("accepted an escaped slash: %q", u.EscapedPath())
		}
		for _, v := range []string{info.APIGroup, info.APIVersion, info.Namespace, info.Resource, info.Subresource, info.Name} {
			if strings.Contains(v, "/") || v == "." || v == ".." {
				t.Fatalf("attribute %q from %q", v, raw)
			}
		}
		if info.ResourceRequest && info.Resource == "" {
			t.Fatalf("resource request with no resource: %q", raw)
		}
		again, err := Parse(method, u)
		if err != nil || !equal(info, again) {
			t.Fatalf("Parse is not deterministic on %q", raw)
		}
	})
}
