package serviceaccount

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
)

// jwk is one JSON Web Key, in the field order kube-apiserver serves.
type jwk struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is the JSON Web Key Set of the authenticator's keys, as
// /openid/v1/jwks serves it, and the algorithms they sign with.
func (a *Authenticator) JWKS() (jwks []byte, algorithms []string, err error) {
	enc := base64.RawURLEncoding
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range a.keys {
		j := jwk{Use: "sig", Kid: k.kid, Alg: k.alg}
		switch pub := k.pub.(type) {
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N = enc.EncodeToString(pub.N.Bytes())
			j.E = enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (pub.Curve.Params().BitSize + 7) / 8
			j.Kty, j.Crv = "EC", pub.Curve.Params().Name
			x, y, err := ecPoint(pub, size)
			if err != nil {
				return nil, nil, err
			}
			j.X, j.Y = enc.EncodeToString(x), enc.EncodeToString(y)
		}
		set.Keys = append(set.Keys, j)
		if !slices.Contains(algorithms, k.alg) {
			algorithms = append(algorithms, k.alg)
		}
	}
	slices.Sort(algorithms)
	jwks, err = json.Marshal(set)
	return jwks, algorithms, err
}

// ecPoint returns the fixed-size X and Y coordinates of pub.
func ecPoint(pub *ecdsa.PublicKey, size int) (x, y []byte, err error) {
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, nil, err
	}
	return raw[1 : 1+size], raw[1+size:], nil
}
