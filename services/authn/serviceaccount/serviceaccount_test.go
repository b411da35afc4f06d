package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// accounts is an in-memory ObjectGetter: service accounts by "ns/name",
// other kinds by "Kind:ns/name".
type accounts struct {
	mu   sync.Mutex
	byNS map[string]Account
	err  error
}

func (a *accounts) GetObject(_ context.Context, kind Kind, ns, name string) (Object, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return Object{}, false, a.err
	}
	key := ns + "/" + name
	if kind != KindServiceAccount {
		key = string(kind) + ":" + key
	}
	acct, ok := a.byNS[key]
	return acct, ok, nil
}

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
	rsaKey2 *rsa.PrivateKey
)

func rsaKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey, rsaKey2
}

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const issuer = "https://kubernetes.default.svc.cluster.local"

func TestIssueAndVerifyEveryAlgorithm(t *testing.T) {
	r1, _ := rsaKeys(t)
	tests := map[string]struct {
		key     crypto.Signer
		wantAlg string
	}{
		"RSA 2048":   {r1, "RS256"},
		"ECDSA P256": {ecKey(t, elliptic.P256()), "ES256"},
		"ECDSA P384": {ecKey(t, elliptic.P384()), "ES384"},
		"ECDSA P521": {ecKey(t, elliptic.P521()), "ES512"},
	}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := NewSigner(tc.key, issuer, []string{issuer}, clock)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.Issue(Request{Namespace: "demo", Name: "default", UID: "uid-1"})
			if err != nil {
				t.Fatal(err)
			}
			if tok.ExpirationSeconds != 3600 || !tok.Expires.Equal(now.Add(time.Hour)) || tok.Audiences[0] != issuer {
				t.Fatalf("token = %+v", tok)
			}
			h := decodeSegment(t, tok.Token, 0)
			kid, _ := KeyID(tc.key.Public())
			if h["alg"] != tc.wantAlg || h["kid"] != kid {
				t.Fatalf("header = %v", h)
			}
			p := decodeSegment(t, tok.Token, 1)
			if p["iss"] != issuer || p["sub"] != "system:serviceaccount:demo:default" || p["exp"].(float64) != float64(now.Add(time.Hour).Unix()) {
				t.Fatalf("payload = %v", p)
			}
			accts := &accounts{byNS: map[string]Account{"demo/default": {UID: "uid-1"}}}
			a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{tc.key.Public()}, accts, clock)
			if err != nil {
				t.Fatal(err)
			}
			resp, ok, err := a.AuthenticateToken(context.Background(), tok.Token, nil)
			if err != nil || !ok {
				t.Fatalf("AuthenticateToken = %v, %v", ok, err)
			}
			u := resp.User
			if u.Username != "system:serviceaccount:demo:default" || u.Uid != "uid-1" ||
				strings.Join(u.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:demo" {
				t.Fatalf("user = %v", u)
			}
			if got := u.Extra[CredentialIDKey].GetItems(); len(got) != 1 || got[0] != "JTI="+p["jti"].(string) {
				t.Fatalf("credential id = %v", got)
			}
			if !resp.ExpiresAt.Equal(now.Add(time.Hour)) || resp.Audiences[0] != issuer {
				t.Fatalf("response = %+v", resp)
			}
		})
	}
}

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// forge signs arbitrary header and claims with key (RS256 or ES256 by
// the key's type, whatever the header says).
func forge(t *testing.T, key crypto.Signer, hdr map[string]any, c map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(hdr)
	pb, _ := json.Marshal(c)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	if hdr["alg"] == "none" {
		return input + "."
	}
	alg, _ := Algorithm(key.Public())
	sig, err := signInput(key, alg, input)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func TestAuthenticateTokenRefusals(t *testing.T) {
	r1, r2 := rsaKeys(t)
	now := time.Unix(1_800_000_000, 0)
	var clock time.Time = now
	nowFn := func() time.Time { return clock }
	s, err := NewSigner(r1, issuer, []string{issuer}, nowFn)
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.Issue(Request{Namespace: "demo", Name: "app", UID: "uid-app", Audiences: []string{"vault"}, ExpirationSeconds: ptr(int64(600))})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner(r2, issuer, []string{issuer}, nowFn)
	foreign, _ := other.Issue(Request{Namespace: "demo", Name: "app", UID: "uid-app", Audiences: []string{"vault"}})
	otherIssuer, _ := NewSigner(r1, "https://elsewhere", []string{"x"}, nowFn)
	elsewhere, _ := otherIssuer.Issue(Request{Namespace: "demo", Name: "app", UID: "uid-app", Audiences: []string{"vault"}})
	base := decodeSegment(t, good.Token, 1)
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	kid, _ := KeyID(r1.Public())
	tests := map[string]struct {
		token     string
		audiences []string
		at        time.Time
		acct      *Account
		lookupErr error
		wantOK    bool
		wantErr   string // "" with !wantOK: no opinion
		wantLook  bool   // the error is a lookup failure
	}{
		"valid for its audience":         {token: good.Token, audiences: []string{"vault"}, wantOK: true},
		"default audience not in token":  {token: good.Token, wantErr: "invalid for the target audiences"},
		"expired":                        {token: good.Token, audiences: []string{"vault"}, at: now.Add(600 * time.Second), wantErr: "has expired"},
		"a second before expiry":         {token: good.Token, audiences: []string{"vault"}, at: now.Add(599 * time.Second), wantOK: true},
		"not yet valid":                  {token: good.Token, audiences: []string{"vault"}, at: now.Add(-time.Minute), wantErr: "not valid yet"},
		"account deleted":                {token: good.Token, audiences: []string{"vault"}, acct: &Account{}, wantErr: "has been deleted"},
		"account being deleted":          {token: good.Token, audiences: []string{"vault"}, acct: &Account{UID: "uid-app", Deleting: true}, wantErr: "being deleted"},
		"account recreated with new uid": {token: good.Token, audiences: []string{"vault"}, acct: &Account{UID: "uid-new"}, wantErr: "does not match claim"},
		"lookup failed":                  {token: good.Token, audiences: []string{"vault"}, lookupErr: errors.New("api down"), wantErr: "lookup failed", wantLook: true},
		"signed by an unknown key":       {token: foreign.Token, audiences: []string{"vault"}, wantErr: "invalid signature"},
		"another issuer":                 {token: elsewhere.Token},
		"not a JWT":                      {token: "abcdef"},
		"static token with dots":         {token: "a.b.c"},
		"alg none, no signature":         {token: forge(t, r1, map[string]any{"alg": "none"}, base)},
		"alg none, any signature":        {token: forge(t, r1, map[string]any{"alg": "none"}, base) + "AAAA", wantErr: "not accepted"},
		"alg HS256":                      {token: forge(t, r1, map[string]any{"alg": "HS256"}, base), wantErr: "not accepted"},
		"alg ES256 with an RSA kid":      {token: forge(t, r1, map[string]any{"alg": "ES256", "kid": kid}, base), wantErr: "invalid signature"},
		"critical header":                {token: forge(t, r1, map[string]any{"alg": "RS256", "crit": []string{"x"}}, base), wantErr: "critical"},
		"unknown kid tries every key":    {token: forge(t, r1, map[string]any{"alg": "RS256", "kid": "nope"}, base), audiences: []string{"vault"}, wantOK: true},
		"no kid tries every key":         {token: forge(t, r1, map[string]any{"alg": "RS256"}, base), audiences: []string{"vault"}, wantOK: true},
		"no expiry":                      {token: forge(t, r1, map[string]any{"alg": "RS256"}, with("exp", nil)), audiences: []string{"vault"}, wantErr: "no expiry"},
		"sub does not match":             {token: forge(t, r1, map[string]any{"alg": "RS256"}, with("sub", "system:serviceaccount:demo:admin")), audiences: []string{"vault"}, wantErr: "sub claim is invalid"},
		"no kubernetes.io claim":         {token: forge(t, r1, map[string]any{"alg": "RS256"}, with("kubernetes.io", nil)), audiences: []string{"vault"}, wantErr: "kubernetes.io claim"},
		"aud as a string":                {token: forge(t, r1, map[string]any{"alg": "RS256"}, with("aud", "vault")), audiences: []string{"vault"}, wantOK: true},
		"exp as a string":                {token: forge(t, r1, map[string]any{"alg": "RS256"}, with("exp", "never")), audiences: []string{"vault"}, wantErr: "malformed token claims"},
		"tampered payload":               {token: tamper(good.Token), audiences: []string{"vault"}, wantErr: "invalid signature"},
		"too long":                       {token: good.Token + strings.Repeat("A", MaxTokenBytes), wantErr: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			accts := &accounts{byNS: map[string]Account{"demo/app": {UID: "uid-app"}}, err: tc.lookupErr}
			if tc.acct != nil {
				if tc.acct.UID == "" {
					delete(accts.byNS, "demo/app")
				} else {
					accts.byNS["demo/app"] = *tc.acct
				}
			}
			clock = now
			if !tc.at.IsZero() {
				clock = tc.at
			}
			a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{r2.Public(), r1.Public()}, accts, nowFn)
			if err != nil {
				t.Fatal(err)
			}
			if name == "signed by an unknown key" {
				a, _ = NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{r1.Public()}, accts, nowFn)
			}
			resp, ok, err := a.AuthenticateToken(context.Background(), tc.token, tc.audiences)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v (err %v), want %v", ok, err, tc.wantOK)
			}
			if tc.wantOK {
				if err != nil || resp.User.Username != "system:serviceaccount:demo:app" {
					t.Fatalf("resp = %+v, %v", resp, err)
				}
				return
			}
			if tc.wantErr == "" {
				if err != nil && name != "too long" {
					t.Fatalf("no opinion expected, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrLookup) != tc.wantLook {
				t.Fatalf("errors.Is(err, ErrLookup) = %v", !tc.wantLook)
			}
			if strings.Contains(err.Error(), strings.Split(tc.token, ".")[2]) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func tamper(tok string) string {
	p := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(p[1])
	b = []byte(strings.Replace(string(b), `"name":"app"`, `"name":"adm"`, 1))
	p[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(p, ".")
}

func ptr[T any](v T) *T { return &v }

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := rsaKeys(t)
	ec := ecKey(t, elliptic.P256())
	accts := &accounts{byNS: map[string]Account{"demo/default": {UID: "u"}}}
	issue := func(k crypto.Signer) string {
		s, err := NewSigner(k, issuer, []string{issuer}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Issue(Request{Namespace: "demo", Name: "default", UID: "u"})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	before, after, ecTok := issue(oldKey), issue(newKey), issue(ec)
	// Verification keys during the rotation: both RSA keys and the EC one.
	a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{oldKey.Public(), newKey.Public(), ec.Public()}, accts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old key": before, "new key": after, "ecdsa key": ecTok} {
		if _, ok, err := a.AuthenticateToken(context.Background(), tok, nil); !ok || err != nil {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
	// After the rotation the old key is dropped.
	a, _ = NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{newKey.Public()}, accts, nil)
	if _, ok, err := a.AuthenticateToken(context.Background(), before, nil); ok || err == nil {
		t.Errorf("token of a dropped key: ok=%v err=%v", ok, err)
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		req       Request
		wantErr   string
		wantSecs  int64
		wantAudsN int
	}{
		"defaults":           {req: Request{Namespace: "n", Name: "a", UID: "u"}, wantSecs: 3600, wantAudsN: 1},
		"minimum":            {req: Request{Namespace: "n", Name: "a", UID: "u", ExpirationSeconds: ptr(int64(600))}, wantSecs: 600, wantAudsN: 1},
		"below minimum":      {req: Request{Namespace: "n", Name: "a", UID: "u", ExpirationSeconds: ptr(int64(60))}, wantErr: "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"},
		"above maximum":      {req: Request{Namespace: "n", Name: "a", UID: "u", ExpirationSeconds: ptr(int64(1<<32 + 1))}, wantErr: "larger than 2^32 seconds"},
		"audiences kept":     {req: Request{Namespace: "n", Name: "a", UID: "u", Audiences: []string{"a", "b"}}, wantSecs: 3600, wantAudsN: 2},
		"empty audience":     {req: Request{Namespace: "n", Name: "a", UID: "u", Audiences: []string{""}}, wantErr: "spec.audiences[0]"},
		"too many audiences": {req: Request{Namespace: "n", Name: "a", UID: "u", Audiences: make([]string, MaxAudiences+1)}, wantErr: "Too many"},
		"bound to a pod":     {req: Request{Namespace: "n", Name: "a", UID: "u", Pod: &ObjectRef{"p", "pu"}, Node: &ObjectRef{"n", "nu"}}, wantSecs: 3600, wantAudsN: 1},
		"pod's node unknown": {req: Request{Namespace: "n", Name: "a", UID: "u", Pod: &ObjectRef{"p", "pu"}, Node: &ObjectRef{Name: "n"}}, wantSecs: 3600, wantAudsN: 1},
		"node alone, no uid": {req: Request{Namespace: "n", Name: "a", UID: "u", Node: &ObjectRef{Name: "n"}}, wantErr: "spec.boundObjectRef: Required value"},
		"two objects":        {req: Request{Namespace: "n", Name: "a", UID: "u", Pod: &ObjectRef{"p", "pu"}, Secret: &ObjectRef{"s", "su"}}, wantErr: "spec.boundObjectRef: Invalid value: a token is bound to one object"},
		"bound, no uid":      {req: Request{Namespace: "n", Name: "a", UID: "u", Secret: &ObjectRef{Name: "s"}}, wantErr: "spec.boundObjectRef: Required value"},
		"no uid":             {req: Request{Namespace: "n", Name: "a"}, wantErr: "metadata"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			auds, secs, err := Validate(tc.req, []string{issuer})
			if tc.wantErr != "" {
				var inv InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || secs != tc.wantSecs || len(auds) != tc.wantAudsN {
				t.Fatalf("Validate = %v, %d, %v", auds, secs, err)
			}
		})
	}
}

// TestBoundTokens: a token bound to a pod, a secret or a node carries
// kube's claims, its user the pod's and node's names, and dies with its
// object; the max expiration shortens what is asked.
func TestBoundTokens(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	key := ecKey(t, elliptic.P256())
	signer, err := NewSigner(key, issuer, []string{issuer}, clock)
	if err != nil {
		t.Fatal(err)
	}
	signer.WithMaxExpiration(7200)
	live := func() map[string]Account {
		return map[string]Account{"demo/app": {UID: "sa-uid"}, "Pod:demo/web": {UID: "pod-uid"},
			"Secret:demo/s": {UID: "secret-uid"}, "Node:/n1": {UID: "node-uid"}}
	}
	pod, secret, node := &ObjectRef{"web", "pod-uid"}, &ObjectRef{"s", "secret-uid"}, &ObjectRef{"n1", "node-uid"}
	tests := map[string]struct {
		pod, secret, node *ObjectRef
		change            func(m map[string]Account)
		wantClaim         string // the "kubernetes.io" claim's keys besides namespace and serviceaccount
		wantExtra         string
		wantErr           string
	}{
		"pod with its node": {pod: pod, node: node, wantClaim: "node=n1/node-uid pod=web/pod-uid",
			wantExtra: "node-name=n1 node-uid=node-uid pod-name=web pod-uid=pod-uid"},
		"pod gone":          {pod: pod, node: node, change: func(m map[string]Account) { delete(m, "Pod:demo/web") }, wantErr: "service account token has been invalidated"},
		"pod being deleted": {pod: pod, change: func(m map[string]Account) { m["Pod:demo/web"] = Account{UID: "pod-uid", Deleting: true} }, wantErr: "has been invalidated"},
		"pod replaced":      {pod: pod, change: func(m map[string]Account) { m["Pod:demo/web"] = Account{UID: "new"} }, wantErr: "pod UID (new) does not match service account pod ref claim (pod-uid)"},
		"pod's node gone: no matter": {pod: pod, node: node, change: func(m map[string]Account) { delete(m, "Node:/n1") }, wantClaim: "node=n1/node-uid pod=web/pod-uid",
			wantExtra: "node-name=n1 node-uid=node-uid pod-name=web pod-uid=pod-uid"},
		"secret":          {secret: secret, wantClaim: "secret=s/secret-uid"},
		"secret gone":     {secret: secret, change: func(m map[string]Account) { delete(m, "Secret:demo/s") }, wantErr: "has been invalidated"},
		"secret replaced": {secret: secret, change: func(m map[string]Account) { m["Secret:demo/s"] = Account{UID: "x"} }, wantErr: "secret UID (x) does not match service account secret ref claim (secret-uid)"},
		"node":            {node: node, wantClaim: "node=n1/node-uid", wantExtra: "node-name=n1 node-uid=node-uid"},
		"node gone":       {node: node, change: func(m map[string]Account) { delete(m, "Node:/n1") }, wantErr: "has been invalidated"},
		"node replaced":   {node: node, change: func(m map[string]Account) { m["Node:/n1"] = Account{UID: "x"} }, wantErr: "node UID (x) does not match service account node ref claim (node-uid)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := signer.Issue(Request{Namespace: "demo", Name: "app", UID: "sa-uid", ExpirationSeconds: ptr(int64(1 << 32)),
				Pod: tc.pod, Secret: tc.secret, Node: tc.node})
			if err != nil {
				t.Fatal(err)
			}
			if tok.ExpirationSeconds != 7200 || !tok.Expires.Equal(now.Add(2*time.Hour)) {
				t.Errorf("lifetime %d s, until %v: want capped at 7200 s", tok.ExpirationSeconds, tok.Expires)
			}
			k8s := decodeSegment(t, tok.Token, 1)["kubernetes.io"].(map[string]any)
			var claim []string
			for _, k := range []string{"node", "pod", "secret"} {
				if r, ok := k8s[k].(map[string]any); ok {
					claim = append(claim, fmt.Sprintf("%s=%s/%s", k, r["name"], r["uid"]))
				}
			}
			objs := &accounts{byNS: live()}
			if tc.change != nil {
				tc.change(objs.byNS)
			}
			a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{key.Public()}, objs, clock)
			if err != nil {
				t.Fatal(err)
			}
			resp, ok, err := a.AuthenticateToken(context.Background(), tok.Token, nil)
			if tc.wantErr != "" {
				if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("AuthenticateToken = %v, %v; want %q", ok, err, tc.wantErr)
				}
				return
			}
			if got := strings.Join(claim, " "); got != tc.wantClaim {
				t.Errorf("claim = %q, want %q", got, tc.wantClaim)
			}
			if err != nil || !ok {
				t.Fatalf("AuthenticateToken = %v, %v", ok, err)
			}
			var extra []string
			for _, k := range []string{NodeNameKey, NodeUIDKey, PodNameKey, PodUIDKey} {
				if v := resp.User.Extra[k].GetItems(); len(v) > 0 {
					extra = append(extra, strings.TrimPrefix(k, "authentication.kubernetes.io/")+"="+strings.Join(v, ","))
				}
			}
			if got := strings.Join(extra, " "); got != tc.wantExtra {
				t.Errorf("extra = %q, want %q", got, tc.wantExtra)
			}
		})
	}
	// Under the cap, the request is kept.
	if tok, err := signer.Issue(Request{Namespace: "demo", Name: "app", UID: "sa-uid", ExpirationSeconds: ptr(int64(3600))}); err != nil || tok.ExpirationSeconds != 3600 {
		t.Errorf("under the cap: %+v %v", tok, err)
	}
	// A lookup failure is unknown, not a refusal.
	a, _ := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{key.Public()}, &accounts{byNS: live()}, clock)
	tok, _ := signer.Issue(Request{Namespace: "demo", Name: "app", UID: "sa-uid", Pod: pod})
	failing := &lookupFails{accounts: &accounts{byNS: live()}, kind: KindPod}
	a.objects = failing
	if _, _, err := a.AuthenticateToken(context.Background(), tok.Token, nil); !errors.Is(err, ErrLookup) {
		t.Errorf("pod lookup failure: %v, want ErrLookup", err)
	}
}

