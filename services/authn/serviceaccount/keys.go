package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits on key files.
const (
	// MaxKeyFileBytes bounds one key file.
	MaxKeyFileBytes = 1 << 20
	// MaxKeys bounds the verification keys across all files.
	MaxKeys = 100
	// MinRSABits is the smallest RSA key accepted.
	MinRSABits = 2048
)

// LoadSigningKey reads the first private key of a PEM file (PKCS#8
// "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), as
// --service-account-signing-key-file holds it.
func LoadSigningKey(path string) (crypto.Signer, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s: no private key found", path)
		}
		key, isPrivate, err := parsePrivate(block)
		if !isPrivate {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if _, err := Algorithm(key.Public()); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	}
}

// LoadPublicKeys reads every key in the PEM files, as
// --service-account-key-file holds them: public keys ("PUBLIC KEY", "RSA
// PUBLIC KEY"), certificates, and private keys (their public halves). A
// file without any key is an error.
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range paths {
		data, err := readKeyFile(path)
		if err != nil {
			return nil, err
		}
		n := 0
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			pub, err := parsePublic(block)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if pub == nil {
				continue
			}
			if _, err := Algorithm(pub); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			keys = append(keys, pub)
			n++
			if len(keys) > MaxKeys {
				return nil, fmt.Errorf("more than %d service-account keys", MaxKeys)
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no public or private key found", path)
		}
	}
	return keys, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxKeyFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxKeyFileBytes)
	}
	return data, nil
}

// parsePrivate parses a private-key block; isPrivate is false for other
// block types.
func parsePrivate(block *pem.Block) (key crypto.Signer, isPrivate bool, err error) {
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, true, errors.New("encrypted private keys are not supported")
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("parsing %s: %w", block.Type, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, true, fmt.Errorf("%T keys cannot sign", k)
	}
	return signer, true, nil
}

// parsePublic returns the public key of a block, nil for a block that
// holds none (an EC PARAMETERS block).
func parsePublic(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing PUBLIC KEY: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing RSA PUBLIC KEY: %w", err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing CERTIFICATE: %w", err)
		}
		return c.PublicKey, nil
	}
	key, isPrivate, err := parsePrivate(block)
	if !isPrivate {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return key.Public(), nil
}

// Algorithm is the JWS algorithm for a key: RS256 for RSA (at least 2048
// bits), ES256, ES384 or ES512 for ECDSA P-256, P-384 or P-521.
func Algorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("RSA key of %d bits: at least %d are required", k.N.BitLen(), MinRSABits)
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("ECDSA curve %s is not supported", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("%T keys are not supported: use RSA or ECDSA", pub)
}

// KeyID is kube-apiserver's "kid" for a key: the unpadded base64url
// SHA-256 of its PKIX DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
