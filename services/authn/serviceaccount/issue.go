package serviceaccount

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// TokenRequest limits (k8s.io/kubernetes pkg/apis/authentication).
const (
	// DefaultExpirationSeconds is a TokenRequest's lifetime when it names none.
	DefaultExpirationSeconds = 3600
	// MinExpirationSeconds is the shortest lifetime a TokenRequest may ask.
	MinExpirationSeconds = 600
	// MaxExpirationSeconds is the longest (2^32 s).
	MaxExpirationSeconds = 1 << 32
	// MaxAudiences bounds the audiences of one request.
	MaxAudiences = 64
	// MaxAudienceBytes bounds one audience.
	MaxAudienceBytes = 1 << 10
)

// FieldError is one invalid field of a TokenRequest, worded as
// kube-apiserver's validation words it.
type FieldError struct {
	Field   string // "spec.expirationSeconds"
	Message string // "Invalid value: 60: may not specify a duration less than 10 minutes"
}

// InvalidError lists what is wrong with a TokenRequest.
type InvalidError []FieldError

func (e InvalidError) Error() string {
	msg := "invalid token request"
	for i, f := range e {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		msg += sep + f.Field + ": " + f.Message
	}
	return msg
}

// Request is what a token is asked for.
type Request struct {
	Namespace, Name, UID string
	// Audiences; the API audiences when empty.
	Audiences []string
	// ExpirationSeconds; DefaultExpirationSeconds when nil.
	ExpirationSeconds *int64
	// Pod, Secret and Node are the object the token is bound to: a pod
	// (Node then being the node it runs on, if any), a secret, or a node
	// alone. All nil for an unbound token.
	Pod, Secret, Node *ObjectRef
}

// ObjectRef names an object by name and UID.
type ObjectRef struct{ Name, UID string }

// Token is an issued token.
type Token struct {
	Token             string
	Audiences         []string
	ExpirationSeconds int64
	Expires           time.Time
}

// Signer issues tokens.
type Signer struct {
	key          crypto.Signer
	alg, kid     string
	issuer       string
	apiAudiences []string
	maxSeconds   int64
	now          func() time.Time
}

// NewSigner signs with key as issuer; tokens that name no audience get
// apiAudiences. now may be nil (time.Now).
func NewSigner(key crypto.Signer, issuer string, apiAudiences []string, now func() time.Time) (*Signer, error) {
	if key == nil {
		return nil, errors.New("service-account signer: no key")
	}
	if issuer == "" {
		return nil, errors.New("service-account signer: no issuer")
	}
	if len(apiAudiences) == 0 {
		return nil, errors.New("service-account signer: no API audiences")
	}
	alg, err := Algorithm(key.Public())
	if err != nil {
		return nil, fmt.Errorf("service-account signing key: %w", err)
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("service-account signing key: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, alg: alg, kid: kid, issuer: issuer, apiAudiences: slices.Clone(apiAudiences), now: now}, nil
}

// Public is the signing key's public half.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Validate checks a request and fills its defaults: the audiences and
// the lifetime the token will have.
func Validate(r Request, apiAudiences []string) (audiences []string, seconds int64, err error) {
	var errs InvalidError
	seconds = DefaultExpirationSeconds
	if r.ExpirationSeconds != nil {
		seconds = *r.ExpirationSeconds
		switch {
		case seconds < MinExpirationSeconds:
			errs = append(errs, FieldError{"spec.expirationSeconds", fmt.Sprintf("Invalid value: %d: may not specify a duration less than 10 minutes", seconds)})
		case seconds > MaxExpirationSeconds:
			errs = append(errs, FieldError{"spec.expirationSeconds", fmt.Sprintf("Invalid value: %d: may not specify a duration larger than 2^32 seconds", seconds)})
		}
	}
	if len(r.Audiences) > MaxAudiences {
		errs = append(errs, FieldError{"spec.audiences", fmt.Sprintf("Too many: %d: must have at most %d items", len(r.Audiences), MaxAudiences)})
	}
	for i, a := range r.Audiences {
		switch {
		case a == "":
			errs = append(errs, FieldError{fmt.Sprintf("spec.audiences[%d]", i), `Invalid value: "": must not be empty`})
		case len(a) > MaxAudienceBytes:
			errs = append(errs, FieldError{fmt.Sprintf("spec.audiences[%d]", i), fmt.Sprintf("Too long: may not be more than %d bytes", MaxAudienceBytes)})
		}
	}
	errs = append(errs, validateBinding(r)...)
	if r.Namespace == "" || r.Name == "" || r.UID == "" {
		errs = append(errs, FieldError{"metadata", "Required value: the service account's namespace, name and uid"})
	}
	if len(errs) > 0 {
		return nil, 0, errs
	}
	audiences = slices.Clone(r.Audiences)
	if len(audiences) == 0 {
		audiences = slices.Clone(apiAudiences)
	}
	return audiences, seconds, nil
}

// validateBinding checks the bound object: one of pod or secret or node,
// or a pod with its node, each named with its UID (but a pod's node, which
// is information only and may be missing: kube then names it alone).
func validateBinding(r Request) InvalidError {
	var errs InvalidError
	if r.Secret != nil && (r.Pod != nil || r.Node != nil) {
		errs = append(errs, FieldError{"spec.boundObjectRef", "Invalid value: a token is bound to one object"})
	}
	incomplete := func(o *ObjectRef, uidRequired bool) bool {
		return o != nil && (o.Name == "" || uidRequired && o.UID == "")
	}
	if incomplete(r.Pod, true) || incomplete(r.Secret, true) || incomplete(r.Node, r.Pod == nil) {
		errs = append(errs, FieldError{"spec.boundObjectRef", "Required value: the bound object's name and uid"})
	}
	return errs
}

// WithMaxExpiration caps the lifetime of the tokens s issues at seconds
// (--service-account-max-token-expiration; 0: no cap but
// MaxExpirationSeconds). A longer request is shortened, not refused, as
// kube-apiserver does. It returns s.
func (s *Signer) WithMaxExpiration(seconds int64) *Signer {
	s.maxSeconds = seconds
	return s
}

// Issue signs a token for r. Errors of the request are an InvalidError.
func (s *Signer) Issue(r Request) (*Token, error) {
	audiences, seconds, err := Validate(r, s.apiAudiences)
	if err != nil {
		return nil, err
	}
	if s.maxSeconds > 0 && seconds > s.maxSeconds {
		seconds = s.maxSeconds
	}
	now := s.now().Truncate(time.Second)
	exp := now.Add(time.Duration(seconds) * time.Second)
	jti, err := uuid.NewRandom()
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(claims{
		Audience: audiences,
		Expiry:   numericDate(exp.Unix()),
		IssuedAt: numericDate(now.Unix()),
		Issuer:   s.issuer,
		ID:       jti.String(),
		Kubernetes: &k8sClaims{
			Namespace:      r.Namespace,
			ServiceAccount: ref{Name: r.Name, UID: r.UID},
			Pod:            refOf(r.Pod),
			Secret:         refOf(r.Secret),
			Node:           refOf(r.Node),
		},
		NotBefore: numericDate(now.Unix()),
		Subject:   Username(r.Namespace, r.Name),
	})
	if err != nil {
		return nil, err
	}
	tok, err := sign(s.key, s.alg, s.kid, payload)
	if err != nil {
		return nil, err
	}
	return &Token{Token: tok, Audiences: audiences, ExpirationSeconds: seconds, Expires: exp}, nil
}

func refOf(o *ObjectRef) *ref {
	if o == nil {
		return nil
	}
	return &ref{Name: o.Name, UID: o.UID}
}
