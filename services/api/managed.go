package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/reqmeta"
	"github.com/portico-dev/portico/internal/typeschema"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/fieldmanager"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
	"github.com/portico-dev/portico/services/api/storage"
)

// managedFields: every create, update and patch records who set which
// fields (metadata.managedFields), and an apply patch merges by them, as
// kube-apiserver's field manager does. The work is done on the objects'
// Kubernetes JSON form by services/api/fieldmanager; this file is the
// glue: the manager's name, the JSON round trip, the entries' proto form.

// fieldManagerMaxLength is kube-apiserver's FieldManagerMaxLength.
const fieldManagerMaxLength = 128

// The managers of the api's own writes, named as the kube components that
// make them: the system namespaces and the bootstrap RBAC policy
// (kube-apiserver), a namespace's default service account
// (kube-controller-manager's serviceaccount controller).
const (
	managerAPIServer         = "kube-apiserver"
	managerControllerManager = "kube-controller-manager"
)

// fieldManager is the manager a write is recorded under: the request's
// fieldManager, else the client's User-Agent up to its first "/", as
// kube-apiserver's managerOrUserAgent (kubectl/v1.32.4 is "kubectl").
// optionsKind names the options in a 422 (CreateOptions, UpdateOptions,
// PatchOptions).
func fieldManager(ctx context.Context, requested, optionsKind string) (string, error) {
	if requested != "" {
		if causes := validateFieldManager(requested); len(causes) > 0 {
			return "", apierrors.Invalid("meta.k8s.io", optionsKind, "", causes)
		}
		return requested, nil
	}
	return prefixFromUserAgent(reqmeta.UserAgent(ctx)), nil
}

// validateFieldManager is kube-apiserver's ValidateFieldManager.
func validateFieldManager(m string) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	if len(m) > fieldManagerMaxLength {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueTooLong", Field: "fieldManager",
			Message: fmt.Sprintf("Too long: may not be more than %d bytes", fieldManagerMaxLength)})
	}
	for i, r := range m {
		if !unicode.IsPrint(r) {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "fieldManager",
				Message: fmt.Sprintf("Invalid value: %q: invalid character %#U (at position %d)", m, r, i)})
		}
	}
	return causes
}

