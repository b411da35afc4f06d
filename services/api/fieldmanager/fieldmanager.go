// Package fieldmanager keeps metadata.managedFields and applies
// server-side apply patches for the api's objects, on their Kubernetes
// JSON form (unstructured maps), with kube-apiserver's own machinery:
// k8s.io/apimachinery's managedfields.FieldManager (the managers chain
// kube-apiserver runs: version check, last-applied annotation, at most
// ten Update managers, manager info, timestamps, metadata stripped) over
// structured-merge-diff, typed by internal/typeschema.
//
// Portico serves one version of each kind, so the conversions the chain
// asks for are identities; a managedFields entry of another version is
// dropped, as kube-apiserver drops one of a version it no longer serves.
package fieldmanager

import (
	"errors"
	"fmt"
	"reflect"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/portico-dev/portico/internal/typeschema"
)

// Options make a Manager for one kind and subresource.
type Options struct {
	// Schema types the kind's objects.
	Schema *typeschema.Schema
	GVK    schema.GroupVersionKind
	// Empty is the kind's empty object as its JSON has it: the live
	// object of a create. kube-apiserver's is a new typed object, whose
	// non-pointer structs are there (a pod's spec is no new field on
	// create, its containers are); nil is {}.
	Empty map[string]any
	// Subresource is "" for the object itself, or "status": recorded in
	// each managedFields entry, and for a subresource the request's own
	// managedFields are never read.
	Subresource string
	// ResetFields are the top-level fields the (sub)resource's writes
	// leave as stored (the main resource's status when the kind has a
	// status subresource, the status subresource's spec): no manager
	// owns them through it, and an apply patch setting them neither
	// takes them nor conflicts.
	ResetFields []string
}

// Validate reports unusable options.
func (o Options) Validate() error {
	var errs []error
	if o.Schema == nil {
		errs = append(errs, errors.New("fieldmanager: a schema is required"))
	} else if o.Schema.Type(o.GVK) == nil {
		errs = append(errs, fmt.Errorf("fieldmanager: the schema has no type for %v", o.GVK))
	}
	if o.GVK.Kind == "" || o.GVK.Version == "" {
		errs = append(errs, fmt.Errorf("fieldmanager: kind and version are required, got %v", o.GVK))
	}
	return errors.Join(errs...)
}

// Manager tracks the fields of one kind's objects.
type Manager struct {
	gvk   schema.GroupVersionKind
	fm    *managedfields.FieldManager
	empty oneVersion
}

// New makes a Manager.
func New(o Options) (*Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var reset map[fieldpath.APIVersion]fieldpath.Filter
	if len(o.ResetFields) > 0 {
		set := fieldpath.NewSet()
		for _, f := range o.ResetFields {
			set.Insert(fieldpath.MakePathOrDie(f))
		}
		reset = map[fieldpath.APIVersion]fieldpath.Filter{
			fieldpath.APIVersion(o.GVK.GroupVersion().String()): fieldpath.NewExcludeSetFilter(set),
		}
	}
	one := oneVersion{gvk: o.GVK, empty: o.Empty}
	fm, err := managedfields.NewDefaultFieldManager(typeConverter{o.Schema}, one, one, one, o.GVK, o.GVK.GroupVersion(), o.Subresource, reset)
	if err != nil {
		return nil, fmt.Errorf("fieldmanager: %w", err)
	}
	return &Manager{gvk: o.GVK, fm: fm, empty: one}, nil
}

// Update returns the managedFields obj is to be stored with when manager
// changed live into it (live is nil on create: the Empty object). Both
// are Kubernetes JSON objects; obj's own managedFields are read as kube-apiserver reads a
// request's: [] or [{}] resets them, a valid non-empty list replaces the
// stored one, anything else keeps it.
func (m *Manager) Update(live, obj map[string]any, manager string) ([]metav1.ManagedFieldsEntry, error) {
	out, err := m.fm.Update(m.object(live), m.object(obj), manager)
	if err != nil {
		return nil, err
	}
	return managedFieldsOf(out)
}

// Apply returns live as manager's apply of patch leaves it, managedFields
// included (live is nil when there is no object yet). Errors are
// Kubernetes API errors (see Status): a conflict is a 409 naming each
// field and the manager owning it, unless force takes them.
func (m *Manager) Apply(live, patch map[string]any, manager string, force bool) (map[string]any, error) {
	out, err := m.fm.Apply(m.object(live), &unstructured.Unstructured{Object: patch}, manager, force)
	if err != nil {
		return nil, err
	}
	u, ok := out.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("fieldmanager: apply made a %T", out)
	}
	return u.Object, nil
}

// object wraps a JSON object (nil for none) with the kind's apiVersion
// and kind.
func (m *Manager) object(obj map[string]any) *unstructured.Unstructured {
	if obj == nil {
		return m.empty.newObject()
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(m.gvk)
	return u
}

func managedFieldsOf(obj runtime.Object) ([]metav1.ManagedFieldsEntry, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("fieldmanager: update made a %T", obj)
	}
	return u.GetManagedFields(), nil
}

// Status is err as a Kubernetes Status when it is an API error of the
// machinery (a conflict, a bad patch), and false otherwise.
func Status(err error) (metav1.Status, bool) {
	var se kerrors.APIStatus
	if errors.As(err, &se) {
		return se.Status(), true
	}
	return metav1.Status{}, false
}

// typeConverter types objects of the kinds of a typeschema.Schema.
type typeConverter struct{ schema *typeschema.Schema }

func (c typeConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	t := c.schema.Type(gvk)
	if t == nil {
		return nil, runtime.NewNotRegisteredErrForKind("portico", gvk)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("fieldmanager: cannot type a %T", obj)
	}
	return t.FromUnstructured(u.Object, opts...)
}

func (typeConverter) TypedToObject(v *typed.TypedValue) (runtime.Object, error) {
	m, ok := v.AsValue().Unstructured().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("fieldmanager: a typed value is not an object")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// oneVersion is the converter, defaulter and creater of a kind served in
// one version: conversion to it is the identity, to any other version
// fails as not registered (which drops that version's managedFields).
type oneVersion struct {
	gvk   schema.GroupVersionKind
	empty map[string]any
}

// newObject is a copy of the empty object.
func (o oneVersion) newObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(o.empty)}
	if u.Object == nil {
		u.Object = map[string]any{}
	}
	u.SetGroupVersionKind(o.gvk)
	return u
}

func (o oneVersion) Convert(in, out, _ any) error {
	return fmt.Errorf("fieldmanager: no conversion from %T to %T", in, out)
}

func (o oneVersion) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	gvk := in.GetObjectKind().GroupVersionKind()
	if want, ok := target.KindForGroupVersionKinds([]schema.GroupVersionKind{o.gvk}); ok && want == o.gvk && gvk == o.gvk {
		return in, nil
	}
	return nil, runtime.NewNotRegisteredErrForTarget("portico", reflect.TypeOf(in), target)
}

func (o oneVersion) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

func (oneVersion) Default(runtime.Object) {}

func (o oneVersion) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	if gvk != o.gvk {
		return nil, runtime.NewNotRegisteredErrForKind("portico", gvk)
	}
	return o.newObject(), nil
}
