package api

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/respmeta"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
)

// Codec is the Kubernetes JSON form of objects: patches apply to it.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
	// DecodeLenient decodes like Unmarshal but accepts unknown and
	// duplicate fields, reporting each by its path.
	DecodeLenient(data []byte, msg proto.Message, onField func(problem string)) error
}

// patchRequest is what every Patch RPC carries.
type patchRequest interface {
	GetPatchType() string
	GetPatch() []byte
	GetDryRun() []string
	GetFieldValidation() string
}

// patch applies a patch to the stored object and writes the result with
// compare-and-swap on the version it was applied to, retrying when another
// write came between (unless the patch itself names a resourceVersion).
func (r *resource[T]) patch(ctx context.Context, ns, name string, req patchRequest) (T, error) {
	var zero T
	if r.codec == nil {
		return zero, apierrors.MethodNotAllowed()
	}
	dry, err := dryRunAll(req.GetDryRun())
	if err != nil {
		return zero, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := r.get(ctx, ns, name)
		if err != nil {
			return zero, err
		}
		obj, pinned, err := r.applyPatch(ctx, cur, req)
		if err != nil {
			return zero, err
		}
		m := metaOf(obj)
		if !pinned {
			m.ResourceVersion = metaOf(cur).GetResourceVersion()
		}
		out, err := r.update(ctx, ns, name, obj, writeOptions{dryRun: dry})
		if err != nil && !pinned && attempt < maxUpdateRetries && apierrors.ReasonOf(err) == apierrors.ReasonConflict {
			continue
		}
		return out, err
	}
}

// applyPatch returns cur with the patch applied, and whether the patch set
// metadata.resourceVersion itself. Unknown fields the patch brings are
// refused (fieldValidation=Strict), answered as warnings (Warn, the
// default) or dropped as asked (Ignore), as kube-apiserver does.
func (r *resource[T]) applyPatch(ctx context.Context, cur T, req patchRequest) (T, bool, error) {
	var zero T
	patchType, patch := req.GetPatchType(), req.GetPatch()
	mode, err := kjson.ParseFieldValidation(req.GetFieldValidation())
	if err != nil {
		return zero, false, apierrors.BadRequest(err.Error())
	}
	doc, err := r.codec.Marshal(cur)
	if err != nil {
		return zero, false, apierrors.Internal(fmt.Sprintf("encoding %s: %v", r.kind, err))
	}
	var schema any
	if r.strategicSchema != nil {
		schema = r.strategicSchema()
	}
	out, err := patchpkg.Apply(doc, patch, patchType, schema, patchpkg.Limits{})
	if err != nil {
		return zero, false, err
	}
	obj := r.newObj()
	if mode == kjson.FieldValidationStrict {
		err = r.codec.Unmarshal(out, obj)
	} else {
		var warnings []string
		err = r.codec.DecodeLenient(out, obj, func(problem string) { warnings = append(warnings, problem) })
		if err == nil && mode != kjson.FieldValidationIgnore && len(warnings) > 0 {
			_ = grpc.SetHeader(ctx, metadata.Pairs(warningPairs(warnings)...))
		}
	}
	if err != nil {
		return zero, false, apierrors.BadRequest(err.Error())
	}
	return obj, patchSetsResourceVersion(patch, patchType), nil
}

func warningPairs(warnings []string) []string {
	kv := make([]string, 0, 2*len(warnings))
	for _, w := range warnings {
		kv = append(kv, respmeta.Warning, w)
	}
	return kv
}

// patchSetsResourceVersion reports whether a merge or strategic patch
// names metadata.resourceVersion (a JSON patch is applied as it is).
func patchSetsResourceVersion(patch []byte, patchType string) bool {
	if patchType == patchpkg.JSON {
		return false
	}
	var p struct {
		Metadata struct {
			ResourceVersion *string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return false
	}
	return p.Metadata.ResourceVersion != nil && *p.Metadata.ResourceVersion != ""
}
