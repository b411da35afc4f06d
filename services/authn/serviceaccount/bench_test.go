package serviceaccount

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"testing"
)

// BenchmarkVerify is the cost authn pays for a service-account token the
// client's cache does not hold: signature, claims, account lookup
// (in memory here, as the index answers it).
func BenchmarkVerify(b *testing.B) {
	r1, _ := rsaKeys(b)
	for name, key := range map[string]crypto.Signer{"ES256": ecKey(b, elliptic.P256()), "RS256": r1} {
		b.Run(name, func(b *testing.B) {
			s, err := NewSigner(key, issuer, []string{issuer}, nil)
			if err != nil {
				b.Fatal(err)
			}
			tok, err := s.Issue(Request{Namespace: "demo", Name: "default", UID: "u"})
			if err != nil {
				b.Fatal(err)
			}
			a, err := NewAuthenticator(issuer, []string{issuer}, []crypto.PublicKey{key.Public()},
				&accounts{byNS: map[string]Account{"demo/default": {UID: "u"}}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := a.AuthenticateToken(context.Background(), tok.Token, nil); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
