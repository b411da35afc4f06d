package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/pki"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"github.com/portico-dev/portico/services/authn/serviceaccount"
)

type fakeAccounts struct {
	mu   sync.Mutex
	uids map[string]string // ns/name → uid
	err  error
}

func (f *fakeAccounts) GetObject(_ context.Context, kind serviceaccount.Kind, ns, name string) (serviceaccount.Object, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return serviceaccount.Account{}, false, f.err
	}
	key := ns + "/" + name
	if kind != serviceaccount.KindServiceAccount {
		key = string(kind) + ":" + key
	}
	uid, ok := f.uids[key]
	return serviceaccount.Account{UID: uid}, ok, nil
}

func (f *fakeAccounts) remove(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uids, key)
}

// allowMasters is an Authorizer that allows system:masters only.
type allowMasters struct{}

func (allowMasters) Authorize(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) error {
	if slices.Contains(u.GetGroups(), identity.GroupMasters) {
		return nil
	}
	return apierrors.Forbidden(a.GetApiGroup(), a.GetResource(), "", "forbidden: "+u.GetUsername())
}

type fixture struct {
	svc      *Service
	accounts *fakeAccounts
	clientCA *pki.CA
	dir      string
	now      time.Time
}

func newFixture(t *testing.T, anonymous bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, now: time.Now(), accounts: &fakeAccounts{uids: map[string]string{"demo/default": "uid-sa"}}}
	var err error
	if f.clientCA, err = pki.NewCA(pki.ClientCACommonName, time.Hour); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	svc, err := New(Options{
		TokenAuthFile: write("tokens.csv", []byte("tok-bob,bob,uid-bob,\"dev,qa\"\ntok-admin,admin,uid-admin,system:masters\n"+
			"tok-mallory,mallory,uid-m,system:portico:services\ntok-svc,system:portico:api,uid-s,\n")),
		ClientCAFile:                 write("client-ca.crt", f.clientCA.CertPEM()),
		Anonymous:                    anonymous,
		ServiceAccountSigningKeyFile: write("sa.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	}, Deps{Logger: slog.New(slog.DiscardHandler), Accounts: f.accounts, Authz: allowMasters{}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) cert(t *testing.T, ca *pki.CA, cn string, notBefore time.Time, validity time.Duration, orgs ...string) [][]byte {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.IssueOptions{CommonName: cn, Organizations: orgs, Client: true, NotBefore: notBefore, Validity: validity})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Certificate
}

func (f *fixture) saToken(t *testing.T, audiences ...string) string {
	t.Helper()
	resp, err := f.svc.IssueServiceAccountToken(context.Background(), &authnv1.IssueServiceAccountTokenRequest{
		Namespace: "demo", Name: "default", Uid: "uid-sa", Spec: &corev1.TokenRequestSpec{Audiences: audiences},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetStatus().GetToken()
}

func TestAuthenticate(t *testing.T) {
	f := newFixture(t, false)
	fa := newFixture(t, true)
	foreignCA, _ := pki.NewCA(pki.ClientCACommonName, time.Hour) // same name, other key
	hourAgo := time.Now().Add(-time.Hour)
	alice := f.cert(t, f.clientCA, "alice", time.Time{}, 0, "dev", "ops")
	sa := f.saToken(t)
	tests := map[string]struct {
		fx        *fixture
		token     string
		certs     [][]byte
		wantUser  string
		wantGroup string // groups joined with ","
		wantCode  codes.Code
		wantExp   bool
	}{
		"token file user":             {token: "tok-bob", wantUser: "bob", wantGroup: "dev,qa,system:authenticated"},
		"client certificate":          {certs: alice, wantUser: "alice", wantGroup: "dev,ops,system:authenticated", wantExp: true},
		"service account token":       {token: sa, wantUser: "system:serviceaccount:demo:default", wantGroup: "system:serviceaccounts,system:serviceaccounts:demo,system:authenticated", wantExp: true},
		"wrong token":                 {token: "nope", wantCode: codes.Unauthenticated},
		"wrong token, anonymous on":   {fx: fa, token: "nope", wantCode: codes.Unauthenticated},
		"nothing, anonymous off":      {wantCode: codes.Unauthenticated},
		"nothing, anonymous on":       {fx: fa, wantUser: "system:anonymous", wantGroup: "system:unauthenticated"},
		"foreign CA":                  {certs: f.cert(t, foreignCA, "mallory", time.Time{}, 0, "system:masters"), wantCode: codes.Unauthenticated},
		"foreign CA, anonymous on":    {fx: fa, certs: fa.cert(t, foreignCA, "mallory", time.Time{}, 0), wantCode: codes.Unauthenticated},
		"expired certificate":         {certs: f.cert(t, f.clientCA, "old", hourAgo, 30*time.Minute), wantCode: codes.Unauthenticated},
		"not yet valid certificate":   {certs: f.cert(t, f.clientCA, "new", time.Now().Add(time.Hour), time.Hour), wantCode: codes.Unauthenticated},
		"garbage certificate":         {certs: [][]byte{[]byte("junk")}, wantCode: codes.Unauthenticated},
		"bad certificate, good token": {certs: f.cert(t, foreignCA, "mallory", time.Time{}, 0), token: "tok-bob", wantUser: "bob", wantGroup: "dev,qa,system:authenticated"},
		"certificate wins over token": {certs: alice, token: "tok-bob", wantUser: "alice", wantGroup: "dev,ops,system:authenticated", wantExp: true},
		"token too long":              {token: strings.Repeat("x", MaxTokenBytes+1), wantCode: codes.Unauthenticated},
		// system:portico:* names belong to the internal service certificates.
		"certificate claims a reserved group": {certs: f.cert(t, f.clientCA, "mallory", time.Time{}, 0, "system:portico:services"), wantCode: codes.Unauthenticated},
		"certificate claims a reserved user":  {certs: f.cert(t, f.clientCA, "system:portico:api", time.Time{}, 0), wantCode: codes.Unauthenticated},
		"token claims a reserved group":       {token: "tok-mallory", wantCode: codes.Unauthenticated},
		"token claims a reserved user":        {token: "tok-svc", wantCode: codes.Unauthenticated},
		"reserved cert, anonymous on":         {fx: fa, certs: fa.cert(t, fa.clientCA, "mallory", time.Time{}, 0, "system:portico:x"), wantCode: codes.Unauthenticated},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fx := tc.fx
			if fx == nil {
				fx = f
			}
			resp, err := fx.svc.Authenticate(context.Background(), &authnv1.AuthenticateRequest{Token: tc.token, ClientCertificates: tc.certs})
			if tc.wantCode != codes.OK {
				if status.Code(err) != tc.wantCode {
					t.Fatalf("err = %v, want %v", err, tc.wantCode)
				}
				if status.Convert(err).Message() != "Unauthorized" {
					t.Fatalf("refusal says more than Unauthorized: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := resp.GetUser()
			if u.GetUsername() != tc.wantUser || strings.Join(u.GetGroups(), ",") != tc.wantGroup {
				t.Fatalf("user = %v", u)
			}
			if (resp.GetExpiresAt() != nil) != tc.wantExp {
				t.Fatalf("expires_at = %v", resp.GetExpiresAt())
			}
		})
	}
}

func TestServiceAccountDeletedAndLookupDown(t *testing.T) {
	f := newFixture(t, true)
	tok := f.saToken(t)
	f.accounts.remove("demo/default")
	if _, err := f.svc.Authenticate(context.Background(), &authnv1.AuthenticateRequest{Token: tok}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("deleted account: %v", err)
	}
	f.accounts.mu.Lock()
	f.accounts.err = errors.New("api down")
	f.accounts.mu.Unlock()
	if _, err := f.svc.Authenticate(context.Background(), &authnv1.AuthenticateRequest{Token: tok}); status.Code(err) != codes.Unavailable {
		t.Fatalf("lookup down: %v, want Unavailable (fail closed)", err)
	}
}

func TestIssueServiceAccountToken(t *testing.T) {
	f := newFixture(t, false)
	tests := map[string]struct {
		spec     *corev1.TokenRequestSpec
		pod      *authnv1.BoundObject
		wantErr  string
		wantCode int // 422 when zero
		wantExp  int64
	}{
		"no spec":     {wantErr: "needs the namespace, the name and a spec", wantCode: 400},
		"defaults":    {spec: &corev1.TokenRequestSpec{}, wantExp: 3600},
		"ten minutes": {spec: &corev1.TokenRequestSpec{ExpirationSeconds: ptr(int64(600))}, wantExp: 600},
		"too short": {spec: &corev1.TokenRequestSpec{ExpirationSeconds: ptr(int64(60))},
			wantErr: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes`},
		"bound, no uid":  {spec: &corev1.TokenRequestSpec{}, pod: &authnv1.BoundObject{Name: "p"}, wantErr: "spec.boundObjectRef: Required value"},
		"bound to a pod": {spec: &corev1.TokenRequestSpec{}, pod: &authnv1.BoundObject{Name: "p", Uid: "pu"}, wantExp: 3600},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := f.svc.IssueServiceAccountToken(context.Background(), &authnv1.IssueServiceAccountTokenRequest{
				Namespace: "demo", Name: "default", Uid: "uid-sa", Spec: tc.spec, Pod: tc.pod})
			if tc.wantErr != "" {
				want := tc.wantCode
				if want == 0 {
					want = 422
				}
				st, code := apierrors.ToStatus(err)
				if code != want || !strings.Contains(st.GetMessage(), tc.wantErr) {
					t.Fatalf("err = %d %v", code, st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			exp := resp.GetStatus().GetExpirationTimestamp().AsTime()
			if resp.GetExpirationSeconds() != tc.wantExp || exp.Sub(time.Now()) > time.Duration(tc.wantExp)*time.Second || resp.GetStatus().GetToken() == "" {
				t.Fatalf("resp = %v", resp)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTokenReview(t *testing.T) {
	f := newFixture(t, false)
	admin := &authnv1.UserInfo{Username: "admin", Groups: []string{"system:masters", "system:authenticated"}}
	bob := &authnv1.UserInfo{Username: "bob", Groups: []string{"dev", "system:authenticated"}}
	vault := f.saToken(t, "vault")
	tests := map[string]struct {
		caller    *authnv1.UserInfo
		spec      *authnv1.TokenReviewSpec
		wantCode  int // HTTP code of the error, 0 for an answer
		wantAuth  bool
		wantUser  string
		wantAuds  string
		wantError string
	}{
		"static token":                  {caller: admin, spec: &authnv1.TokenReviewSpec{Token: "tok-bob"}, wantAuth: true, wantUser: "bob", wantAuds: serviceaccount.DefaultIssuer},
		"wrong token":                   {caller: admin, spec: &authnv1.TokenReviewSpec{Token: "nope"}, wantError: "invalid bearer token"},
		"service account, its audience": {caller: admin, spec: &authnv1.TokenReviewSpec{Token: vault, Audiences: []string{"vault", "other"}}, wantAuth: true, wantUser: "system:serviceaccount:demo:default", wantAuds: "vault"},
		"service account, API audience": {caller: admin, spec: &authnv1.TokenReviewSpec{Token: vault}, wantError: "invalid for the target audiences"},
		"static token, other audience":  {caller: admin, spec: &authnv1.TokenReviewSpec{Token: "tok-bob", Audiences: []string{"vault"}}, wantError: "invalid for the target audiences"},
		"empty token":                   {caller: admin, spec: &authnv1.TokenReviewSpec{}, wantCode: 400},
		"caller may not review":         {caller: bob, spec: &authnv1.TokenReviewSpec{Token: "tok-admin"}, wantCode: 403},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := identity.WithUser(context.Background(), tc.caller)
			resp, err := f.svc.CreateTokenReview(ctx, &authnv1.CreateTokenReviewRequest{TokenReview: &authnv1.TokenReview{Spec: tc.spec}})
			if tc.wantCode != 0 {
				if _, code := apierrors.ToStatus(err); code != tc.wantCode {
					t.Fatalf("err = %v, want %d", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := resp.GetTokenReview().GetStatus()
			if st.GetAuthenticated() != tc.wantAuth || st.GetUser().GetUsername() != tc.wantUser ||
				strings.Join(st.GetAudiences(), ",") != tc.wantAuds || !strings.Contains(st.GetError(), tc.wantError) {
				t.Fatalf("status = %v", st)
			}
			if tc.wantAuth && !slices.Contains(st.GetUser().GetGroups(), "system:authenticated") {
				t.Fatalf("groups = %v", st.GetUser().GetGroups())
			}
		})
	}
}

func TestSelfSubjectReview(t *testing.T) {
	f := newFixture(t, false)
	bob := &authnv1.UserInfo{Username: "bob", Uid: "uid-bob", Groups: []string{"dev", "system:authenticated"}}
	resp, err := f.svc.CreateSelfSubjectReview(identity.WithUser(context.Background(), bob), &authnv1.CreateSelfSubjectReviewRequest{})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.GetSelfSubjectReview()
	if r.GetStatus().GetUserInfo().GetUsername() != "bob" || r.GetMetadata().GetCreationTimestamp() == nil {
		t.Fatalf("review = %v", r)
	}
	if _, err := f.svc.CreateSelfSubjectReview(context.Background(), &authnv1.CreateSelfSubjectReviewRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no caller: %v", err)
	}
}

// peers is a fixed PeerServices answer.
type peers struct {
	name string
	ok   bool
}

func (p peers) PeerService(context.Context) (string, bool) { return p.name, p.ok }

type methodStream struct {
	grpc.ServerTransportStream
	method string
}

func (m methodStream) Method() string { return m.method }

func TestAuthFunc(t *testing.T) {
	f := newFixture(t, false)
	fwd := metadata.New(map[string]string{identity.KeyUser: "bob", identity.KeyGroups: "dev"})
	bearer := metadata.New(map[string]string{"authorization": "Bearer tok-bob"})
	tests := map[string]struct {
		method   string
		peer     peers
		md       metadata.MD
		wantUser string
		wantCode codes.Code
	}{
		"gateway may authenticate":       {method: authnv1.AuthenticationService_Authenticate_FullMethodName, peer: peers{"gateway", true}},
		"api may issue tokens":           {method: authnv1.AuthenticationService_IssueServiceAccountToken_FullMethodName, peer: peers{"api", true}},
		"gateway may not issue tokens":   {method: authnv1.AuthenticationService_IssueServiceAccountToken_FullMethodName, peer: peers{"gateway", true}, wantCode: codes.PermissionDenied},
		"user may not authenticate":      {method: authnv1.AuthenticationService_Authenticate_FullMethodName, md: bearer, wantCode: codes.PermissionDenied},
		"review as forwarded user":       {method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName, peer: peers{"gateway", true}, md: fwd, wantUser: "bob"},
		"forwarded user from the api":    {method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName, peer: peers{"api", true}, md: fwd, wantCode: codes.PermissionDenied},
		"forwarded user from a user":     {method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName, md: fwd, wantCode: codes.PermissionDenied},
		"review as a service":            {method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName, peer: peers{"authz", true}, wantUser: "system:portico:authz"},
		"review with the caller's token": {method: authnv1.AuthenticationService_CreateTokenReview_FullMethodName, md: bearer, wantUser: "bob"},
		"review with a wrong token":      {method: authnv1.AuthenticationService_CreateTokenReview_FullMethodName, md: metadata.New(map[string]string{"authorization": "Bearer x"}), wantCode: codes.Unauthenticated},
		// whoami straight over gRPC shows the impersonated user, once
		// authz lets the caller impersonate (only the admin here).
		"review as the user the admin impersonates": {
			method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName,
			md:     metadata.New(map[string]string{"authorization": "Bearer tok-admin", "impersonate-user": "alice"}), wantUser: "alice",
		},
		"bob may not impersonate": {
			method: authnv1.AuthenticationService_CreateSelfSubjectReview_FullMethodName,
			md:     metadata.New(map[string]string{"authorization": "Bearer tok-bob", "impersonate-user": "alice"}), wantCode: codes.PermissionDenied,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			auth := f.svc.AuthFunc(tc.peer)
			ctx := grpc.NewContextWithServerTransportStream(context.Background(), methodStream{method: tc.method})
			if tc.md != nil {
				ctx = metadata.NewIncomingContext(ctx, tc.md)
			}
			ctx, err := auth(ctx)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("err = %v, want %v", err, tc.wantCode)
			}
			if tc.wantUser != "" {
				u, _ := identity.UserFrom(ctx)
				if u.GetUsername() != tc.wantUser {
					t.Fatalf("user = %v", u)
				}
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(bad, []byte("t,u,1\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"malformed token file": {Options{TokenAuthFile: bad}, "line 2"},
		"missing token file":   {Options{TokenAuthFile: filepath.Join(dir, "none")}, "--token-auth-file"},
		"missing signing key":  {Options{ServiceAccountSigningKeyFile: filepath.Join(dir, "none")}, "--service-account-signing-key-file"},
		"empty audience":       {Options{APIAudiences: []string{""}}, "--api-audiences"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.o, Deps{Logger: log, Accounts: &fakeAccounts{}}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestWatchInvalidationsOnReload(t *testing.T) {
	f := newFixture(t, false)
	sub := f.svc.bus.subscribe()
	defer f.svc.bus.unsubscribe(sub)
	p := filepath.Join(f.dir, "tokens.csv")
	if err := os.WriteFile(p, []byte("tok-new,new,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(p, later, later)
	if changed, err := f.svc.tokenFile.Check(); !changed || err != nil {
		t.Fatalf("Check = %v, %v", changed, err)
	}
	select {
	case msg := <-sub.ch:
		if !msg.GetAll() {
			t.Fatalf("msg = %v", msg)
		}
	case <-time.After(time.Second):
		t.Fatal("no invalidation after a reload")
	}
	f.svc.InvalidateUsers("system:serviceaccount:demo:default")
	if msg := <-sub.ch; len(msg.GetUsernames()) != 1 {
		t.Fatalf("msg = %v", msg)
	}
}

func TestMaxTokenExpirationOption(t *testing.T) {
	tests := map[string]struct {
		max    time.Duration
		wantOK bool
	}{
		"unset":       {0, true},
		"one hour":    {time.Hour, true},
		"2^32 s":      {(1 << 32) * time.Second, true},
		"under 1h":    {59 * time.Minute, false},
		"over 2^32 s": {(1<<32 + 1) * time.Second, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := (&Options{ServiceAccountMaxTokenExpiration: tc.max}).Validate()
			if (err == nil) != tc.wantOK || err != nil && !strings.Contains(err.Error(), "the service-account-max-token-expiration must be between 1 hour and 2^32 seconds") {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}
