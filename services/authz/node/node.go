// Package node is the Node authorization mode: a kubelet
// (system:node:<name> in system:nodes) may do what running its pods needs
// and nothing more, as kube-apiserver's node authorizer with
// AuthorizeNodeWithSelectors has it. It may
//   - read services and endpoints;
//   - read its own Node (get, or list/watch limited to its name), update it
//     and its status, and create Nodes (the api's node restriction lets it
//     register only itself);
//   - read the pods bound to it (get, or list/watch with
//     fieldSelector=spec.nodeName=<node>) and update their status; create
//     and delete pods (the node restriction: only its own mirror pods,
//     only pods bound to it);
//   - read (by name) the secrets, config maps, service accounts and
//     claims those pods use, and request tokens for those service accounts;
//   - create and update events; create token and access reviews;
//   - get, create, update, patch and delete leases (its heartbeat; the
//     node restriction keeps it to its own in kube-node-lease).
//
// Everything else, and every other user, gets no opinion.
package node

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/fields"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// Node identity (internal/identity's, named here for this package's readers).
const (
	UserPrefix = identity.NodeUserPrefix
	Group      = identity.GroupNodes
)

// Reader is what the authorizer needs of the graph.
type Reader interface {
	Reachable(node, resource, namespace, name string) bool
	Synced() bool
}

// Authorizer is the Node mode.
type Authorizer struct {
	graph Reader
}

// New returns the Node mode over a graph of pods.
func New(g Reader) *Authorizer { return &Authorizer{graph: g} }

// ErrNotSynced is the error of a graph check before the pods were listed.
var ErrNotSynced = errors.New("node authorizer: the pods are still being listed")

// NodeName is the node a user is a kubelet of, and whether it is one.
func NodeName(u *authnv1.UserInfo) (string, bool) { return identity.NodeName(u) }

// Authorize implements authorizer.Authorizer.
func (a *Authorizer) Authorize(_ context.Context, u *authnv1.UserInfo, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	node, ok := NodeName(u)
	if !ok {
		return authorizer.NoOpinion, "", nil
	}
	if node == "" {
		return authorizer.NoOpinion, fmt.Sprintf("unknown node for user %q", u.GetUsername()), nil
	}
	if !at.GetResourceRequest() {
		return authorizer.NoOpinion, "", nil
	}
	switch at.GetApiGroup() {
	case "":
		switch at.GetResource() {
		case "services", "endpoints":
			if at.GetSubresource() == "" && readVerb(at.GetVerb()) {
				return authorizer.Allow, "", nil
			}
		case "events":
			return events(at)
		case "nodes":
			return a.nodes(node, at)
		case Pods:
			return a.pods(node, at)
		case Secrets, ConfigMaps, PersistentVolumeClaims:
			return a.readByName(node, at)
		case ServiceAccounts:
			return a.serviceAccounts(node, at)
		}
	case "events.k8s.io":
		if at.GetResource() == "events" {
			return events(at)
		}
	case "coordination.k8s.io":
		// A kubelet's heartbeat (kube's system:node rule; node
		// restriction admission keeps it to its own lease).
		if at.GetResource() == "leases" && at.GetSubresource() == "" && slices.Contains(leaseVerbs, at.GetVerb()) {
			return authorizer.Allow, "", nil
		}
	case "authentication.k8s.io":
		if at.GetResource() == "tokenreviews" && at.GetVerb() == "create" {
			return authorizer.Allow, "", nil
		}
	case "authorization.k8s.io":
		if (at.GetResource() == "subjectaccessreviews" || at.GetResource() == "localsubjectaccessreviews") && at.GetVerb() == "create" {
			return authorizer.Allow, "", nil
		}
	}
	return authorizer.NoOpinion, "", nil
}

// ErrNoRules is the evaluation error of a kubelet's rules review: its
// permissions depend on its pods and cannot be listed.
var ErrNoRules = errors.New("node authorizer does not support user rule resolution")

// RulesFor implements authorizer.RuleResolver as kube-apiserver's node
// authorizer does: nothing to list for other users, incomplete for a
// kubelet.
func (a *Authorizer) RulesFor(_ context.Context, u *authnv1.UserInfo, _ string) (authorizer.Rules, bool, error) {
	if _, ok := NodeName(u); ok {
		return authorizer.Rules{}, true, ErrNoRules
	}
	return authorizer.Rules{}, false, nil
}

