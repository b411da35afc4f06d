package api

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	k8sautoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/portico-dev/portico/internal/apierrors"
	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	patchpkg "github.com/portico-dev/portico/services/api/patch"
	"github.com/portico-dev/portico/services/api/storage"
)

// The scale subresource (autoscaling/v1 Scale) of the kinds with
// replicas, as kube-apiserver serves it: `kubectl scale`, the HPA and the
// deployment controller read and write a kind's spec.replicas through it
// without knowing the kind.

// replicasOf is what a Scale shows of obj: spec.replicas, status.replicas
// and the label selector as a string; ok is false for a kind without
// replicas.
func replicasOf(obj storage.Object) (spec, status int32, selector string, ok bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas(), selectorString(o.GetSpec().GetSelector()), true
	case *appsv1.ReplicaSet:
		return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas(), selectorString(o.GetSpec().GetSelector()), true
	case *appsv1.StatefulSet:
		return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas(), selectorString(o.GetSpec().GetSelector()), true
	case *corev1.ReplicationController:
		return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas(), labels.SelectorFromSet(o.GetSpec().GetSelector()).String(), true
	}
	return 0, 0, "", false
}

// setReplicas sets obj's spec.replicas.
func setReplicas(obj storage.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		if o.Spec == nil {
			o.Spec = &appsv1.DeploymentSpec{}
		}
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		if o.Spec == nil {
			o.Spec = &appsv1.ReplicaSetSpec{}
		}
		o.Spec.Replicas = &n
	case *appsv1.StatefulSet:
		if o.Spec == nil {
			o.Spec = &appsv1.StatefulSetSpec{}
		}
		o.Spec.Replicas = &n
	case *corev1.ReplicationController:
		if o.Spec == nil {
			o.Spec = &corev1.ReplicationControllerSpec{}
		}
		o.Spec.Replicas = &n
	}
}

// selectorString is a label selector as kube's LabelSelectorAsSelector
// prints it ("" for none; a selector kube cannot parse prints as "",
// as kube's Scale leaves it).
func selectorString(sel *corev1.LabelSelector) string {
	if sel == nil {
		return ""
	}
	s, err := metav1.LabelSelectorAsSelector(toK8sSelector(sel))
	if err != nil {
		return ""
	}
	return s.String()
}

// scaleOf is obj's Scale, with the object's name, namespace, uid,
// resourceVersion and creation time.
func scaleOf(obj storage.Object) *corev1.Scale {
	spec, status, selector, _ := replicasOf(obj)
	m := metaOf(obj)
	return &corev1.Scale{
		Metadata: &corev1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), Uid: m.GetUid(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   &corev1.ScaleSpec{Replicas: spec},
		Status: &corev1.ScaleStatus{Replicas: status, Selector: selector},
	}
}

// validateScale is kube's ValidateScale.
func validateScale(s *corev1.Scale) []*corev1.StatusCause {
	if n := s.GetSpec().GetReplicas(); n < 0 {
		return []*corev1.StatusCause{{Reason: "FieldValueInvalid", Field: "spec.replicas",
			Message: fmt.Sprintf("Invalid value: %d: must be greater than or equal to 0", n)}}
	}
	return nil
}

// scaleSubresource serves <resource>/scale: get reads the object's
// Scale; update and patch write the Scale's spec.replicas to the object
// (compare-and-swap on the Scale's resourceVersion when it names one).
// An apply patch is refused: kube's field manager for scale, which maps
// the Scale's fields onto the object's, is not ported.
func scaleSubresource[T storage.Object](r *resource[T]) map[string]func(context.Context, proto.Message) (proto.Message, error) {
	write := func(ctx context.Context, ns, name string, s *corev1.Scale, o writeOptions) (proto.Message, error) {
		if err := checkName(s.GetMetadata().GetName(), name); err != nil {
			return nil, err
		}
		if causes := validateScale(s); len(causes) > 0 {
			return nil, apierrors.Invalid("autoscaling", "Scale", name, causes)
		}
		rv := s.GetMetadata().GetResourceVersion()
		for attempt := 0; ; attempt++ {
			cur, err := r.get(ctx, ns, name)
			if err != nil {
				return nil, err
			}
			next := proto.Clone(cur).(T)
			setReplicas(next, s.GetSpec().GetReplicas())
			if rv != "" {
				metaOf(next).ResourceVersion = rv
			}
			out, err := r.updateFrom(ctx, ns, name, next, cur, o)
			if err != nil && rv == "" && attempt < maxUpdateRetries && apierrors.ReasonOf(err) == apierrors.ReasonConflict {
				continue
			}
			if err != nil {
				return nil, err
			}
			return scaleOf(out), nil
		}
	}
	return map[string]func(context.Context, proto.Message) (proto.Message, error){
		"get": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			obj, err := r.get(ctx, stringField(req, "namespace"), stringField(req, "name"))
			if err != nil {
				return nil, err
			}
			return scaleOf(obj), nil
		},
		"update": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			s, ok := messageField(req, "scale").(*corev1.Scale)
			if !ok || s == nil {
				return nil, apierrors.BadRequest("the request has no Scale")
			}
			o, err := readWriteOptions(ctx, req, "UpdateOptions")
			if err != nil {
				return nil, err
			}
			return write(ctx, stringField(req, "namespace"), stringField(req, "name"), s, o)
		},
		"patch": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			pr, ok := req.(patchRequest)
			if !ok || r.codec == nil {
				return nil, apierrors.MethodNotAllowed()
			}
			if !patchpkg.Supported(pr.GetPatchType()) {
				return nil, patchpkg.Unsupported()
			}
			o, err := readPatchOptions(ctx, pr)
			if err != nil {
				return nil, err
			}
			ns, name := stringField(req, "namespace"), stringField(req, "name")
			cur, err := r.get(ctx, ns, name)
			if err != nil {
				return nil, err
			}
			s, err := patchScale(ctx, r.codec, scaleOf(cur), pr, o)
			if err != nil {
				return nil, err
			}
			// Written on the version patched, unless the patch names
			// its own.
			if !patchSetsResourceVersion(pr.GetPatch(), pr.GetPatchType()) {
				s.Metadata.ResourceVersion = metaOf(cur).GetResourceVersion()
			}
			return write(ctx, ns, name, s, o.write())
		},
	}
}

// patchScale applies a JSON, merge or strategic merge patch to a Scale.
func patchScale(ctx context.Context, codec Codec, cur *corev1.Scale, pr patchRequest, o patchOptions) (*corev1.Scale, error) {
	doc, err := codec.Marshal(cur)
	if err != nil {
		return nil, apierrors.Internal(fmt.Sprintf("encoding Scale: %v", err))
	}
	out, err := patchpkg.Apply(doc, pr.GetPatch(), pr.GetPatchType(), &k8sautoscalingv1.Scale{}, patchpkg.Limits{})
	if err != nil {
		return nil, err
	}
	s := &corev1.Scale{}
	if err := decodePatched(ctx, codec, out, s, o.validation); err != nil {
		return nil, err
	}
	if s.Metadata == nil {
		s.Metadata = &corev1.ObjectMeta{}
	}
	return s, nil
}
