// Package serviceaccount issues and verifies service-account tokens: JWTs
// as kube-apiserver's TokenRequest makes them (RS256 or ES256/384/512,
// "kid" = SHA-256 of the public key, the "kubernetes.io" private claim),
// signed with --service-account-signing-key-file and verified with every
// key of --service-account-key-file. A token names its service account by
// namespace, name and UID, and may be bound to a pod, a secret or a node
// the same way; it is refused once that account or object is gone or
// replaced, and at its expiry.
//
// The JWT code is small and on purpose: compact JWS only, no "none", no
// algorithm a key's type does not match, every input size-limited.
package serviceaccount

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Identity conventions (k8s.io/apiserver serviceaccount/util.go).
const (
	UsernamePrefix = "system:serviceaccount:"
	GroupAll       = "system:serviceaccounts"
	GroupPrefix    = "system:serviceaccounts:"
)

// DefaultIssuer is --service-account-issuer's default.
const DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

// Username is "system:serviceaccount:<namespace>:<name>".
func Username(namespace, name string) string {
	return UsernamePrefix + namespace + ":" + name
}

// SplitUsername returns the namespace and name of a service-account user
// name; ok is false for any other name.
func SplitUsername(username string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(username, UsernamePrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// Groups are the groups of a service account in namespace.
func Groups(namespace string) []string {
	return []string{GroupAll, GroupPrefix + namespace}
}

// claims is a token's payload, in kube-apiserver's field order.
type claims struct {
	Audience   audience    `json:"aud"`
	Expiry     numericDate `json:"exp"`
	IssuedAt   numericDate `json:"iat"`
	Issuer     string      `json:"iss"`
	ID         string      `json:"jti,omitempty"`
	Kubernetes *k8sClaims  `json:"kubernetes.io,omitempty"`
	NotBefore  numericDate `json:"nbf"`
	Subject    string      `json:"sub"`
}

// k8sClaims is the "kubernetes.io" private claim: the account, and the
// object the token is bound to (a pod, with the node it runs on; a
// secret; or a node).
type k8sClaims struct {
	Namespace      string `json:"namespace"`
	Node           *ref   `json:"node,omitempty"`
	Pod            *ref   `json:"pod,omitempty"`
	Secret         *ref   `json:"secret,omitempty"`
	ServiceAccount ref    `json:"serviceaccount"`
}

type ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// audience is "aud": a JSON array, or a single string as RFC 7519 allows.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// numericDate is seconds since the epoch; a fraction is dropped.
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("a date is not a number")
	}
	if math.IsNaN(f) || f < 0 || f > math.MaxInt32*4 {
		return errors.New("a date is out of range")
	}
	*d = numericDate(f)
	return nil
}

// parseClaims decodes a payload strictly enough for a token: one JSON
// object, nothing after it.
func parseClaims(payload []byte) (*claims, error) {
	var c claims
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("malformed token claims: %w", err)
	}
	if dec.More() {
		return nil, errors.New("malformed token claims: trailing data")
	}
	return &c, nil
}

// peekIssuer is the "iss" of a payload, "" when it cannot be read.
func peekIssuer(payload []byte) string {
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Issuer
}
