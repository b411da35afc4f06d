package api

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	appsv1 "github.com/portico-dev/portico/proto/portico/apps/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/api/storage"
)

// The validation of pods and the workload kinds that clients and
// controllers run into most, with kube-apiserver's messages: a pod needs
// containers, each with a name and an image; a workload needs a selector
// that selects its own template, and a replica count that is not
// negative. The rest of kube's validation is not ported.

func required(field string) *corev1.StatusCause {
	return &corev1.StatusCause{Reason: "FieldValueRequired", Field: field, Message: "Required value"}
}

// validatePodSpec checks the containers of a pod's or a template's spec
// at path ("spec", "spec.template.spec").
func validatePodSpec(path string, sp *corev1.PodSpec) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	if len(sp.GetContainers()) == 0 {
		causes = append(causes, required(path+".containers"))
	}
	seen := map[string]bool{}
	check := func(list string, cs []*corev1.Container) {
		for i, c := range cs {
			at := fmt.Sprintf("%s.%s[%d]", path, list, i)
			switch name := c.GetName(); {
			case name == "":
				causes = append(causes, required(at+".name"))
			case seen[name]:
				causes = append(causes, &corev1.StatusCause{Reason: "FieldValueDuplicate", Field: at + ".name", Message: fmt.Sprintf("Duplicate value: %q", name)})
			default:
				for _, p := range validateLabelName(name) {
					causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: at + ".name", Message: fmt.Sprintf("Invalid value: %q: %s", name, p)})
				}
			}
			seen[c.GetName()] = true
			if c.GetImage() == "" {
				causes = append(causes, required(at+".image"))
			}
		}
	}
	check("initContainers", sp.GetInitContainers())
	check("containers", sp.GetContainers())
	return causes
}

func validatePod(p, _ *corev1.Pod, _ bool) []*corev1.StatusCause {
	return validatePodSpec("spec", p.GetSpec())
}

// validateWorkload checks a Deployment, ReplicaSet, StatefulSet or
// DaemonSet: its replicas, its selector and its template.
func validateWorkload(obj storage.Object) []*corev1.StatusCause {
	var replicas *int32
	var sel *corev1.LabelSelector
	var tmpl *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		replicas, sel, tmpl = o.GetSpec().Replicas, o.GetSpec().GetSelector(), o.GetSpec().GetTemplate()
	case *appsv1.ReplicaSet:
		replicas, sel, tmpl = o.GetSpec().Replicas, o.GetSpec().GetSelector(), o.GetSpec().GetTemplate()
	case *appsv1.StatefulSet:
		replicas, sel, tmpl = o.GetSpec().Replicas, o.GetSpec().GetSelector(), o.GetSpec().GetTemplate()
	case *appsv1.DaemonSet:
		sel, tmpl = o.GetSpec().GetSelector(), o.GetSpec().GetTemplate()
	default:
		return nil
	}
	var causes []*corev1.StatusCause
	if replicas != nil && *replicas < 0 {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "spec.replicas",
			Message: fmt.Sprintf("Invalid value: %d: must be greater than or equal to 0", *replicas)})
	}
	// A missing selector selects nothing, so it misses the template too
	// (kube reports both).
	selects := labels.Nothing()
	if sel == nil {
		causes = append(causes, required("spec.selector"))
	} else if s, err := metav1.LabelSelectorAsSelector(toK8sSelector(sel)); err == nil {
		selects = s
	}
	if !selects.Empty() && !selects.Matches(labels.Set(tmpl.GetMetadata().GetLabels())) {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "spec.template.metadata.labels",
			Message: fmt.Sprintf("Invalid value: %s: `selector` does not match template `labels`", jsonValue(tmpl.GetMetadata().GetLabels()))})
	}
	return append(causes, validatePodSpec("spec.template.spec", tmpl.GetSpec())...)
}

// toK8sSelector is sel as apimachinery's LabelSelector.
func toK8sSelector(sel *corev1.LabelSelector) *metav1.LabelSelector {
	ks := &metav1.LabelSelector{MatchLabels: sel.GetMatchLabels()}
	for _, e := range sel.GetMatchExpressions() {
		ks.MatchExpressions = append(ks.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.GetKey(), Operator: metav1.LabelSelectorOperator(e.GetOperator()), Values: e.GetValues(),
		})
	}
	return ks
}

// jsonValue prints a value as kube's field errors do (JSON).
func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
