package api

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedName    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValue       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

// MaxAnnotationBytes is kube-apiserver's limit on all annotations together.
const MaxAnnotationBytes = 256 << 10

// validateLabelName is the rule for namespaces (RFC 1123 label).
func validateLabelName(name string) []string {
	var out []string
	if len(name) > 63 {
		out = append(out, "must be no more than 63 characters")
	}
	if !dns1123Label.MatchString(name) {
		out = append(out, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
	}
	return out
}

// validateSubdomainName is the rule for most kinds (RFC 1123 subdomain).
func validateSubdomainName(name string) []string {
	var out []string
	if len(name) > 253 {
		out = append(out, "must be no more than 253 characters")
	}
	if !dns1123Subdomain.MatchString(name) {
		out = append(out, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
	}
	return out
}

var dns1035Label = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// validateDNS1035Label is the rule for services: an RFC 1035 label.
func validateDNS1035Label(name string) []string {
	var out []string
	if len(name) > 63 {
		out = append(out, "must be no more than 63 characters")
	}
	if !dns1035Label.MatchString(name) {
		out = append(out, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
	}
	return out
}

// validatePathSegmentName is the rule for RBAC objects: any name that is
// a single path segment.
func validatePathSegmentName(name string) []string {
	switch {
	case name == "." || name == "..":
		return []string{fmt.Sprintf("may not be '%s'", name)}
	case strings.ContainsAny(name, "/%"):
		return []string{"may not contain '/' or '%'"}
	}
	return nil
}

// validateQualifiedKey checks a label or annotation key: an optional DNS
// subdomain prefix and a name of at most 63 characters.
func validateQualifiedKey(key string) string {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name = prefix
	} else if prefix == "" || len(prefix) > 253 || !dns1123Subdomain.MatchString(prefix) {
		return "prefix part must be a lowercase RFC 1123 subdomain"
	}
	if name == "" || len(name) > 63 || !qualifiedName.MatchString(name) {
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters"
	}
	return ""
}

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = []string{"kubernetes", finalizerOrphan, finalizerForeground}

// validateFinalizerName is kube's ValidateFinalizerName: a qualified name,
// with a domain prefix unless it is a standard finalizer; "" when valid.
func validateFinalizerName(name string) string {
	if p := validateQualifiedKey(name); p != "" {
		return p
	}
	if !strings.Contains(name, "/") && !slices.Contains(standardFinalizers, name) {
		return "name is neither a standard finalizer name nor is it fully qualified"
	}
	return ""
}

func validateMeta(m *corev1.ObjectMeta) []*corev1.StatusCause {
	var causes []*corev1.StatusCause
	invalid := func(field, msg string) {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueInvalid", Field: field, Message: msg})
	}
	for k, v := range m.GetLabels() {
		if p := validateQualifiedKey(k); p != "" {
			invalid("metadata.labels", fmt.Sprintf("Invalid value: %q: %s", k, p))
		}
		if len(v) > 63 || !labelValue.MatchString(v) {
			invalid("metadata.labels", fmt.Sprintf("Invalid value: %q: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters", v))
		}
	}
	total := 0
	for k, v := range m.GetAnnotations() {
		if p := validateQualifiedKey(k); p != "" {
			invalid("metadata.annotations", fmt.Sprintf("Invalid value: %q: %s", k, p))
		}
		total += len(k) + len(v)
	}
	if total > MaxAnnotationBytes {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueTooLong", Field: "metadata.annotations", Message: fmt.Sprintf("Too long: may not be more than %d bytes", MaxAnnotationBytes)})
	}
	for _, f := range m.GetFinalizers() {
		if msg := validateFinalizerName(f); msg != "" {
			invalid("metadata.finalizers", fmt.Sprintf("Invalid value: %q: %s", f, msg))
		}
	}
	if slices.Contains(m.GetFinalizers(), finalizerOrphan) && slices.Contains(m.GetFinalizers(), finalizerForeground) {
		invalid("metadata.finalizers", fmt.Sprintf("Invalid value: %q: finalizer %s and %s cannot be both set", m.GetFinalizers(), finalizerOrphan, finalizerForeground))
	}
	if m.GetGenerateName() != "" && m.GetName() == "" {
		invalid("metadata.generateName", "Invalid value: generateName did not produce a name")
	}
	return causes
}

func protoValueOf(m proto.Message) protoreflect.Value {
	return protoreflect.ValueOfMessage(m.ProtoReflect())
}