// prefixFromUserAgent is kube-apiserver's: what precedes the first "/",
// printable characters only, cut at the length limit.
func prefixFromUserAgent(ua string) string {
	m, _, _ := strings.Cut(ua, "/")
	var b bytes.Buffer
	for _, r := range m {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > fieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fieldManagers makes the managers of a kind: the object's own, and its
// status subresource's. The object's leaves status to the subresource
// (kube's strategies reset it), the subresource everything but status.
func fieldManagers[T storage.Object](schema *typeschema.Schema, r *resource[T]) (map[string]*fieldmanager.Manager, error) {
	if schema == nil || r.codec == nil {
		return nil, nil
	}
	gvk := r.gvk()
	empty, err := r.toJSONObject(r.newObj())
	if err != nil {
		return nil, err
	}
	fields := r.newObj().ProtoReflect().Descriptor().Fields()
	out := map[string]*fieldmanager.Manager{}
	var mainReset, statusReset []string
	if _, ok := r.subresources["status"]; ok {
		mainReset = []string{"status"}
		for i := range fields.Len() {
			if n := fields.Get(i).JSONName(); n != "status" {
				statusReset = append(statusReset, n)
			}
		}
	}
	m, err := fieldmanager.New(fieldmanager.Options{Schema: schema, GVK: gvk, Empty: empty, ResetFields: mainReset})
	if err != nil {
		return nil, err
	}
	out[""] = m
	if statusReset != nil {
		m, err := fieldmanager.New(fieldmanager.Options{Schema: schema, GVK: gvk, Empty: empty, Subresource: "status", ResetFields: statusReset})
		if err != nil {
			return nil, err
		}
		out["status"] = m
	}
	return out, nil
}

// toJSONObject is obj's Kubernetes JSON as an unstructured object.
func (r *resource[T]) toJSONObject(obj T) (map[string]any, error) {
	data, err := r.codec.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := utiljson.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// trackUpdate sets obj's managedFields for an Update of old (zero on
// create) into obj by o's manager, as kube-apiserver's handlers do before
// the strategy runs: obj is read as the request's defaults leave it
// (beforeWrite), before the server's own changes. When that fails the
// stored managedFields are kept (kube's UpdateNoErrors) and it is logged.
func (r *resource[T]) trackUpdate(subresource string, old, obj T, o writeOptions) {
	fm := r.fields[subresource]
	if fm == nil || o.applied {
		return
	}
	restore := func(err error) {
		r.log.Error("managedFields not updated: the stored ones are kept", "kind", r.kind, "name", metaOf(obj).GetName(), "error", err)
		if isNil(old) {
			metaOf(obj).ManagedFields = nil
		} else {
			metaOf(obj).ManagedFields = metaOf(old).GetManagedFields()
		}
	}
	view := obj
	if r.beforeWrite != nil {
		view = proto.Clone(obj).(T)
		r.beforeWrite(view)
	}
	newJSON, err := r.toJSONObject(view)
	if err != nil {
		restore(err)
		return
	}
	var liveJSON map[string]any
	if !isNil(old) {
		if liveJSON, err = r.toJSONObject(old); err != nil {
			restore(err)
			return
		}
	}
	entries, err := fm.Update(liveJSON, newJSON, o.manager)
	if err != nil {
		restore(err)
		return
	}
	metaOf(obj).ManagedFields = managedToProto(entries)
}

// applyOptions are an apply patch's.
type applyOptions struct {
	manager string
	force   bool
	// strict is fieldValidation: Strict refuses a duplicate field, Warn
	// (the default) warns of it, Ignore lets it be.
	strict string
}

// applyTo returns cur (zero when there is no object yet) as manager's
// apply of patch leaves it, managedFields set, and the resourceVersion
// the patch names ("" for none: like any patch's, a precondition);
// subresource is "" or "status".
func (r *resource[T]) applyTo(ctx context.Context, subresource string, cur T, patch []byte, o applyOptions) (T, string, error) {
	var zero T
	fm := r.fields[subresource]
	if fm == nil {
		return zero, "", patchpkg.Unsupported()
	}
	applied, err := patchpkg.DecodeApply(patch, patchpkg.Limits{})
	if err != nil {
		return zero, "", err
	}
	if o.strict != kjson.FieldValidationIgnore {
		if problem := patchpkg.StrictApply(patch); problem != "" {
			if o.strict == kjson.FieldValidationStrict {
				return zero, "", apierrors.BadRequest("error strict decoding patch: " + problem)
			}
			warn(ctx, []string{problem})
		}
	}
	meta, _ := applied["metadata"].(map[string]any)
	rv, _ := meta["resourceVersion"].(string)
	var live map[string]any
	if !isNil(cur) {
		if live, err = r.toJSONObject(cur); err != nil {
			return zero, "", apierrors.Internal(fmt.Sprintf("encoding %s: %v", r.kind, err))
		}
	}
	merged, err := fm.Apply(live, applied, o.manager, o.force)
	if err != nil {
		return zero, "", applyError(err)
	}
	entries, err := takeManagedFields(merged)
	if err != nil {
		return zero, "", apierrors.Internal(fmt.Sprintf("apply: %v", err))
	}
	data, err := json.Marshal(merged)
	if err != nil {
		return zero, "", apierrors.Internal(fmt.Sprintf("apply: %v", err))
	}
	obj := r.newObj()
	if err := r.codec.Unmarshal(data, obj); err != nil {
		return zero, "", apierrors.BadRequest(err.Error())
	}
	metaOf(obj).ManagedFields = managedToProto(entries)
	return obj, rv, nil
}

// applyError is an error of the field manager as the api answers it: its
// Kubernetes Status as it is (a 409 conflict with a cause per field), and
// a typing failure of the patch (a field the kind does not have) as 400,
// since the client sent it (kube-apiserver answers 500, kubernetes#139253).
func applyError(err error) error {
	if st, ok := fieldmanager.Status(err); ok {
		var causes []*corev1.StatusCause
		if st.Details != nil {
			for _, c := range st.Details.Causes {
				causes = append(causes, &corev1.StatusCause{Reason: string(c.Type), Message: c.Message, Field: c.Field})
			}
		}
		return apierrors.New(apierrors.Reason(st.Reason), st.Message, apierrors.Details{Causes: causes})
	}
	if strings.HasPrefix(err.Error(), "failed to create typed patch object") {
		return apierrors.BadRequest(err.Error())
	}
	return apierrors.Internal(err.Error())
}

// takeManagedFields removes metadata.managedFields from an unstructured
// object and returns them.
func takeManagedFields(obj map[string]any) ([]metav1.ManagedFieldsEntry, error) {
	meta, _ := obj["metadata"].(map[string]any)
	raw, ok := meta["managedFields"]
	if !ok {
		return nil, nil
	}
	delete(meta, "managedFields")
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var entries []metav1.ManagedFieldsEntry
	err = json.Unmarshal(data, &entries)
	return entries, err
}

// managedToProto is the proto form of managedFields entries.
func managedToProto(in []metav1.ManagedFieldsEntry) []*corev1.ManagedFieldsEntry {
	if len(in) == 0 {
		return nil
	}
	out := make([]*corev1.ManagedFieldsEntry, len(in))
	for i, e := range in {
		p := &corev1.ManagedFieldsEntry{
			Manager: e.Manager, Operation: string(e.Operation), ApiVersion: e.APIVersion,
			FieldsType: e.FieldsType, Subresource: e.Subresource,
		}
		if e.Time != nil {
			p.Time = timestamppb.New(e.Time.Time)
		}
		if e.FieldsV1 != nil {
			p.FieldsV1 = &corev1.FieldsV1{Raw: e.FieldsV1.Raw}
		}
		out[i] = p
	}
	return out
}

// hasField reports whether the request message sets the named field (an
// optional one, as force).
func hasField(m proto.Message, name protoreflect.Name) bool {
	fd := m.ProtoReflect().Descriptor().Fields().ByName(name)
	return fd != nil && m.ProtoReflect().Has(fd)
}

// readWriteOptions reads a create's or update's dryRun and fieldManager;
// optionsKind (CreateOptions, UpdateOptions) names them in a 422.
func readWriteOptions(ctx context.Context, req proto.Message, optionsKind string) (writeOptions, error) {
	dry, err := dryRunAll(stringsField(req, "dry_run"))
	if err != nil {
		return writeOptions{}, err
	}
	manager, err := fieldManager(ctx, stringField(req, "field_manager"), optionsKind)
	if err != nil {
		return writeOptions{}, err
	}
	return writeOptions{dryRun: dry, manager: manager}, nil
}
