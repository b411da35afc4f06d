package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// k8sFile is one generated.proto of k8s.io/api or k8s.io/apimachinery, as
// go-to-protobuf writes them: proto2, one level of messages, fields that are
// "optional", "repeated" or "map<,>", no enums, options or nesting.
type k8sFile struct {
	Path     string
	Package  string
	Messages []*k8sMessage
}

type k8sMessage struct {
	FullName string // k8s.io.api.core.v1.Pod
	Name     string // Pod
	Comment  []string
	Fields   []*k8sField
}

type k8sField struct {
	Name    string // the k8s (JSON) name: podIP
	Number  int
	Label   string // optional, repeated or map
	Type    string // scalar name or message full name (no leading dot); map value for maps
	KeyType string // maps only
	Comment []string
}

var (
	fieldRe = regexp.MustCompile(`^  (optional|repeated) ([.A-Za-z0-9_]+) ([A-Za-z0-9_]+) = ([0-9]+);$`)
	mapRe   = regexp.MustCompile(`^  map<([.A-Za-z0-9_]+), ([.A-Za-z0-9_]+)> ([A-Za-z0-9_]+) = ([0-9]+);$`)
	msgRe   = regexp.MustCompile(`^message ([A-Za-z0-9_]+) \{$`)
)

var scalarTypes = map[string]bool{
	"double": true, "float": true, "int32": true, "int64": true, "uint32": true, "uint64": true,
	"sint32": true, "sint64": true, "fixed32": true, "fixed64": true, "sfixed32": true, "sfixed64": true,
	"bool": true, "string": true, "bytes": true,
}

// parseK8sProto reads a go-to-protobuf generated.proto. Anything it does not
// recognise is an error, so a format change upstream fails generation
// instead of silently dropping fields.
func parseK8sProto(path string) (*k8sFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &k8sFile{Path: path}
	var (
		comment []string
		msg     *k8sMessage
		inBlock bool
	)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	resolve := func(t string) string {
		if scalarTypes[t] {
			return t
		}
		if strings.HasPrefix(t, ".") {
			return t[1:]
		}
		return f.Package + "." + t
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		trim := strings.TrimSpace(text)
		switch {
		case inBlock:
			if strings.Contains(trim, "*/") {
				inBlock = false
			}
			continue
		case strings.HasPrefix(trim, "/*"):
			inBlock = !strings.Contains(trim, "*/")
			continue
		case strings.HasPrefix(trim, "//"):
			c := strings.TrimPrefix(trim, "//")
			c = strings.TrimPrefix(c, " ")
			comment = append(comment, c)
			continue
		case trim == "":
			comment = nil
			continue
		}
		if msg == nil {
			switch {
			case strings.HasPrefix(trim, "syntax "), strings.HasPrefix(trim, "import "), strings.HasPrefix(trim, "option "):
			case strings.HasPrefix(trim, "package "):
				f.Package = strings.TrimSuffix(strings.TrimPrefix(trim, "package "), ";")
			default:
				m := msgRe.FindStringSubmatch(text)
				if m == nil {
					return nil, fail("unexpected line %q", text)
				}
				if f.Package == "" {
					return nil, fail("message before package")
				}
				msg = &k8sMessage{Name: m[1], FullName: f.Package + "." + m[1], Comment: comment}
			}
			comment = nil
			continue
		}
		if text == "}" {
			f.Messages = append(f.Messages, msg)
			msg, comment = nil, nil
			continue
		}
		var fd *k8sField
		if m := fieldRe.FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[4])
			fd = &k8sField{Label: m[1], Type: resolve(m[2]), Name: m[3], Number: n}
		} else if m := mapRe.FindStringSubmatch(text); m != nil {
			n, _ := strconv.Atoi(m[4])
			fd = &k8sField{Label: "map", KeyType: resolve(m[1]), Type: resolve(m[2]), Name: m[3], Number: n}
		} else {
			return nil, fail("unexpected line in message %s: %q", msg.Name, text)
		}
		fd.Comment = comment
		comment = nil
		msg.Fields = append(msg.Fields, fd)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if msg != nil || inBlock {
		return nil, fail("unexpected end of file")
	}
	return f, nil
}

// docComment is the first paragraph of a k8s comment, without the
// +marker lines (+optional, +listType=...) that go-to-protobuf keeps.
func docComment(lines []string) []string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "+") {
			continue
		}
		if t == "---" {
			// openapi-gen's end of the public doc
			break
		}
		if t == "" {
			if len(out) > 0 {
				break
			}
			continue
		}
		out = append(out, strings.TrimRight(l, " \t"))
	}
	return out
}
