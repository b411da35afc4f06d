// Package requestinfo turns a REST request into what authorization sees:
// a resource request (verb, API group, version, resource, subresource,
// namespace, name) or a non-resource request (verb and path), by
// kube-apiserver's RequestInfo rules
// (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go).
//
// A path that could be read two ways is refused rather than guessed at:
// "." and ".." segments, empty segments ("//") and escaped slashes
// ("%2F") never reach a router, so no router can act on other attributes
// than the ones authorized.
package requestinfo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/fields"

	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// Info is one request as authorization sees it.
type Info struct {
	// ResourceRequest is false for a non-resource path (/healthz, /api).
	ResourceRequest bool
	// Path is the request's path (decoded), for non-resource requests.
	Path string
	// Verb is get, list, watch, create, update, patch, delete,
	// deletecollection or proxy for resources; the lower-case HTTP method
	// otherwise.
	Verb string

	APIPrefix   string // "api" or "apis"
	APIGroup    string // "" for the core group
	APIVersion  string
	Namespace   string
	Resource    string
	Subresource string
	Name        string
	// Parts are the path segments after the namespace, starting with the
	// resource.
	Parts []string

	// FieldSelector and LabelSelector are the list's or watch's selectors.
	FieldSelector, LabelSelector string
}

// ErrBadPath is wrapped by every refusal of a path.
var ErrBadPath = errors.New("the request path is not canonical")

// Prefixes of resource paths: "api" is the groupless core group.
var (
	apiPrefixes       = map[string]bool{"api": true, "apis": true}
	grouplessPrefixes = map[string]bool{"api": true}
	// specialVerbs take the segment after the version as the verb.
	specialVerbs = map[string]bool{"proxy": true, "watch": true}
	// namespaceSubresources are read as subresources of a namespace, not
	// as resources in it.
	namespaceSubresources = map[string]bool{"status": true, "finalize": true}
)

// Parse reads a request's method and URL.
func Parse(method string, u *url.URL) (Info, error) {
	info := Info{Path: u.Path, Verb: strings.ToLower(method)}
	parts, err := split(u)
	if err != nil {
		return info, err
	}
	if len(parts) < 3 || !apiPrefixes[parts[0]] {
		return info, nil
	}
	info.APIPrefix = parts[0]
	parts = parts[1:]
	if !grouplessPrefixes[info.APIPrefix] {
		if len(parts) < 3 {
			return info, nil
		}
		info.APIGroup = parts[0]
		parts = parts[1:]
	}
	info.ResourceRequest = true
	info.APIVersion = parts[0]
	parts = parts[1:]

	if specialVerbs[parts[0]] {
		if len(parts) < 2 {
			return info, fmt.Errorf("unable to determine kind and namespace from url, %v", u)
		}
		info.Verb = parts[0]
		parts = parts[1:]
	} else {
		info.Verb = verbOf(method)
	}

	if parts[0] == "namespaces" {
		if len(parts) > 1 {
			info.Namespace = parts[1]
			if len(parts) > 2 && !namespaceSubresources[parts[2]] {
				parts = parts[2:]
			}
		}
	}
	info.Parts = parts
	switch {
	case len(parts) >= 3 && info.Verb != "proxy":
		info.Subresource = parts[2]
		info.Name = parts[1]
	case len(parts) >= 2:
		info.Name = parts[1]
	}
	info.Resource = parts[0]

	q := u.Query()
	if info.Name == "" && info.Verb == "get" {
		info.Verb = "list"
		if WatchRequested(q) {
			info.Verb = "watch"
		}
	}
	if info.Verb == "list" || info.Verb == "watch" {
		info.FieldSelector = q.Get("fieldSelector")
		info.LabelSelector = q.Get("labelSelector")
		if info.Name == "" {
			info.Name = NameFromFieldSelector(info.FieldSelector)
		}
	}
	if info.Name == "" && info.Verb == "delete" {
		info.Verb = "deletecollection"
	}
	return info, nil
}

// verbOf is the resource verb of an HTTP method.
func verbOf(method string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return ""
}

// WatchRequested is kube-apiserver's reading of ?watch: present, and its
// first value neither "0" nor "false" (any case). "?watch" alone and
// "?watch=yes" are watches.
func WatchRequested(q url.Values) bool {
	v, ok := q["watch"]
	if !ok || len(v) == 0 {
		return false
	}
	return v[0] != "0" && !strings.EqualFold(v[0], "false")
}

// NameFromFieldSelector is the name a list or watch is limited to by
// fieldSelector=metadata.name=<name>, or "" when it is not limited to one
// valid name.
func NameFromFieldSelector(sel string) string {
	if sel == "" || len(sel) > maxSelectorBytes {
		return ""
	}
	s, err := fields.ParseSelector(sel)
	if err != nil {
		return ""
	}
	name, ok := s.RequiresExactMatch("metadata.name")
	if !ok || validSegment(name) != nil {
		return ""
	}
	return name
}

// maxSelectorBytes bounds the selectors this package parses.
const maxSelectorBytes = 8 << 10

// split returns the path's segments, refusing every path that two readers
// could split differently. A trailing slash is dropped, as kube-apiserver
// does.
func split(u *url.URL) ([]string, error) {
	p := u.Path
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("%w: %q does not start with /", ErrBadPath, p)
	}
	if raw := u.RawPath; raw != "" && strings.Contains(strings.ToLower(raw), "%2f") {
		return nil, fmt.Errorf("%w: %q has an escaped slash", ErrBadPath, raw)
	}
	trimmed := strings.TrimSuffix(p[1:], "/")
	if trimmed == "" {
		return nil, nil
	}
	parts := strings.Split(trimmed, "/")
	for _, s := range parts {
		if err := validSegment(s); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadPath, p, err)
		}
	}
	return parts, nil
}

// validSegment is kube-apiserver's path.IsValidPathSegmentName, plus
// empty segments and control characters.
func validSegment(s string) error {
	switch s {
	case "":
		return errors.New("empty segment")
	case ".", "..":
		return fmt.Errorf("segment may not be %q", s)
	}
	if strings.ContainsAny(s, "/%") {
		return errors.New("segment may not contain '/' or '%'")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return errors.New("segment may not contain control characters")
		}
	}
	return nil
}

// Attributes are the authorization attributes of the request.
func (i Info) Attributes() *authzv1.Attributes {
	a := &authzv1.Attributes{Verb: i.Verb, ResourceRequest: i.ResourceRequest}
	if !i.ResourceRequest {
		a.Path = i.Path
		return a
	}
	a.ApiGroup, a.ApiVersion = i.APIGroup, i.APIVersion
	a.Resource, a.Subresource = i.Resource, i.Subresource
	a.Namespace, a.Name = i.Namespace, i.Name
	a.FieldSelector, a.LabelSelector = i.FieldSelector, i.LabelSelector
	return a
}
