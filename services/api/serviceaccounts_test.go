package api

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// issuer is authn's stand-in: it records the issue request and caps the
// lifetime at max.
type issuer struct {
	nopAuthn
	max  int64
	last *authnv1.IssueServiceAccountTokenRequest
}

func (i *issuer) IssueServiceAccountToken(_ context.Context, req *authnv1.IssueServiceAccountTokenRequest) (*authnv1.IssueServiceAccountTokenResponse, error) {
	i.last = req
	exp := int64(3600)
	if req.GetSpec().ExpirationSeconds != nil {
		exp = req.GetSpec().GetExpirationSeconds()
	}
	return &authnv1.IssueServiceAccountTokenResponse{Status: &corev1.TokenRequestStatus{Token: "t"}, ExpirationSeconds: min(exp, i.max)}, nil
}

// TestTokenBinding: boundObjectRef is found, its UID checked or filled
// in, a pod's node named; a kubelet's token must be bound to its own pod.
func TestTokenBinding(t *testing.T) {
	iss := &issuer{max: 7200}
	c := newAPIWith(t, iss)
	ctx := t.Context()
	ns := newNamespace(t, c)
	s := c.svc
	if _, err := s.serviceAccounts.create(ctx, ns, &corev1.ServiceAccount{Metadata: &corev1.ObjectMeta{Name: "app"}}, writeOptions{}); err != nil {
		t.Fatal(err)
	}
	node, err := s.nodes.create(ctx, "", &corev1.Node{Metadata: &corev1.ObjectMeta{Name: "tb-n1"}}, writeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(name, sa, nodeName string) *corev1.Pod {
		p, err := s.pods.create(ctx, ns, &corev1.Pod{Metadata: &corev1.ObjectMeta{Name: name},
			Spec: &corev1.PodSpec{ServiceAccountName: sa, NodeName: nodeName, Containers: []*corev1.Container{{Name: "c", Image: "i"}}}}, writeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	web, theirs := pod("web", "app", "tb-n1"), pod("theirs", "app", "tb-n2")
	pod("other", "default", "tb-n1")
	secret, err := s.secrets.create(ctx, ns, &corev1.Secret{Metadata: &corev1.ObjectMeta{Name: "s"}}, writeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := identity.WithUser(ctx, &authnv1.UserInfo{Username: "system:node:tb-n1", Groups: []string{"system:nodes"}})
	ref := func(kind, name, uid string) *corev1.BoundObjectReference {
		return &corev1.BoundObjectReference{ApiVersion: "v1", Kind: kind, Name: name, Uid: uid}
	}
	long := int64(1 << 32)
	tests := map[string]struct {
		ctx       context.Context
		ref       *corev1.BoundObjectReference
		exp       *int64
		wantErr   string
		wantCode  apierrors.Reason
		wantBound string // pod, secret, node of the issue request
		wantExp   int64
	}{
		"unbound":                     {ctx: ctx, wantExp: 3600},
		"capped":                      {ctx: ctx, exp: &long, wantExp: 7200},
		"pod, uid filled":             {ctx: ctx, ref: ref("Pod", "web", ""), wantBound: "pod=web/" + web.GetMetadata().GetUid() + " node=tb-n1/" + node.GetMetadata().GetUid(), wantExp: 3600},
		"pod on a missing node":       {ctx: ctx, ref: ref("Pod", "theirs", theirs.GetMetadata().GetUid()), wantBound: "pod=theirs/" + theirs.GetMetadata().GetUid() + " node=tb-n2/", wantExp: 3600},
		"secret":                      {ctx: ctx, ref: ref("Secret", "s", secret.GetMetadata().GetUid()), wantBound: "secret=s/" + secret.GetMetadata().GetUid(), wantExp: 3600},
		"node":                        {ctx: ctx, ref: ref("Node", "tb-n1", ""), wantBound: "node=tb-n1/" + node.GetMetadata().GetUid(), wantExp: 3600},
		"stale uid":                   {ctx: ctx, ref: ref("Pod", "web", "old"), wantCode: apierrors.ReasonConflict, wantErr: `Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (old) does not match the UID in record`},
		"another account's pod":       {ctx: ctx, ref: ref("Pod", "other", ""), wantCode: apierrors.ReasonBadRequest, wantErr: `cannot bind token for serviceaccount "app" to pod running with different serviceaccount name.`},
		"missing pod":                 {ctx: ctx, ref: ref("Pod", "gone", ""), wantCode: apierrors.ReasonNotFound, wantErr: `pods "gone" not found`},
		"unknown kind":                {ctx: ctx, ref: &corev1.BoundObjectReference{ApiVersion: "apps/v1", Kind: "Deployment", Name: "d"}, wantCode: apierrors.ReasonBadRequest, wantErr: "cannot bind token to object of type apps/v1, Kind=Deployment"},
		"kubelet, unbound":            {ctx: kubelet, wantCode: apierrors.ReasonForbidden, wantErr: `serviceaccounts "app" is forbidden: node requested token not bound to a pod`},
		"kubelet, own pod":            {ctx: kubelet, ref: ref("Pod", "web", web.GetMetadata().GetUid()), exp: &long, wantBound: "pod=web/" + web.GetMetadata().GetUid() + " node=tb-n1/" + node.GetMetadata().GetUid(), wantExp: 7200},
		"kubelet, another node's pod": {ctx: kubelet, ref: ref("Pod", "theirs", theirs.GetMetadata().GetUid()), wantCode: apierrors.ReasonForbidden, wantErr: "node requested token bound to a pod scheduled on a different node"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			iss.last = nil
			out, err := s.createServiceAccountToken(tc.ctx, &corev1.CreateServiceAccountTokenRequest{Namespace: ns, Name: "app",
				TokenRequest: &corev1.TokenRequest{Spec: &corev1.TokenRequestSpec{BoundObjectRef: tc.ref, ExpirationSeconds: tc.exp}}})
			if tc.wantErr != "" {
				if err == nil || reason(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v (%s), want %s %q", err, reason(err), tc.wantCode, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var bound []string
			for _, b := range []struct {
				what string
				o    *authnv1.BoundObject
			}{{"pod", iss.last.GetPod()}, {"secret", iss.last.GetSecret()}, {"node", iss.last.GetNode()}} {
				if b.o != nil {
					bound = append(bound, b.what+"="+b.o.GetName()+"/"+b.o.GetUid())
				}
			}
			if got := strings.Join(bound, " "); got != tc.wantBound {
				t.Errorf("bound = %q, want %q", got, tc.wantBound)
			}
			spec := out.(*corev1.TokenRequest).GetSpec()
			if spec.GetExpirationSeconds() != tc.wantExp {
				t.Errorf("expirationSeconds = %d, want %d", spec.GetExpirationSeconds(), tc.wantExp)
			}
			if tc.ref != nil && spec.GetBoundObjectRef().GetUid() == "" {
				t.Error("the answer's boundObjectRef has no uid")
			}
		})
	}
}
