package serviceaccount

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticateToken feeds arbitrary strings to the whole JWT path
// (split, base64, header, signature, claims, lookups). It must never
// panic, and it must never accept a token whose claims it did not sign:
// the fuzzer cannot forge signatures, so an accepted token's jti is one of
// the issued ones.
func FuzzAuthenticateToken(f *testing.F) {
	r1, _ := rsaKeys(f)
	ec := ecKey(f, elliptic.P256())
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	issued := map[string]bool{}
	accts := &accounts{byNS: map[string]Account{"demo/default": {UID: "u"}}}
	for _, k := range []crypto.Signer{r1, ec} {
		s, err := NewSigner(k, issuer, []string{issuer}, clock)
		if err != nil {
			f.Fatal(err)
		}
		tok, err := s.Issue(Request{Namespace: "demo", Name: "default", UID: "u"})
		if err != nil {
			f.Fatal(err)
		}
		p := strings.Split(tok.Token, ".")
		b, _ := base64.RawURLEncoding.DecodeString(p[1])
		issued[jtiOf(b)] = true
		f.Add(tok.Token)
		f.Add(p[0] + "." + p[1] + ".")
		f.Add(p[0] + "." + p[1] + "." + p[2] + ".")
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbCJ9.AAAA"} {
		f.Add(s)
	}
	a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{r1.Public(), ec.Public()}, accts, clock)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		resp, ok, err := a.AuthenticateToken(context.Background(), token, nil)
		if !ok {
			return
		}
		if err != nil || resp == nil {
			t.Fatalf("ok with err %v", err)
		}
		payload, perr := peekPayload(token)
		if perr != nil || !issued[jtiOf(payload)] {
			t.Fatalf("accepted a token that was never issued: %q", token)
		}
	})
}

func jtiOf(payload []byte) string {
	c, err := parseClaims(payload)
	if err != nil {
		return ""
	}
	return c.ID
}