// leaseVerbs are what a kubelet may do with leases.
var leaseVerbs = []string{"get", "create", "update", "patch", "delete"}

func readVerb(v string) bool { return v == "get" || v == "list" || v == "watch" }

func events(at *authzv1.Attributes) (authorizer.Decision, string, error) {
	switch at.GetVerb() {
	case "create", "update", "patch":
		return authorizer.Allow, "", nil
	}
	return authorizer.NoOpinion, "", nil
}

// nodes: a kubelet reads and updates its own Node only.
func (a *Authorizer) nodes(node string, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	switch at.GetSubresource() {
	case "":
		switch {
		case readVerb(at.GetVerb()):
			switch at.GetName() {
			case node:
				return authorizer.Allow, "", nil
			case "":
				return authorizer.NoOpinion, fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", node), nil
			default:
				return authorizer.NoOpinion, fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", node, at.GetName()), nil
			}
		case at.GetVerb() == "create":
			// The name is in the body: the api's node restriction checks it.
			return authorizer.Allow, "", nil
		case at.GetVerb() == "update" || at.GetVerb() == "patch":
			if at.GetName() == node {
				return authorizer.Allow, "", nil
			}
			return authorizer.NoOpinion, fmt.Sprintf("node '%s' cannot modify '%s', only its own Node object", node, at.GetName()), nil
		}
	case "status":
		if (at.GetVerb() == "update" || at.GetVerb() == "patch") && at.GetName() == node {
			return authorizer.Allow, "", nil
		}
	}
	return authorizer.NoOpinion, "", nil
}

// pods: a kubelet reads its pods and updates their status.
func (a *Authorizer) pods(node string, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	switch at.GetSubresource() {
	case "":
		switch at.GetVerb() {
		case "create", "delete":
			// Mirror pods: the api's node restriction admits only a
			// kubelet's own, and deletes of pods bound to it.
			return authorizer.Allow, "", nil
		case "get":
			return a.reachable(node, at)
		case "list", "watch":
			if onNode(at.GetFieldSelector(), node) {
				return authorizer.Allow, "", nil
			}
			if at.GetName() != "" {
				return a.reachable(node, at)
			}
			return authorizer.NoOpinion, "can only list/watch pods with spec.nodeName field selector", nil
		}
	case "status":
		if at.GetVerb() == "update" || at.GetVerb() == "patch" {
			return a.reachable(node, at)
		}
	}
	return authorizer.NoOpinion, "", nil
}

// onNode reports whether a field selector limits a list to one node's
// pods.
func onNode(sel, node string) bool {
	if sel == "" {
		return false
	}
	s, err := fields.ParseSelector(sel)
	if err != nil {
		return false
	}
	v, ok := s.RequiresExactMatch("spec.nodeName")
	return ok && v == node
}

// readByName: objects a node's pods use, read one at a time.
func (a *Authorizer) readByName(node string, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	if !readVerb(at.GetVerb()) {
		return authorizer.NoOpinion, "can only read resources of this type", nil
	}
	if at.GetSubresource() != "" {
		return authorizer.NoOpinion, "cannot read subresource", nil
	}
	if at.GetNamespace() == "" {
		return authorizer.NoOpinion, "can only read namespaced object of this type", nil
	}
	return a.reachable(node, at)
}

// serviceAccounts: read by name, and tokens, for the accounts of a node's
// pods.
func (a *Authorizer) serviceAccounts(node string, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	if at.GetSubresource() == "token" && at.GetVerb() == "create" {
		return a.reachable(node, at)
	}
	return a.readByName(node, at)
}

func (a *Authorizer) reachable(node string, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	if at.GetName() == "" {
		return authorizer.NoOpinion, "No Object name found", nil
	}
	if !a.graph.Synced() {
		return authorizer.NoOpinion, "", ErrNotSynced
	}
	if a.graph.Reachable(node, at.GetResource(), at.GetNamespace(), at.GetName()) {
		return authorizer.Allow, "", nil
	}
	return authorizer.NoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}