// lookupFails fails the lookups of one kind.
type lookupFails struct {
	*accounts
	kind Kind
}

func (l *lookupFails) GetObject(ctx context.Context, kind Kind, ns, name string) (Object, bool, error) {
	if kind == l.kind {
		return Object{}, false, errors.New("api down")
	}
	return l.accounts.GetObject(ctx, kind, ns, name)
}

func writePEM(t *testing.T, dir, name string, blocks ...*pem.Block) string {
	t.Helper()
	var b []byte
	for _, bl := range blocks {
		b = append(b, pem.EncodeToMemory(bl)...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	r1, r2 := rsaKeys(t)
	ec := ecKey(t, elliptic.P256())
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkix2, _ := x509.MarshalPKIXPublicKey(r2.Public())
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sa"}, NotAfter: time.Now().Add(time.Hour)}
	certDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ec.Public(), ec)
	ed := writePEM(t, dir, "ed.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8Ed25519(t)})

	files := map[string]string{
		"rsa-pkcs1": writePEM(t, dir, "rsa.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(r1)}),
		"ec-pkcs8":  writePEM(t, dir, "ec8.key", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"ec-sec1":   writePEM(t, dir, "ec1.key", &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"public":    writePEM(t, dir, "pub.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: pkix2}, &pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		"small":     writePEM(t, dir, "small.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}),
		"none":      writePEM(t, dir, "none.pem", &pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}),
		"garbage":   writePEM(t, dir, "garbage.pem", &pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}),
	}
	for _, name := range []string{"rsa-pkcs1", "ec-pkcs8", "ec-sec1"} {
		if _, err := LoadSigningKey(files[name]); err != nil {
			t.Errorf("LoadSigningKey(%s): %v", name, err)
		}
	}
	for name, want := range map[string]string{"small": "at least 2048", "public": "no private key", "missing": "no such file"} {
		p := files[name]
		if name == "missing" {
			p = filepath.Join(dir, "missing")
		}
		if _, err := LoadSigningKey(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadSigningKey(%s) = %v, want %q", name, err, want)
		}
	}
	if _, err := LoadSigningKey(ed); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("ed25519 signing key: %v", err)
	}
	keys, err := LoadPublicKeys(files["rsa-pkcs1"], files["ec-sec1"], files["public"])
	if err != nil || len(keys) != 4 {
		t.Fatalf("LoadPublicKeys = %d keys, %v", len(keys), err)
	}
	for name, want := range map[string]string{"none": "no public or private key", "garbage": "parsing PUBLIC KEY", "small": "at least 2048"} {
		if _, err := LoadPublicKeys(files[name]); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadPublicKeys(%s) = %v, want %q", name, err, want)
		}
	}
}

