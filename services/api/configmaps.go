package api

import (
	"maps"
	"regexp"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// MaxConfigMapBytes is kube-apiserver's limit on a config map's data.
const MaxConfigMapBytes = 1 << 20

// configMapKey is the rule for data and binaryData keys.
var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

func validateConfigMap(cm, old *corev1.ConfigMap, isCreate bool) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	total := 0
	for k, v := range cm.GetData() {
		if !configMapKey.MatchString(k) || len(k) > 253 {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "data[" + k + "]", Message: "Invalid value: \"" + k + "\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"})
		}
		if _, dup := cm.GetBinaryData()[k]; dup {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "data[" + k + "]", Message: "Invalid value: \"" + k + "\": duplicate of key present in binaryData"})
		}
		total += len(v)
	}
	for k, v := range cm.GetBinaryData() {
		if !configMapKey.MatchString(k) || len(k) > 253 {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: "binaryData[" + k + "]", Message: "Invalid value: \"" + k + "\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"})
		}
		total += len(v)
	}
	if total > MaxConfigMapBytes {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueTooLong", Field: "data", Message: "Too long: may not be more than 1048576 bytes"})
	}
	if !isCreate && old.GetImmutable() {
		if !cm.GetImmutable() {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueForbidden", Field: "immutable", Message: "Forbidden: field is immutable when `immutable` is set"})
		}
		if !maps.Equal(cm.GetData(), old.GetData()) || !maps.EqualFunc(cm.GetBinaryData(), old.GetBinaryData(), func(a, b []byte) bool { return string(a) == string(b) }) {
			causes = append(causes, &corev1.StatusCause{Reason: "FieldValueForbidden", Field: "data", Message: "Forbidden: field is immutable when `immutable` is set"})
		}
	}
	return causes
}
