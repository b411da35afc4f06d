package main

import (
	"bytes"
	"fmt"
	"go/format"
	"sort"
	"strings"
)

// The OpenAPI documents' descriptions (kubectl explain prints them) are
// the k8s.io types' doc comments, which the compiled descriptors do not
// keep: descriptionsGo writes them into internal/resources as a table
// keyed by proto full name, formatted as kube-openapi's openapi-gen
// formats them.

// openAPIDescription is openapi-gen's description of a comment
// (generateDescription in k8s.io/kube-openapi/pkg/generators): lines
// joined with spaces, blank lines kept as paragraph breaks, indented
// lines on lines of their own, generator markers (+...) and one-line TODOs
// dropped, nothing after "---".
func openAPIDescription(lines []string) string {
	var b strings.Builder
	dropLast := func() {
		if s := b.String(); len(s) > 0 {
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
	}
	for _, line := range lines {
		if line == "---" {
			break
		}
		line = strings.TrimRight(line, " ")
		leading := strings.TrimLeft(line, " ")
		switch {
		case line == "":
			dropLast()
			b.WriteString("\n\n")
		case strings.HasPrefix(leading, "TODO"), strings.HasPrefix(leading, "+"):
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			dropLast()
			b.WriteString("\n" + line + "\n")
		default:
			b.WriteString(line + " ")
		}
	}
	return strings.TrimSpace(b.String())
}

// descriptionsGo writes internal/resources/zz_descriptions.go: every
// generated message and field, and each kind's list (the List RPC's
// response, which the documents name <Kind>List).
func descriptionsGo(m *model, svcs []*serviceDef) ([]byte, error) {
	docs := map[string]string{}
	add := func(key string, lines []string) {
		if d := openAPIDescription(lines); d != "" {
			docs[key] = d
		}
	}
	for _, name := range m.sortedNames() {
		msg := m.messages[name]
		add(msg.FullName(), msg.K8s.Comment)
		for _, f := range msg.Fields {
			add(msg.FullName()+"."+f.Name, f.K8s.Comment)
		}
	}
	if t, ok := m.k8s[k8sTime]; ok {
		add(timestampType, t.Comment)
	}
	for _, s := range svcs {
		list, ok := m.k8s[goProtoName(s.Kind.List)]
		if !ok {
			return nil, fmt.Errorf("descriptions: no %s in the k8s protos", goProtoName(s.Kind.List))
		}
		resp := s.Kind.Pkg.Proto + ".List" + s.Kind.PluralKind + "Response"
		add(resp, list.Comment)
		for _, f := range list.Fields {
			add(resp+"."+snakeCase(f.Name), f.Comment)
		}
	}
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString(`
package resources

import "google.golang.org/protobuf/reflect/protoreflect"

// Descriptions returns the OpenAPI description of each generated message
// ("portico.core.v1.PodSpec") and field ("portico.core.v1.PodSpec.containers",
// by proto name), and of each kind's List response, as kube-apiserver's
// OpenAPI has them: the k8s.io types' doc comments, formatted as
// openapi-gen does. google.protobuf.Timestamp has meta/v1 Time's.
func Descriptions() map[protoreflect.FullName]string {
	out := make(map[protoreflect.FullName]string, len(descriptions))
	for _, d := range descriptions {
		out[d.name] = d.text
	}
	return out
}

// descriptions are pairs of name and description, sorted by name.
var descriptions = [...]struct {
	name protoreflect.FullName
	text string
}{
`)
	for _, k := range keys {
		fmt.Fprintf(&b, "\t{%q, %q},\n", k, docs[k])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
