package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// The OpenAPI v2 (Swagger 2.0) document kube-apiserver serves at
// /openapi/v2, for clients that predate v3: the same operations and
// schemas as the v3 documents, in one document, converted.

// V2 is the /openapi/v2 document in both of its encodings.
type V2 struct {
	JSON []byte
	// Protobuf is gnostic's openapi_v2.Document, what kubectl asks for
	// (application/com.github.proto-openapi.spec.v2@v1.0+protobuf).
	Protobuf []byte
}

// BuildV2 converts the v3 documents Build made into one v2 document.
func BuildV2(docs map[string]Document, title, version string) (V2, error) {
	paths := map[string]any{}
	definitions := map[string]any{}
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var d struct {
			Paths      map[string]map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(docs[n].JSON, &d); err != nil {
			return V2{}, fmt.Errorf("openapi v2 from %s: %w", n, err)
		}
		for p, item := range d.Paths {
			paths[p] = v2PathItem(item)
		}
		for name, s := range d.Components.Schemas {
			definitions[name] = v2Schema(s)
		}
	}
	doc := map[string]any{
		"swagger":     "2.0",
		"info":        map[string]string{"title": title, "version": version},
		"paths":       paths,
		"definitions": definitions,
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return V2{}, fmt.Errorf("openapi v2: %w", err)
	}
	js = []byte(strings.ReplaceAll(string(js), "#/components/schemas/", "#/definitions/"))
	parsed, err := openapiv2.ParseDocument(js)
	if err != nil {
		return V2{}, fmt.Errorf("openapi v2 does not parse: %w", err)
	}
	pb, err := proto.Marshal(parsed)
	if err != nil {
		return V2{}, fmt.Errorf("openapi v2: %w", err)
	}
	return V2{JSON: js, Protobuf: pb}, nil
}

func v2PathItem(item map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range item {
		switch k {
		case "parameters":
			out[k] = v2Params(v)
		default:
			op, ok := v.(map[string]any)
			if !ok {
				out[k] = v
				continue
			}
			out[k] = v2Operation(op)
		}
	}
	return out
}

func v2Params(v any) []any {
	in, _ := v.([]any)
	out := make([]any, 0, len(in))
	for _, p := range in {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		np := map[string]any{}
		for k, val := range pm {
			if k == "schema" {
				if sm, ok := val.(map[string]any); ok {
					for sk, sv := range sm {
						np[sk] = sv
					}
				}
				continue
			}
			np[k] = val
		}
		out = append(out, np)
	}
	return out
}

func v2Operation(op map[string]any) map[string]any {
	out := map[string]any{"consumes": []string{"*/*"}, "produces": []string{"application/json"}, "schemes": []string{"https"}}
	// The parameters, then the body: built outside the walk of op, whose
	// order a map does not keep.
	if ps, has := op["parameters"]; has {
		out["parameters"] = v2Params(ps)
	}
	if rb, has := op["requestBody"]; has {
		ps, _ := out["parameters"].([]any)
		out["parameters"] = append(ps, map[string]any{"name": "body", "in": "body", "required": true, "schema": firstContentSchema(rb)})
	}
	for k, v := range op {
		switch k {
		case "parameters", "requestBody":
		case "responses":
			rs, _ := v.(map[string]any)
			nr := map[string]any{}
			for code, r := range rs {
				entry := map[string]any{"description": "OK"}
				if s := firstContentSchema(r); s != nil {
					entry["schema"] = s
				}
				nr[code] = entry
			}
			out[k] = nr
		default:
			out[k] = v
		}
	}
	return out
}

// firstContentSchema is the schema of the first media type of a v3 body or
// response ({"content": {type: {"schema": ...}}}).
func firstContentSchema(v any) any {
	m, _ := v.(map[string]any)
	content, _ := m["content"].(map[string]any)
	types := make([]string, 0, len(content))
	for t := range content {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		if c, ok := content[t].(map[string]any); ok {
			return v2Schema(c["schema"])
		}
	}
	return nil
}

// v2Schema rewrites what Swagger 2.0 lacks: oneOf (a Quantity) becomes a
// string.
func v2Schema(s any) any {
	switch x := s.(type) {
	case map[string]any:
		if _, ok := x["oneOf"]; ok {
			return map[string]any{"type": "string"}
		}
		out := map[string]any{}
		for k, v := range x {
			out[k] = v2Schema(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = v2Schema(v)
		}
		return out
	default:
		return s
	}
}
