package kjson

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/internal/resources"
)

// KubernetesTypes returns the registry of Portico's messages as
// kube-apiserver's JSON has them, built from the table genproto reads out
// of k8s.io/api (internal/resources):
//   - each resource's kind and apiVersion on its message, its list kind on
//     its List and DeleteCollection responses, "object" as a whole object
//     in its Watch responses;
//   - meta/v1 Status and DeleteOptions (also as meta.k8s.io/v1),
//     PartialObjectMetadata(List) (meta.k8s.io/v1, the list's items with
//     their kind), and the kinds posted to subresources (Binding,
//     TokenRequest, Eviction, Scale);
//   - AlwaysEmit, EmitNull and Inline fields, and the messages with their
//     own encoding (IntOrString, Quantity, MicroTime, FieldsV1).
//
// It panics when the generated table and protos disagree, which no input
// can cause. Add kinds of your own with With.
func KubernetesTypes() *Types {
	t, err := buildKubernetesTypes()
	if err != nil {
		panic(err)
	}
	return t
}

func buildKubernetesTypes() (*Types, error) {
	types := map[protoreflect.FullName]*Type{}
	get := func(n protoreflect.FullName) *Type {
		if types[n] == nil {
			types[n] = &Type{}
		}
		return types[n]
	}
	for n, names := range resources.AlwaysEmit() {
		get(n).AlwaysEmit = names
	}
	for n, names := range resources.EmitNull() {
		get(n).EmitNull = names
	}
	for n, names := range resources.Inline() {
		get(n).Inline = names
	}
	for n, enc := range resources.Encodings() {
		get(n).Encoding = Encoding(enc)
	}
	setKind := func(n protoreflect.FullName, apiVersion, kind string) {
		typ := get(n)
		typ.APIVersion, typ.Kind = apiVersion, kind
	}
	for _, r := range resources.All() {
		apiVersion := r.Version
		if r.Group != "" {
			apiVersion = r.Group + "/" + r.Version
		}
		setKind(r.New().ProtoReflect().Descriptor().FullName(), apiVersion, r.Kind)
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(r.Service))
		if err != nil {
			return nil, fmt.Errorf("kjson: service of %s: %w", r.Kind, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("kjson: %s is not a service", r.Service)
		}
		for i := 0; i < sd.Methods().Len(); i++ {
			m := sd.Methods().Get(i)
			name := string(m.Name())
			switch {
			case m.IsStreamingServer():
				get(m.Output().FullName()).Objects = []string{"object"}
			case strings.HasPrefix(name, "List"), strings.HasPrefix(name, "DeleteCollection"):
				setKind(m.Output().FullName(), apiVersion, r.ListKind)
			}
		}
	}
	// meta/v1 kinds, and those posted to subresources, where the protos
	// have them.
	for _, k := range []struct {
		name, apiVersion, kind string
		accept                 []string
	}{
		{"portico.core.v1.Status", "v1", "Status", nil},
		{"portico.core.v1.DeleteOptions", "v1", "DeleteOptions", []string{"meta.k8s.io/v1"}},
		{"portico.core.v1.Binding", "v1", "Binding", nil},
		{"portico.core.v1.TokenRequest", "authentication.k8s.io/v1", "TokenRequest", nil},
		{"portico.core.v1.Eviction", "policy/v1", "Eviction", nil},
		{"portico.core.v1.Scale", "autoscaling/v1", "Scale", nil},
		{"portico.core.v1.PartialObjectMetadata", "meta.k8s.io/v1", "PartialObjectMetadata", nil},
		{"portico.core.v1.PartialObjectMetadataList", "meta.k8s.io/v1", "PartialObjectMetadataList", nil},
	} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(k.name)); err != nil {
			continue
		}
		setKind(protoreflect.FullName(k.name), k.apiVersion, k.kind)
		get(protoreflect.FullName(k.name)).AcceptAPIVersions = k.accept
	}
	// A PartialObjectMetadataList's items carry their kind, as
	// kube-apiserver writes them.
	if _, err := protoregistry.GlobalTypes.FindMessageByName("portico.core.v1.PartialObjectMetadataList"); err == nil {
		get("portico.core.v1.PartialObjectMetadataList").Objects = []string{"items"}
	}

	entries := make([]Entry, 0, len(types))
	for n, typ := range types {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(n)
		if err != nil {
			return nil, fmt.Errorf("kjson: %s: %w", n, err)
		}
		entries = append(entries, Entry{Msg: mt.Zero().Interface(), Type: *typ})
	}
	return NewTypes(entries...)
}
