// Package controllers names the api's built-in controllers and reads
// --builtin-controllers. The controllers themselves are its
// subpackages: garbagecollector and namespace, over metaclient, the
// metadata view of the api's kinds, with workqueue's bounded queues.
//
// They do what kube-controller-manager's controllers of the same names
// do, so that `portico up` alone finishes what a delete starts; when a
// real kube-controller-manager runs against Portico, turn them off
// (--builtin-controllers= ) so that two collectors do not race.
package controllers

import (
	"fmt"
	"slices"
	"strings"
)

// The built-in controllers.
const (
	GarbageCollector = "garbagecollector"
	Namespace        = "namespace"
)

// All are the built-in controllers, each on by default.
func All() []string { return []string{GarbageCollector, Namespace} }

// kubeNames are kube-controller-manager's --controllers names.
var kubeNames = map[string]string{
	"garbage-collector-controller": GarbageCollector,
	"namespace-controller":         Namespace,
}

// Parse reads a --builtin-controllers list the way
// kube-controller-manager reads --controllers: names (ours or kube's),
// "*" for every controller, "-name" to leave one out; an empty list
// turns them all off. It returns the set that runs.
func Parse(list []string) (map[string]bool, error) {
	on := map[string]bool{}
	var off []string
	for _, raw := range list {
		name := strings.TrimSpace(raw)
		neg := strings.HasPrefix(name, "-")
		name = strings.TrimPrefix(name, "-")
		if k, ok := kubeNames[name]; ok {
			name = k
		}
		switch {
		case name == "" && !neg:
			continue
		case name == "*" && !neg:
			for _, c := range All() {
				on[c] = true
			}
			continue
		case !slices.Contains(All(), name):
			return nil, fmt.Errorf("unknown controller %q: known are %s (or kube-controller-manager's garbage-collector-controller, namespace-controller), \"*\" and \"-name\"", raw, strings.Join(All(), ", "))
		}
		if neg {
			off = append(off, name)
		} else {
			on[name] = true
		}
	}
	for _, name := range off {
		delete(on, name)
	}
	return on, nil
}
