package authorizer

import (
	"context"
	"errors"
	"testing"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

func fixed(d Decision, err error) Authorizer {
	return Func(func(context.Context, *authnv1.UserInfo, *authzv1.Attributes) (Decision, string, error) {
		return d, d.String(), err
	})
}

func TestUnion(t *testing.T) {
	boom := errors.New("boom")
	tests := map[string]struct {
		members []Authorizer
		want    Decision
		wantErr bool
	}{
		"empty is no opinion":         {nil, NoOpinion, false},
		"first allow wins":            {[]Authorizer{fixed(NoOpinion, nil), fixed(Allow, nil), fixed(Deny, nil)}, Allow, false},
		"first deny wins":             {[]Authorizer{fixed(Deny, nil), fixed(Allow, nil)}, Deny, false},
		"error then allow allows":     {[]Authorizer{fixed(NoOpinion, boom), fixed(Allow, nil)}, Allow, false},
		"error and no decision fails": {[]Authorizer{fixed(NoOpinion, boom), fixed(NoOpinion, nil)}, NoOpinion, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, _, err := Union(tc.members...).Authorize(context.Background(), &authnv1.UserInfo{}, &authzv1.Attributes{})
			if d != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("got %v, %v; want %v, err %v", d, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestFromModes(t *testing.T) {
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}}
	admin := &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters"}}
	svc := identity.Service("authn")
	tests := map[string]struct {
		modes   []string
		user    *authnv1.UserInfo
		verb    string
		want    Decision
		wantErr bool
	}{
		"services may read":         {modes: []string{"AlwaysDeny"}, user: svc, verb: "list", want: Allow},
		"services may not write":    {modes: []string{"AlwaysDeny"}, user: svc, verb: "create", want: Deny},
		"AlwaysDeny denies bob":     {modes: []string{"AlwaysDeny"}, user: bob, want: Deny},
		"AlwaysDeny allows masters": {modes: []string{"AlwaysDeny"}, user: admin, want: Allow},
		"AlwaysAllow allows bob":    {modes: []string{"AlwaysAllow"}, user: bob, want: Allow},
		"deny before allow":         {modes: []string{"AlwaysDeny", "AlwaysAllow"}, user: bob, want: Deny},
		"unknown mode":              {modes: []string{"Magic"}, user: bob, wantErr: true},
		"no mode":                   {user: bob, wantErr: true},
		"duplicate mode":            {modes: []string{"AlwaysAllow", "AlwaysAllow"}, user: bob, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := FromModes(tc.modes, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			verb := tc.verb
			if verb == "" {
				verb = "get"
			}
			d, _, err := a.Authorize(context.Background(), tc.user, &authzv1.Attributes{Verb: verb, Resource: "pods", ResourceRequest: true})
			if err != nil || d != tc.want {
				t.Fatalf("got %v, %v; want %v", d, err, tc.want)
			}
		})
	}
}
