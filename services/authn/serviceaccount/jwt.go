package serviceaccount

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// Size limits of the JWT path: nothing larger is decoded.
const (
	// MaxTokenBytes bounds a whole token.
	MaxTokenBytes = 16 << 10
	// maxHeaderBytes bounds the encoded JOSE header.
	maxHeaderBytes = 1 << 10
)

var (
	errNotJWT       = errors.New("not a JWT")
	errBadSignature = errors.New("invalid signature")
)

// header is the JOSE header of a compact JWS.
type header struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid,omitempty"`
	Typ  string   `json:"typ,omitempty"`
	Crit []string `json:"crit,omitempty"`
}

// verifyKey is one key tokens may be signed with.
type verifyKey struct {
	pub crypto.PublicKey
	alg string
	kid string
}

func newVerifyKey(pub crypto.PublicKey) (verifyKey, error) {
	alg, err := Algorithm(pub)
	if err != nil {
		return verifyKey{}, err
	}
	kid, err := KeyID(pub)
	if err != nil {
		return verifyKey{}, err
	}
	return verifyKey{pub: pub, alg: alg, kid: kid}, nil
}

// splitJWT cuts a compact JWS into its three parts, without decoding them.
func splitJWT(token string) (h, p, s string, err error) {
	if len(token) > MaxTokenBytes {
		return "", "", "", fmt.Errorf("token longer than %d bytes", MaxTokenBytes)
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", "", errNotJWT
	}
	p, s, ok = strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") || h == "" || p == "" || s == "" {
		return "", "", "", errNotJWT
	}
	return h, p, s, nil
}

// peekPayload decodes the payload of a token without verifying it: only
// to tell whether the token is this issuer's before spending a signature
// check on it.
func peekPayload(token string) ([]byte, error) {
	_, p, _, err := splitJWT(token)
	if err != nil {
		return nil, err
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, errNotJWT
	}
	return payload, nil
}

// sign makes a compact JWS of payload with key.
func sign(key crypto.Signer, alg, kid string, payload []byte) (string, error) {
	hb, err := json.Marshal(header{Alg: alg, Kid: kid})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(hb) + "." + enc.EncodeToString(payload)
	sig, err := signInput(key, alg, signingInput)
	if err != nil {
		return "", err
	}
	return signingInput + "." + enc.EncodeToString(sig), nil
}

// signInput signs a JWS signing input ("<header>.<payload>").
func signInput(key crypto.Signer, alg, signingInput string) ([]byte, error) {
	h := hashFor(alg)
	if h == nil {
		return nil, fmt.Errorf("algorithm %q is not supported", alg)
	}
	h.Write([]byte(signingInput))
	digest := h.Sum(nil)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest)
		if err != nil {
			return nil, fmt.Errorf("signing: %w", err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, fmt.Errorf("signing: %w", err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	}
	return nil, fmt.Errorf("%T keys cannot sign tokens", key)
}

// verify checks a compact JWS against keys and returns its payload. The
// header's kid, when it names one of keys, selects that key; otherwise
// every key of the header's algorithm is tried (tokens from before a key
// rotation, or from issuers that set no kid). "none" and algorithms that
// do not match a key's type are refused.
func verify(token string, keys []verifyKey) ([]byte, error) {
	hs, ps, ss, err := splitJWT(token)
	if err != nil {
		return nil, err
	}
	if len(hs) > maxHeaderBytes {
		return nil, errors.New("JWT header too large")
	}
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(hs)
	if err != nil {
		return nil, errors.New("malformed JWT header encoding")
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(hb))
	if err := dec.Decode(&h); err != nil || dec.More() {
		return nil, errors.New("malformed JWT header")
	}
	if len(h.Crit) > 0 {
		return nil, errors.New("JWT header has critical extensions")
	}
	hf := hashFor(h.Alg)
	if hf == nil {
		return nil, fmt.Errorf("JWT algorithm %q is not accepted", truncate(h.Alg, 16))
	}
	sig, err := enc.DecodeString(ss)
	if err != nil {
		return nil, errors.New("malformed JWT signature encoding")
	}
	hf.Write([]byte(hs))
	hf.Write([]byte{'.'})
	hf.Write([]byte(ps))
	digest := hf.Sum(nil)
	candidates := keys
	if h.Kid != "" {
		for _, k := range keys {
			if k.kid == h.Kid {
				candidates = []verifyKey{k}
				break
			}
		}
	}
	for _, k := range candidates {
		if k.alg != h.Alg {
			continue
		}
		if checkSignature(k.pub, digest, sig) {
			payload, err := enc.DecodeString(ps)
			if err != nil {
				return nil, errors.New("malformed JWT payload encoding")
			}
			return payload, nil
		}
	}
	return nil, errBadSignature
}

func checkSignature(pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig) == nil
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

// hashFor is the digest of a JWS algorithm, nil for one not accepted.
func hashFor(alg string) hash.Hash {
	switch alg {
	case "RS256", "ES256":
		return sha256.New()
	case "ES384":
		return sha512.New384()
	case "ES512":
		return sha512.New()
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
