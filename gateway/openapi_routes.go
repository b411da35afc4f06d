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
		in = append(in, openapi.Resource{
			Group: r.Group, Version: r.Version, Plural: r.Resource, Kind: r.Kind,
			Namespaced: r.Namespaced, Verbs: r.Verbs, Object: r.New(), List: list,
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
