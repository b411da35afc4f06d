// Package abac is the ABAC authorization mode: a file of JSON lines
// (--authorization-policy-file), each a policy that allows a subject some
// resources or non-resource paths, as kube-apiserver's ABAC mode reads it
// (pkg/auth/authorizer/abac, pkg/apis/abac/{v0,v1beta1}). ABAC never
// denies: a request no line matches gets no opinion.
package abac

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/portico-dev/portico/internal/identity"
)

// Versions of a policy line.
const (
	// APIVersion is the versioned form's apiVersion (with kind Policy).
	APIVersion = "abac.authorization.kubernetes.io/v1beta1"
	// APIVersionV0 names the unversioned form explicitly.
	APIVersionV0 = "abac.authorization.kubernetes.io/v0"
	kindPolicy   = "Policy"
)

// Policy is one line, converted: the v1beta1 spec after kube-apiserver's
// conversion rules ("*" subjects become system:authenticated, the
// unversioned form's empty fields become wildcards).
type Policy struct {
	User            string `json:"user,omitempty"`
	Group           string `json:"group,omitempty"`
	Readonly        bool   `json:"readonly,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	NonResourcePath string `json:"nonResourcePath,omitempty"`
}

// List is a parsed policy file, in file order.
type List []Policy

// ParseResult is a parsed file and what is worth a warning.
type ParseResult struct {
	Policies List
	// Unversioned counts lines in the unversioned (v0) form.
	Unversioned int
}

// MaxLineBytes bounds one line, as kube-apiserver's bufio.Scanner does.
const MaxLineBytes = bufio.MaxScanTokenSize

// Parse reads a policy file: one JSON object per line; blank lines and
// lines starting with # are skipped. name is used in errors, which name
// the line: "<name>, line <n>: <text>: <why>".
func Parse(r io.Reader, name string) (ParseResult, error) {
	var out ParseResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		p, unversioned, err := parseLine(trimmed)
		if err != nil {
			return ParseResult{}, fmt.Errorf("policy file %s, line %d: %s: %w", name, n, quoteLine(trimmed), err)
		}
		if unversioned {
			out.Unversioned++
		}
		out.Policies = append(out.Policies, p)
	}
	if err := sc.Err(); err != nil {
		return ParseResult{}, fmt.Errorf("policy file %s, line %d: %w", name, n+1, err)
	}
	return out, nil
}

// quoteLine shortens a line for an error message.
func quoteLine(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// typeMeta is what tells the two forms apart.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// v1beta1 is abac.authorization.kubernetes.io/v1beta1 Policy.
type v1beta1 struct {
	typeMeta
	Spec *Policy `json:"spec"`
}

// v0 is the unversioned policy: a flat object with no apiGroup and no
// nonResourcePath.
type v0 struct {
	typeMeta
	User      string `json:"user"`
	Group     string `json:"group"`
	Readonly  bool   `json:"readonly"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace"`
}

func parseLine(b []byte) (Policy, bool, error) {
	if b[0] != '{' {
		return Policy{}, false, errors.New("not a JSON object")
	}
	var tm typeMeta
	if err := json.Unmarshal(b, &tm); err != nil {
		return Policy{}, false, fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case tm.APIVersion == APIVersion && tm.Kind == kindPolicy:
		var p v1beta1
		if err := strictUnmarshal(b, &p); err != nil {
			return Policy{}, false, err
		}
		if p.Spec == nil {
			return Policy{}, false, errors.New("spec is required")
		}
		return fromV1beta1(*p.Spec), false, nil
	case tm.APIVersion == "" && tm.Kind == "", tm.APIVersion == APIVersionV0 && tm.Kind == kindPolicy:
		var p v0
		if err := strictUnmarshal(b, &p); err != nil {
			return Policy{}, false, err
		}
		return fromV0(p), tm.APIVersion == "", nil
	}
	return Policy{}, false, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %q and kind %q, or neither", tm.APIVersion, tm.Kind, APIVersion, kindPolicy)
}

// strictUnmarshal refuses unknown fields: a misspelt "namespace" would
// otherwise widen an unversioned line to every namespace.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// fromV1beta1: a "*" user or group means every authenticated user.
func fromV1beta1(p Policy) Policy {
	if p.User == "*" || p.Group == "*" {
		p.Group, p.User = identity.GroupAuthenticated, ""
	}
	return p
}

// fromV0 is kube-apiserver's v0 conversion.
func fromV0(in v0) Policy {
	out := Policy{User: in.User, Group: in.Group, Readonly: in.Readonly, Resource: in.Resource, Namespace: in.Namespace}
	if in.User == "" && in.Group == "" {
		out.Group = identity.GroupAuthenticated
	}
	if in.User == "*" || in.Group == "*" {
		out.Group, out.User = identity.GroupAuthenticated, ""
	}
	if in.Namespace == "" {
		out.Namespace = "*"
	}
	if in.Resource == "" {
		out.Resource = "*"
	}
	out.APIGroup = "*"
	if in.Namespace == "" && in.Resource == "" {
		out.NonResourcePath = "*"
	}
	return out
}

// MarshalLine writes p as a v1beta1 line that parses back to p.
func (p Policy) MarshalLine() ([]byte, error) {
	return json.Marshal(v1beta1{typeMeta: typeMeta{APIVersion: APIVersion, Kind: kindPolicy}, Spec: &p})
}

// subjectMatches: a set user must be the user, a set group one of the
// user's groups; a line with neither matches nobody.
func (p Policy) subjectMatches(user string, groups []string) bool {
	matched := false
	if p.User != "" {
		if p.User != "*" && p.User != user {
			return false
		}
		matched = true
	}
	if p.Group != "" {
		if p.Group != "*" && !contains(groups, p.Group) {
			return false
		}
		matched = true
	}
	return matched
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// readOnly are the verbs every line allows; a readonly line allows only
// them.
func readOnly(verb string) bool {
	return verb == "get" || verb == "list" || verb == "watch"
}

func (p Policy) resourceMatches(group, resource, namespace string) bool {
	return (p.Namespace == "*" || p.Namespace == namespace) &&
		(p.Resource == "*" || p.Resource == resource) &&
		(p.APIGroup == "*" || p.APIGroup == group)
}

// nonResourceMatches: "*" is every path, "/foo/*" every path under /foo/
// (not /foo itself), anything else one exact path.
func (p Policy) nonResourceMatches(path string) bool {
	switch {
	case p.NonResourcePath == "":
		return false
	case p.NonResourcePath == "*", p.NonResourcePath == path:
		return true
	case strings.HasSuffix(p.NonResourcePath, "*"):
		return strings.HasPrefix(path, strings.TrimRight(p.NonResourcePath, "*"))
	}
	return false
}
