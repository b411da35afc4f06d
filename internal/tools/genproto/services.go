package main

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// svcField is a field of a request or response.
type svcField struct {
	Name     string
	Number   int
	Scalar   string   // or
	Msg      *message // a generated k8s message
	Optional bool
	Repeated bool
	Doc      string
	// ns marks the namespace field, left out for cluster-scoped kinds.
	ns bool
}

type svcMessage struct {
	Name   string
	Doc    string
	Fields []svcField
}

// httpRule is the REST binding of an RPC.
type httpRule struct {
	Method, Path, Body string
	More               []httpRule // additional_bindings
}

type rpcDef struct {
	Name      string
	Doc       string
	Req, Resp *svcMessage
	Stream    bool
	HTTP      httpRule
}

type serviceDef struct {
	Kind *kind
	Obj  *message
	Name string // PodService
	RPCs []*rpcDef
}

// FullName is the gRPC service's full name.
func (s *serviceDef) FullName() string { return s.Kind.Pkg.Proto + "." + s.Name }

func (s *serviceDef) rpc(name string) *rpcDef {
	for _, r := range s.RPCs {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func str(name string, n int, doc string) svcField {
	return svcField{Name: name, Number: n, Scalar: "string", Doc: doc}
}

// buildServices makes one service per kind, with the conventions of
// Portico's API (see the package comment).
func buildServices(m *model) []*serviceDef {
	meta := func(t reflect.Type) *message { return m.messages[goProtoName(t)] }
	listMeta, status, deleteOptions := meta(reflect.TypeFor[metav1.ListMeta]()), meta(reflect.TypeFor[metav1.Status]()), meta(reflect.TypeFor[metav1.DeleteOptions]())
	partial := meta(reflect.TypeFor[metav1.PartialObjectMetadata]())
	var svcs []*serviceDef
	for _, k := range kinds {
		obj := m.messages[goProtoName(k.Go)]
		s := &serviceDef{Kind: k, Obj: obj, Name: k.Kind + "Service"}
		K, Ks, kf := k.Kind, k.PluralKind, snakeCase(k.Kind)
		// fieldOf is the field holding a msg (the kind's object, or a
		// subresource's own: scale).
		fieldOf := func(msg *message, n int) svcField { return svcField{Name: snakeCase(msg.Name()), Number: n, Msg: msg} }
		objField := func(n int) svcField { return fieldOf(obj, n) }
		// ns drops the namespace field of cluster-scoped kinds.
		ns := func(fields ...svcField) []svcField {
			var out []svcField
			for _, f := range fields {
				if f.ns && !k.Namespaced {
					continue
				}
				out = append(out, f)
			}
			return out
		}
		nsDoc := "namespace is empty for every namespace."
		nsField := svcField{Name: "namespace", Number: 1, Scalar: "string", ns: true}
		name := str("name", 2, "")
		dryRun := func(n int) svcField {
			return svcField{Name: "dry_run", Number: n, Scalar: "string", Repeated: true, Doc: `dry_run is ["All"] to validate without storing.`}
		}
		coll := k.Pkg.PathPrefix() + "/" + k.Resource
		watchColl := k.Pkg.PathPrefix() + "/watch/" + k.Resource
		allColl, allWatch := coll, watchColl
		if k.Namespaced {
			coll = k.Pkg.PathPrefix() + "/namespaces/{namespace}/" + k.Resource
			watchColl = k.Pkg.PathPrefix() + "/watch/namespaces/{namespace}/" + k.Resource
		}
		item := coll + "/{name}"
		objRespOf := func(method string, msg *message) *svcMessage {
			return &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse holds the %s.", method, msg.Name()), Fields: []svcField{fieldOf(msg, 1)}}
		}
		objResp := func(method string) *svcMessage { return objRespOf(method, obj) }
		add := func(r *rpcDef) { s.RPCs = append(s.RPCs, r) }
		// Get, List and Watch answer only the objects' metadata
		// (PartialObjectMetadata) when asked: the REST gateway's
		// "Accept: ...;as=PartialObjectMetadata".
		metadataOnly := svcField{Name: "metadata_only", Number: 20, Scalar: "bool",
			Doc: "metadata_only answers only metadata: PartialObjectMetadata in the answer's partial_object_metadata fields, instead of whole " + Ks + "."}
		partialField := func(n int, repeated bool) svcField {
			name := "partial_object_metadata"
			if repeated {
				name = "partial_object_metadata_items"
			}
			return svcField{Name: name, Number: n, Msg: partial, Repeated: repeated, Doc: name + " is set instead when metadata_only was asked."}
		}
		getReq := func(method, what string) *svcMessage {
			return &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest names the %s to read.", method, what),
				Fields: ns(nsField, name, str("resource_version", 3, "resource_version is empty for the latest version."))}
		}
		updateReqOf := func(method, what string, msg *message) *svcMessage {
			return &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest holds the new %s.", method, what),
				Fields: ns(nsField, name, fieldOf(msg, 3), dryRun(4), str("field_manager", 5, ""), str("field_validation", 6, "field_validation is Ignore, Warn or Strict."))}
		}
		updateReq := func(method, what string) *svcMessage { return updateReqOf(method, what, obj) }
		patchReq := func(method, what string) *svcMessage {
			return &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest holds a patch to the %s.", method, what),
				Fields: ns(nsField, name,
					str("patch_type", 3, "patch_type is the patch's media type: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json or application/apply-patch+yaml."),
					svcField{Name: "patch", Number: 4, Scalar: "bytes"},
					dryRun(5), str("field_manager", 6, ""), str("field_validation", 7, "field_validation is Ignore, Warn or Strict."),
					svcField{Name: "force", Number: 8, Scalar: "bool", Optional: true, Doc: "force takes the fields of other managers in an apply patch."})}
		}

		method := "Get" + K
		get := &rpcDef{Name: method, Doc: fmt.Sprintf("%s reads one %s.", method, K), Req: getReq(method, K), Resp: objResp(method),
			HTTP: httpRule{Method: "get", Path: item}}
		get.Req.Fields = append(get.Req.Fields, metadataOnly)
		get.Resp.Fields = append(get.Resp.Fields, partialField(2, false))
		add(get)

		method = "List" + Ks
		listDoc := fmt.Sprintf("%s lists %s.", method, Ks)
		if k.Namespaced {
			listDoc = fmt.Sprintf("%s lists %s in a namespace, or in all namespaces.", method, Ks)
		}
		r := &rpcDef{Name: method, Doc: listDoc,
			Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest selects %s.", method, Ks), Fields: ns(
				str("label_selector", 1, ""), str("field_selector", 2, ""), svcField{Name: "namespace", Number: 3, Scalar: "string", Doc: nsDoc, ns: true},
				str("resource_version", 4, ""), svcField{Name: "timeout_seconds", Number: 5, Scalar: "int64"},
				svcField{Name: "limit", Number: 7, Scalar: "int64"}, str("continue", 8, "continue is the token of the previous page's ListMeta."),
				str("resource_version_match", 10, ""), metadataOnly)},
			Resp: &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse is a %sList.", method, K), Fields: []svcField{
				{Name: "metadata", Number: 1, Msg: listMeta}, {Name: "items", Number: 2, Msg: obj, Repeated: true}, partialField(3, true)}},
			HTTP: httpRule{Method: "get", Path: coll}}
		if k.Namespaced {
			r.HTTP.More = []httpRule{{Method: "get", Path: allColl}}
		}
		add(r)

		method = "Create" + K
		add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s creates a %s.", method, K),
			Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest holds the %s to create.", method, K),
				Fields: ns(nsField, objField(2), dryRun(3), str("field_manager", 4, ""), str("field_validation", 5, "field_validation is Ignore, Warn or Strict."))},
			Resp: objResp(method), HTTP: httpRule{Method: "post", Path: coll, Body: kf}})

		method = "Update" + K
		add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s replaces a %s, compare-and-swap on its resourceVersion.", method, K),
			Req: updateReq(method, K), Resp: objResp(method), HTTP: httpRule{Method: "put", Path: item, Body: kf}})

		method = "Patch" + K
		add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s patches a %s.", method, K),
			Req: patchReq(method, K), Resp: objResp(method), HTTP: httpRule{Method: "patch", Path: item, Body: "patch"}})

		method = "Delete" + K
		add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s deletes a %s.", method, K),
			Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest names the %s to delete.", method, K), Fields: ns(nsField, name,
				svcField{Name: "options", Number: 3, Msg: deleteOptions, Doc: "options is the request body; the query parameters below add to it."},
				svcField{Name: "grace_period_seconds", Number: 4, Scalar: "int64", Optional: true},
				str("propagation_policy", 5, "propagation_policy is Orphan, Background or Foreground."), dryRun(6))},
			Resp: &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse is the %s, while its deletion is pending, or the Status of a finished delete: one of the two is set.", method, K), Fields: []svcField{
				{Name: kf, Number: 1, Msg: obj}, {Name: "status", Number: 2, Msg: status}}},
			HTTP: httpRule{Method: "delete", Path: item, Body: "options"}})

		if !k.NoDeleteCollection {
			method = "DeleteCollection" + Ks
			add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s deletes the %s a selector matches.", method, Ks),
				Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest selects the %s to delete.", method, Ks), Fields: ns(nsField,
					str("label_selector", 2, ""), str("field_selector", 3, ""),
					svcField{Name: "options", Number: 4, Msg: deleteOptions, Doc: "options is the request body."}, dryRun(5))},
				Resp: &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse is the %sList deleted.", method, K), Fields: []svcField{
					{Name: "metadata", Number: 1, Msg: listMeta}, {Name: "items", Number: 2, Msg: obj, Repeated: true}}},
				HTTP: httpRule{Method: "delete", Path: coll, Body: "options"}})
		}

		method = "Watch" + Ks
		r = &rpcDef{Name: method, Doc: fmt.Sprintf("%s streams changes to %s from a resourceVersion.", method, Ks), Stream: true,
			Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest selects the %s to watch.", method, Ks), Fields: ns(
				str("label_selector", 1, ""), str("field_selector", 2, ""), svcField{Name: "namespace", Number: 3, Scalar: "string", Doc: nsDoc, ns: true},
				str("resource_version", 4, ""), svcField{Name: "timeout_seconds", Number: 5, Scalar: "int64"},
				svcField{Name: "allow_watch_bookmarks", Number: 9, Scalar: "bool"},
				svcField{Name: "send_initial_events", Number: 11, Scalar: "bool", Optional: true}, metadataOnly)},
			Resp: &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse is one watch event.", method), Fields: []svcField{
				{Name: "type", Number: 1, Scalar: "string", Doc: "type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR."},
				{Name: "object", Number: 2, Msg: obj}, partialField(3, false)}},
			HTTP: httpRule{Method: "get", Path: watchColl}}
		if k.Namespaced {
			r.HTTP.More = []httpRule{{Method: "get", Path: allWatch}}
		}
		add(r)

		for _, sub := range k.Subresources {
			Sub := strings.ToUpper(sub.Name[:1]) + sub.Name[1:]
			path := item + "/" + sub.Name
			what := K + " " + sub.Name
			subObj := obj
			if sub.Object != nil {
				subObj = m.messages[goProtoName(sub.Object)]
			}
			for _, verb := range sub.Verbs {
				switch verb {
				case "get":
					method = "Get" + K + Sub
					add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s reads the %s subresource of a %s.", method, sub.Name, K),
						Req: getReq(method, what), Resp: objRespOf(method, subObj), HTTP: httpRule{Method: "get", Path: path}})
				case "update":
					method = "Update" + K + Sub
					add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s replaces the %s subresource of a %s.", method, sub.Name, K),
						Req: updateReqOf(method, what, subObj), Resp: objRespOf(method, subObj), HTTP: httpRule{Method: "put", Path: path, Body: snakeCase(subObj.Name())}})
				case "patch":
					method = "Patch" + K + Sub
					add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s patches the %s subresource of a %s.", method, sub.Name, K),
						Req: patchReq(method, what), Resp: objRespOf(method, subObj), HTTP: httpRule{Method: "patch", Path: path, Body: "patch"}})
				case "create":
					method = "Create" + K + Sub
					body, result := m.messages[goProtoName(sub.Body)], m.messages[goProtoName(sub.Result)]
					bf, rf := snakeCase(body.Name()), snakeCase(result.Name())
					add(&rpcDef{Name: method, Doc: fmt.Sprintf("%s posts a %s to the %s subresource of a %s.", method, body.Name(), sub.Name, K),
						Req: &svcMessage{Name: method + "Request", Doc: fmt.Sprintf("%sRequest holds the %s to post.", method, body.Name()), Fields: ns(nsField, name,
							svcField{Name: bf, Number: 3, Msg: body}, dryRun(4), str("field_manager", 5, ""))},
						Resp: &svcMessage{Name: method + "Response", Doc: fmt.Sprintf("%sResponse holds the %s answered.", method, result.Name()), Fields: []svcField{
							{Name: rf, Number: 1, Msg: result}}},
						HTTP: httpRule{Method: "post", Path: path, Body: bf, More: collectionRule(k, sub, bf)}})
				default:
					panic("genproto: unknown subresource verb " + verb)
				}
			}
		}
		svcs = append(svcs, s)
	}
	return svcs
}

