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
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
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
	proto.Message
	GetPatchType() string
	GetPatch() []byte
	GetDryRun() []string
	GetFieldValidation() string
	GetFieldManager() string
	GetForce() bool
}

// patchOptions are a patch's options once checked.
type patchOptions struct {
	dryRun bool
	apply  bool
	// manager names the write: the fieldManager, required for an apply
	// patch, else from the User-Agent.
	manager string
	force   bool
	// validation is fieldValidation: kjson.FieldValidationStrict, Warn
	// (the default) or Ignore.
	validation string
}

// readPatchOptions checks a patch's options as kube-apiserver's
// ValidatePatchOptions does (422 PatchOptions).
func readPatchOptions(ctx context.Context, req patchRequest) (patchOptions, error) {
	o := patchOptions{apply: req.GetPatchType() == patchpkg.ApplyYAML, force: req.GetForce()}
	var err error
	if o.validation, err = kjson.ParseFieldValidation(req.GetFieldValidation()); err != nil {
		return o, apierrors.BadRequest(err.Error())
	}
	if o.dryRun, err = dryRunAll(req.GetDryRun()); err != nil {
		return o, err
	}
	var causes []*corev1.StatusCause
	switch {
	case !o.apply && hasField(req, "force"):
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueForbidden", Field: "force", Message: "Forbidden: may not be specified for non-apply patch"})
	case o.apply && req.GetFieldManager() == "":
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueRequired", Field: "fieldManager", Message: "Required value: is required for apply patch"})
	}
	causes = append(causes, validateFieldManager(req.GetFieldManager())...)
	if len(causes) > 0 {
		return o, apierrors.Invalid("meta.k8s.io", "PatchOptions", "", causes)
	}
	o.manager, err = fieldManager(ctx, req.GetFieldManager(), "PatchOptions")
	return o, err
}

func (o patchOptions) write() writeOptions {
	return writeOptions{dryRun: o.dryRun, manager: o.manager, applied: o.apply}
}

// patch applies a patch to the stored object and writes the result with
// compare-and-swap on the version it was applied to, retrying when another
// write came between (unless the patch itself names a resourceVersion). An
// apply patch to an object that does not exist creates it (201), as in
// kube-apiserver.
func (r *resource[T]) patch(ctx context.Context, ns, name string, req patchRequest) (T, error) {
	var zero T
	if r.codec == nil {
		return zero, apierrors.MethodNotAllowed()
	}
	o, err := readPatchOptions(ctx, req)
	if err != nil {
		return zero, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := r.get(ctx, ns, name)
		if o.apply && apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
			out, err := r.applyCreate(ctx, ns, name, req, o)
			if apierrors.ReasonOf(err) == apierrors.ReasonAlreadyExists && attempt < maxUpdateRetries {
				continue
			}
			return out, err
		}
		if err != nil {
			return zero, err
		}
		obj, pinned, err := r.applyPatch(ctx, "", cur, req, o)
		if err != nil {
			return zero, err
		}
		m := metaOf(obj)
		if !pinned {
			m.ResourceVersion = metaOf(cur).GetResourceVersion()
		}
		out, err := r.updateFrom(ctx, ns, name, obj, cur, o.write())
		if err != nil && !pinned && attempt < maxUpdateRetries && apierrors.ReasonOf(err) == apierrors.ReasonConflict {
			continue
		}
		return out, err
	}
}

// applyCreate creates the object an apply patch describes.
func (r *resource[T]) applyCreate(ctx context.Context, ns, name string, req patchRequest, o patchOptions) (T, error) {
	var zero T
	obj, _, err := r.applyPatch(ctx, "", zero, req, o)
	if err != nil {
		return zero, err
	}
	if err := checkName(metaOf(obj).GetName(), name); err != nil {
		return zero, err
	}
	if metaOf(obj).GetUid() != "" {
		return zero, apierrors.Conflict(r.group, r.plural, name, fmt.Sprintf("uid mismatch: the provided object specified uid %s, and no existing object was found", metaOf(obj).GetUid()))
	}
	out, err := r.create(ctx, ns, obj, o.write())
	if err == nil {
		created(ctx)
	}
	return out, err
}

// checkName is kube-apiserver's checkName for a patched object (or the
// object an apply patch creates): it must name itself, as the URL does.
func checkName(got, name string) error {
	switch got {
	case name:
		return nil
	case "":
		return apierrors.BadRequest(fmt.Sprintf("the name of the object (%s based on URL) was undeterminable: name must be provided", name))
	default:
		return apierrors.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", got, name))
	}
}

// applyPatch returns cur with the patch applied, and whether the patch set
// metadata.resourceVersion itself; subresource is "" or "status" (whose
// managedFields an apply records). Unknown fields the patch brings are
// refused (fieldValidation=Strict), answered as warnings (Warn, the
// default) or dropped as asked (Ignore), as kube-apiserver does; an apply
// patch's are always refused (the schema has no place for them).
func (r *resource[T]) applyPatch(ctx context.Context, subresource string, cur T, req patchRequest, o patchOptions) (T, bool, error) {
	var zero T
	patchType, patch := req.GetPatchType(), req.GetPatch()
	if o.apply {
		obj, rv, err := r.applyTo(ctx, subresource, cur, patch, applyOptions{manager: o.manager, force: o.force, strict: o.validation})
		return obj, rv != "", err
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
	if err := decodePatched(ctx, r.codec, out, obj, o.validation); err != nil {
		return zero, false, err
	}
	return obj, patchSetsResourceVersion(patch, patchType), nil
}

// decodePatched decodes a patched document into msg; unknown fields are
// refused, answered as warnings or dropped as fieldValidation says.
func decodePatched(ctx context.Context, codec Codec, doc []byte, msg proto.Message, validation string) error {
	var err error
	if validation == kjson.FieldValidationStrict {
		err = codec.Unmarshal(doc, msg)
	} else {
		var warnings []string
		err = codec.DecodeLenient(doc, msg, func(problem string) { warnings = append(warnings, problem) })
		if err == nil && validation != kjson.FieldValidationIgnore {
			warn(ctx, warnings)
		}
	}
	if err != nil {
		return apierrors.BadRequest(err.Error())
	}
	return nil
}

// warn answers warnings to the client (Warning headers over REST).
func warn(ctx context.Context, warnings []string) {
	if len(warnings) > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs(warningPairs(warnings)...))
	}
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
