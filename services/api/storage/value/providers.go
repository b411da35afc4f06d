package value

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
)

// The providers' names, as in the EncryptionConfiguration and the
// storage prefix.
const (
	AESGCMName    = "aesgcm"
	AESCBCName    = "aescbc"
	SecretboxName = "secretbox"
	IdentityName  = "identity"
)

// SecretboxKeySize is the key length of secretbox.
const SecretboxKeySize = 32

// AESGCM encrypts with AES-GCM: a random 12-byte nonce followed by the
// sealed value, the etcd key authenticated as additional data (as
// kube-apiserver does). Random nonces are safe for about 2^32 writes per
// key: rotate keys long before that.
type AESGCM struct{ aead cipher.AEAD }

// NewAESGCM returns the provider for a 16, 24 or 32-byte AES key.
func NewAESGCM(key []byte) (*AESGCM, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: key of %d bytes, want 16, 24 or 32", len(key))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: %w", err)
	}
	return &AESGCM{aead: aead}, nil
}

// TransformToStorage seals plain under a fresh nonce.
func (t *AESGCM) TransformToStorage(plain []byte, key string) ([]byte, error) {
	ns := t.aead.NonceSize()
	out := make([]byte, ns, ns+len(plain)+t.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("aesgcm: nonce: %w", err)
	}
	return t.aead.Seal(out, out[:ns], plain, []byte(key)), nil
}

// TransformFromStorage opens stored; a wrong key, a value moved from
// another etcd key or any change to it fail.
func (t *AESGCM) TransformFromStorage(stored []byte, key string) ([]byte, bool, error) {
	ns := t.aead.NonceSize()
	if len(stored) < ns+t.aead.Overhead() {
		return nil, false, fmt.Errorf("%w: aesgcm: value too short", ErrDecrypt)
	}
	plain, err := t.aead.Open(nil, stored[:ns], stored[ns:], []byte(key))
	if err != nil {
		return nil, false, fmt.Errorf("%w: aesgcm: wrong key or corrupt value", ErrDecrypt)
	}
	return plain, false, nil
}

// AESCBC encrypts with AES-CBC and PKCS#7 padding: a random 16-byte IV
// followed by the ciphertext, as kube-apiserver's aescbc. CBC carries no
// integrity check and no additional data (kube-apiserver's format has
// none): prefer aesgcm or secretbox.
type AESCBC struct{ block cipher.Block }

// AESCBCKeySize is the key length aescbc accepts (AES-256).
const AESCBCKeySize = 32

// NewAESCBC returns the provider for a 32-byte AES key.
func NewAESCBC(key []byte) (*AESCBC, error) {
	if len(key) != AESCBCKeySize {
		return nil, fmt.Errorf("aescbc: key of %d bytes, want %d", len(key), AESCBCKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aescbc: %w", err)
	}
	return &AESCBC{block: block}, nil
}

// TransformToStorage pads and encrypts plain under a fresh IV.
func (t *AESCBC) TransformToStorage(plain []byte, _ string) ([]byte, error) {
	bs := aes.BlockSize
	pad := bs - len(plain)%bs
	out := make([]byte, bs+len(plain)+pad)
	if _, err := rand.Read(out[:bs]); err != nil {
		return nil, fmt.Errorf("aescbc: IV: %w", err)
	}
	body := out[bs:]
	copy(body, plain)
	for i := len(plain); i < len(body); i++ {
		body[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(t.block, out[:bs]).CryptBlocks(body, body)
	return out, nil
}

// TransformFromStorage decrypts stored and removes its padding. A wrong
// key is found only by the padding check, which random data passes about
// once in 256 tries: CBC cannot do better.
func (t *AESCBC) TransformFromStorage(stored []byte, _ string) ([]byte, bool, error) {
	bs := aes.BlockSize
	if len(stored) < 2*bs || len(stored)%bs != 0 {
		return nil, false, fmt.Errorf("%w: aescbc: value is not a whole number of blocks", ErrDecrypt)
	}
	body := make([]byte, len(stored)-bs)
	cipher.NewCBCDecrypter(t.block, stored[:bs]).CryptBlocks(body, stored[bs:])
	n, ok := unpad(body, bs)
	if !ok {
		return nil, false, fmt.Errorf("%w: aescbc: wrong key or corrupt value", ErrDecrypt)
	}
	return body[:n], false, nil
}

// unpad checks PKCS#7 padding of a whole number of blocks without
// branching on the padding bytes, and returns the unpadded length.
func unpad(b []byte, blockSize int) (int, bool) {
	pad := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, blockSize)
	// Check the last blockSize bytes: those within the padding must all
	// equal pad.
	for i := 1; i <= blockSize; i++ {
		in := subtle.ConstantTimeLessOrEq(i, pad)
		eq := subtle.ConstantTimeByteEq(b[len(b)-i], byte(pad))
		good &= subtle.ConstantTimeSelect(in, eq, 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(b) - pad, true
}

// Secretbox encrypts with NaCl secretbox (XSalsa20-Poly1305): a random
// 24-byte nonce followed by the box, as kube-apiserver's secretbox.
type Secretbox struct{ key [SecretboxKeySize]byte }

// NewSecretbox returns the provider for a 32-byte key.
func NewSecretbox(key []byte) (*Secretbox, error) {
	if len(key) != SecretboxKeySize {
		return nil, fmt.Errorf("secretbox: key of %d bytes, want %d", len(key), SecretboxKeySize)
	}
	t := &Secretbox{}
	copy(t.key[:], key)
	return t, nil
}

const secretboxNonceSize = 24

// TransformToStorage seals plain under a fresh nonce.
func (t *Secretbox) TransformToStorage(plain []byte, _ string) ([]byte, error) {
	var nonce [secretboxNonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return secretbox.Seal(nonce[:], plain, &nonce, &t.key), nil
}

// TransformFromStorage opens stored; a wrong key or any change fail.
func (t *Secretbox) TransformFromStorage(stored []byte, _ string) ([]byte, bool, error) {
	if len(stored) < secretboxNonceSize+secretbox.Overhead {
		return nil, false, fmt.Errorf("%w: secretbox: value too short", ErrDecrypt)
	}
	var nonce [secretboxNonceSize]byte
	copy(nonce[:], stored)
	plain, ok := secretbox.Open(nil, stored[secretboxNonceSize:], &nonce, &t.key)
	if !ok {
		return nil, false, fmt.Errorf("%w: secretbox: wrong key or corrupt value", ErrDecrypt)
	}
	return plain, false, nil
}