func servicesProto(pkg *outPackage, svcs []*serviceDef) []byte {
	w := newProtoWriter(pkg, "services.proto")
	first := true
	for _, s := range svcs {
		if s.Kind.Pkg != pkg {
			continue
		}
		if !first {
			w.p("")
		}
		first = false
		scope := "cluster-scoped"
		if s.Kind.Namespaced {
			scope = "namespaced"
		}
		w.comment("", wrap(fmt.Sprintf("%s serves %s (%s, %s).", s.Name, s.Kind.Resource, scope, s.Kind.Pkg.APIVersion()+" "+s.Kind.Kind), 78))
		w.p("service %s {", s.Name)
		for _, r := range s.RPCs {
			w.comment("  ", wrap(r.Doc, 76))
			stream := ""
			if r.Stream {
				stream = "stream "
			}
			w.p("  rpc %s(%s) returns (%s%s);", r.Name, r.Req.Name, stream, r.Resp.Name)
		}
		w.p("}")
		for _, r := range s.RPCs {
			for _, msg := range []*svcMessage{r.Req, r.Resp} {
				w.p("")
				w.comment("", wrap(msg.Doc, 78))
				w.p("message %s {", msg.Name)
				for _, f := range msg.Fields {
					if f.Doc != "" {
						w.comment("  ", wrap(f.Doc, 76))
					}
					typ := f.Scalar
					if f.Msg != nil {
						typ = w.msgRef(f.Msg)
					}
					switch {
					case f.Repeated:
						typ = "repeated " + typ
					case f.Optional:
						typ = "optional " + typ
					}
					w.p("  %s %s = %d;", typ, f.Name, f.Number)
				}
				w.p("}")
			}
		}
	}
	doc := wrap(fmt.Sprintf("The services of %s: one per resource, served at %s by the gateway (see proto/http.yaml).", pkg.Proto, pkg.PathPrefix()), 78)
	return w.bytes(doc)
}

