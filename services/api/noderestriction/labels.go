package noderestriction

import (
	"slices"
	"strings"
)

// kubeletLabels are the kubernetes.io labels a kubelet sets on its own
// Node (k8s.io/kubelet's well-known labels).
var kubeletLabels = map[string]bool{
	"kubernetes.io/hostname":                   true,
	"topology.kubernetes.io/zone":              true,
	"topology.kubernetes.io/region":            true,
	"failure-domain.beta.kubernetes.io/zone":   true,
	"failure-domain.beta.kubernetes.io/region": true,
	"beta.kubernetes.io/instance-type":         true,
	"node.kubernetes.io/instance-type":         true,
	"kubernetes.io/os":                         true,
	"kubernetes.io/arch":                       true,
	"beta.kubernetes.io/os":                    true,
	"beta.kubernetes.io/arch":                  true,
}

// kubeletLabelNamespaces are the label prefixes (and their subdomains) a
// kubelet may use freely.
var kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}

// restrictedNamespace is the prefix only administrators may set on a Node
// (labels that steer workloads to chosen nodes).
const restrictedNamespace = "node-restriction.kubernetes.io"

// forbiddenLabels are the keys added, changed or removed between labels
// and old that a kubelet may not touch, sorted.
func forbiddenLabels(labels, old map[string]string) []string {
	var out []string
	for _, key := range modified(labels, old) {
		ns := labelNamespace(key)
		switch {
		case inNamespace(ns, restrictedNamespace):
			out = append(out, key)
		case isKubernetesLabel(ns) && !isKubeletLabel(key, ns):
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// modified are the keys whose presence or value differ.
func modified(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func labelNamespace(key string) string {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return ""
	}
	return ns
}

// inNamespace reports whether ns is want or a subdomain of it.
func inNamespace(ns, want string) bool {
	return ns == want || strings.HasSuffix(ns, "."+want)
}

func isKubernetesLabel(ns string) bool {
	return inNamespace(ns, "kubernetes.io") || inNamespace(ns, "k8s.io")
}

func isKubeletLabel(key, ns string) bool {
	if kubeletLabels[key] {
		return true
	}
	return slices.ContainsFunc(kubeletLabelNamespaces, func(allowed string) bool { return inNamespace(ns, allowed) })
}