func mustPKCS8Ed25519(t *testing.T) []byte {
	t.Helper()
	// A fixed Ed25519 PKCS#8 key: the type is what matters.
	b, err := base64.StdEncoding.DecodeString("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJWKS(t *testing.T) {
	r1, _ := rsaKeys(t)
	ec := ecKey(t, elliptic.P256())
	a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{r1.Public(), ec.Public()}, &accounts{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, algs, err := a.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(algs, ",") != "ES256,RS256" {
		t.Fatalf("algorithms = %v", algs)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("jwks %s: %v", b, err)
	}
	rk, ek := set.Keys[0], set.Keys[1]
	rkid, _ := KeyID(r1.Public())
	if rk["kty"] != "RSA" || rk["alg"] != "RS256" || rk["use"] != "sig" || rk["kid"] != rkid || rk["e"] != "AQAB" {
		t.Fatalf("rsa jwk = %v", rk)
	}
	n, _ := base64.RawURLEncoding.DecodeString(rk["n"])
	if new(big.Int).SetBytes(n).Cmp(r1.N) != 0 {
		t.Fatal("rsa modulus differs")
	}
	x, _ := base64.RawURLEncoding.DecodeString(ek["x"])
	y, _ := base64.RawURLEncoding.DecodeString(ek["y"])
	if ek["kty"] != "EC" || ek["crv"] != "P-256" || ek["alg"] != "ES256" || len(x) != 32 || len(y) != 32 ||
		new(big.Int).SetBytes(x).Cmp(ec.X) != 0 || new(big.Int).SetBytes(y).Cmp(ec.Y) != 0 {
		t.Fatalf("ec jwk = %v", ek)
	}
}

func TestUsernames(t *testing.T) {
	for in, want := range map[string][2]string{
		"system:serviceaccount:demo:default": {"demo", "default"},
		"system:serviceaccount:demo":         {},
		"system:serviceaccount::x":           {},
		"system:serviceaccount:a:b:c":        {},
		"alice":                              {},
	} {
		ns, name, ok := SplitUsername(in)
		if ok != (want[0] != "") || ns != want[0] || name != want[1] {
			t.Errorf("SplitUsername(%q) = %q, %q, %v", in, ns, name, ok)
		}
	}
}