// collectionRule is the extra POST of a create subresource that a
// namespace's collection takes too (POST .../namespaces/{ns}/bindings).
func collectionRule(k *kind, sub subresource, body string) []httpRule {
	if sub.Collection == "" {
		return nil
	}
	return []httpRule{{Method: "post", Path: k.Pkg.PathPrefix() + "/namespaces/{namespace}/" + sub.Collection, Body: body}}
}

func httpYAML(svcs []*serviceDef) []byte {
	var b bytes.Buffer
	b.WriteString(`# Code generated by genproto. DO NOT EDIT.
#
# HTTP rules of every Portico RPC: the Kubernetes REST paths. Read by
# protoc-gen-grpc-gateway and protoc-gen-openapiv2 (grpc_api_configuration),
# so the .proto files need no google/api imports. The gateway routes a list
# with ?watch=true to its /watch/ path, hands a PATCH body over as bytes
# (the patch field; its Content-Type becomes ?patchType) and unwraps
# single-field responses (no response_body).
type: google.api.Service
config_version: 3
http:
  rules:
`)
	for _, s := range svcs {
		for _, r := range s.RPCs {
			fmt.Fprintf(&b, "    - selector: %s.%s\n", s.FullName(), r.Name)
			fmt.Fprintf(&b, "      %s: %s\n", r.HTTP.Method, r.HTTP.Path)
			if r.HTTP.Body != "" {
				fmt.Fprintf(&b, "      body: %s\n", r.HTTP.Body)
			}
			if len(r.HTTP.More) > 0 {
				b.WriteString("      additional_bindings:\n")
				for _, more := range r.HTTP.More {
					fmt.Fprintf(&b, "        - %s: %s\n", more.Method, more.Path)
					if more.Body != "" {
						fmt.Fprintf(&b, "          body: %s\n", more.Body)
					}
				}
			}
		}
	}
	return b.Bytes()
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
