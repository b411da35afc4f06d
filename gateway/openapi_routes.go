package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/resources"
)

// openAPIDocs are the /openapi/v3 documents, built once at start.
type openAPIDocs struct {
	root []byte
	docs map[string]openapi.Document
	v2   openapi.V2
}

// The protobuf form of /openapi/v2: clients ask for it by either name
// (kubectl sends the older, with "@"), and kube-apiserver answers with
// the one a media-type parser accepts.
const (
	mediaOpenAPIv2Protobuf    = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mediaOpenAPIv2ProtobufOld = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// buildOpenAPI describes every resource of the table.
func buildOpenAPI(all []resources.Resource) (*openAPIDocs, error) {
	var in []openapi.Resource
	for _, r := range all {
		list, err := listMessage(r.Service)
		if err != nil {
			return nil, err
		}
		subs, err := openAPISubresources(r)
		if err != nil {
			return nil, err
		}
		in = append(in, openapi.Resource{
			Group: r.Group, Version: r.Version, Plural: r.Resource, Kind: r.Kind,
			Namespaced: r.Namespaced, Verbs: r.Verbs, Object: r.New(), List: list, Subresources: subs,
		})
	}
	v := ServerVersion()
	root, docs, err := openapi.Build(in, openapi.KubernetesNames, openapi.Descriptions(resources.Descriptions()), "Kubernetes", v.GitVersion)
	if err != nil {
		return nil, err
	}
	v2, err := openapi.BuildV2(docs, "Kubernetes", v.GitVersion)
	if err != nil {
		return nil, err
	}
	return &openAPIDocs{root: root, docs: docs, v2: v2}, nil
}

// openAPISubresources describes r's subresources from its service's
// methods (Get<Kind><Sub>, Update..., Patch..., Create...): the verbs it
// serves and the message each answers.
func openAPISubresources(r resources.Resource) ([]openapi.Subresource, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(r.Service))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("openapi: %s is not a service", r.Service)
	}
	var out []openapi.Subresource
	for _, sub := range r.Subresources {
		s := openapi.Subresource{Name: sub}
		k := subresourceKind(r.Kind, sub)
		s.Group, s.Version, s.Kind = k.Group, k.Version, k.Kind
		if s.Group == "" && s.Version == "" {
			s.Group, s.Version = r.Group, r.Version
		}
		suffix := r.Kind + strings.ToUpper(sub[:1]) + sub[1:]
		for _, verb := range []string{"get", "update", "patch", "create"} {
			md := sd.Methods().ByName(protoreflect.Name(strings.ToUpper(verb[:1]) + verb[1:] + suffix))
			if md == nil {
				continue
			}
			s.Verbs = append(s.Verbs, verb)
			if s.Object == nil {
				// The answer's one message field; of a create, the
				// body's (pods/binding answers a Status).
				fields := md.Output().Fields()
				if verb == "create" {
					fields = md.Input().Fields()
				}
				for i := range fields.Len() {
					if f := fields.Get(i); f.Message() != nil {
						mt, err := protoregistry.GlobalTypes.FindMessageByName(f.Message().FullName())
						if err != nil {
							return nil, fmt.Errorf("openapi: %w", err)
						}
						s.Object = mt.New().Interface()
						break
					}
				}
			}
		}
		if s.Object != nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// listMessage is an empty message of a service's List response.
func listMessage(service string) (proto.Message, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("openapi: %s is not a service", service)
	}
	methods := sd.Methods()
	for i := range methods.Len() {
		m := methods.Get(i)
		if strings.HasPrefix(string(m.Name()), "List") {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
			if err != nil {
				return nil, fmt.Errorf("openapi: %w", err)
			}
			return mt.New().Interface(), nil
		}
	}
	return nil, fmt.Errorf("openapi: %s has no List method", service)
}

// openAPIRoutes serves /openapi/v3 and its documents.
func (g *Gateway) openAPIRoutes(local *http.ServeMux) {
	local.HandleFunc("GET /openapi/v3", func(w http.ResponseWriter, _ *http.Request) {
		writeRawJSON(w, g.openapi.root)
	})
	local.HandleFunc("GET /openapi/v2", func(w http.ResponseWriter, r *http.Request) {
		if accept := r.Header.Get("Accept"); strings.Contains(accept, mediaOpenAPIv2Protobuf) || strings.Contains(accept, mediaOpenAPIv2ProtobufOld) {
			w.Header().Set("Content-Type", mediaOpenAPIv2Protobuf)
			w.Header().Set("Cache-Control", "no-cache, private")
			_, _ = w.Write(g.openapi.v2.Protobuf)
			return
		}
		writeRawJSON(w, g.openapi.v2.JSON)
	})
	local.HandleFunc("GET /openapi/v3/{path...}", func(w http.ResponseWriter, r *http.Request) {
		doc, ok := g.openapi.docs[r.PathValue("path")]
		if !ok {
			g.notFound(w)
			return
		}
		if h := r.URL.Query().Get("hash"); h != "" && h == doc.Hash {
			// The hash names this exact content: it may be cached for good.
			w.Header().Set("Cache-Control", "public, immutable")
			w.Header().Set("Expires", "Thu, 31 Dec 2099 23:59:59 GMT")
		}
		w.Header().Set("Etag", `"`+doc.Hash+`"`)
		writeRawJSON(w, doc.JSON)
	})
}

func writeRawJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache, private")
	}
	_, _ = w.Write(b)
}
