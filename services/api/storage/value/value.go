// Package value turns the encoded bytes of a stored object into what etcd
// keeps, and back: kube-apiserver's encryption providers (aesgcm, aescbc,
// secretbox, identity) and the prefixed list of them that writes with the
// first and reads with any, in kube-apiserver's storage format
// ("k8s:enc:<provider>:v1:<key name>:" followed by the ciphertext), so
// values written by one can be read by the other given the same keys.
package value

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Transformer converts a value to and from its form in etcd. key is the
// etcd key the value lives under: providers that authenticate additional
// data (aesgcm) bind the ciphertext to it, so a value copied under another
// key does not decrypt.
type Transformer interface {
	// TransformToStorage returns what to store for plain.
	TransformToStorage(plain []byte, key string) ([]byte, error)
	// TransformFromStorage returns the plain value of stored. stale
	// reports that stored was not written by the current write provider
	// and key: writing it again would store it differently.
	TransformFromStorage(stored []byte, key string) (plain []byte, stale bool, err error)
}

// EncryptedPrefix starts every value an encrypting provider wrote.
const EncryptedPrefix = "k8s:enc:"

// ErrDecrypt is wrapped by every error of reading a stored value: no
// provider for its prefix, a wrong key, corrupt ciphertext. Its messages
// never hold key material or plaintext.
var ErrDecrypt = errors.New("cannot decrypt the stored value")

// Prefix is the storage prefix of a provider's key:
// "k8s:enc:aesgcm:v1:key1:".
func Prefix(provider, keyName string) string {
	return EncryptedPrefix + provider + ":v1:" + keyName + ":"
}

// Identity stores values as they are; reading refuses encrypted data,
// which it could only pass on as garbage.
type Identity struct{}

// TransformToStorage returns plain.
func (Identity) TransformToStorage(plain []byte, _ string) ([]byte, error) { return plain, nil }

// TransformFromStorage returns stored unless it is encrypted.
func (Identity) TransformFromStorage(stored []byte, _ string) ([]byte, bool, error) {
	if bytes.HasPrefix(stored, []byte(EncryptedPrefix)) {
		return nil, false, fmt.Errorf("%w: the value is encrypted (%s) and identity cannot read it", ErrDecrypt, prefixOf(stored))
	}
	return stored, false, nil
}

// Prefixed is one provider key in a Chain: the prefix that marks the
// values it writes and the transformer of what follows the prefix. The
// identity provider has an empty prefix.
type Prefixed struct {
	Prefix      string
	Transformer Transformer
}

// Chain is the providers of one resource in the order of the
// configuration: the first writes, every one reads the values that carry
// its prefix, and identity (when listed) reads the values that carry none.
type Chain struct {
	providers []Prefixed
	// identity is the index of the identity provider, -1 when absent.
	identity int
}

// NewChain returns the chain of providers, which must not be empty; at
// most one of them may be identity (an empty prefix), and no prefix may
// start another (their values could not be told apart).
func NewChain(providers ...Prefixed) (*Chain, error) {
	if len(providers) == 0 {
		return nil, errors.New("value: a chain needs at least one provider")
	}
	c := &Chain{providers: providers, identity: -1}
	for i, p := range providers {
		if p.Transformer == nil {
			return nil, fmt.Errorf("value: provider %d has no transformer", i)
		}
		if p.Prefix == "" {
			if c.identity >= 0 {
				return nil, errors.New("value: identity is listed twice")
			}
			c.identity = i
			continue
		}
		for j, q := range providers[:i] {
			if q.Prefix != "" && (strings.HasPrefix(p.Prefix, q.Prefix) || strings.HasPrefix(q.Prefix, p.Prefix)) {
				return nil, fmt.Errorf("value: providers %d and %d have overlapping prefixes %q and %q", j, i, q.Prefix, p.Prefix)
			}
		}
	}
	return c, nil
}

// WritePrefix is the prefix of the values the chain writes ("" for
// identity).
func (c *Chain) WritePrefix() string { return c.providers[0].Prefix }

// TransformToStorage writes with the first provider.
func (c *Chain) TransformToStorage(plain []byte, key string) ([]byte, error) {
	w := c.providers[0]
	out, err := w.Transformer.TransformToStorage(plain, key)
	if err != nil {
		return nil, err
	}
	if w.Prefix == "" {
		return out, nil
	}
	return append([]byte(w.Prefix), out...), nil
}

// TransformFromStorage reads with the provider whose prefix stored
// carries, or with identity when it carries none and identity is listed.
// A value read by any provider but the first is stale.
func (c *Chain) TransformFromStorage(stored []byte, key string) ([]byte, bool, error) {
	for i, p := range c.providers {
		if p.Prefix == "" || !bytes.HasPrefix(stored, []byte(p.Prefix)) {
			continue
		}
		plain, stale, err := p.Transformer.TransformFromStorage(stored[len(p.Prefix):], key)
		if err != nil {
			return nil, false, err
		}
		return plain, stale || i != 0, nil
	}
	if bytes.HasPrefix(stored, []byte(EncryptedPrefix)) {
		return nil, false, fmt.Errorf("%w: no configured provider key reads values prefixed %s", ErrDecrypt, prefixOf(stored))
	}
	if c.identity < 0 {
		return nil, false, fmt.Errorf("%w: the value is not encrypted and identity is not a configured provider", ErrDecrypt)
	}
	return stored, c.identity != 0, nil
}

// prefixOf quotes the "k8s:enc:<provider>:v1:<name>:" prefix of an
// encrypted value for an error message: at most 5 colons and 80 bytes,
// never the ciphertext after it.
func prefixOf(stored []byte) string {
	n, colons := 0, 0
	for n < len(stored) && n < 80 && colons < 5 {
		if stored[n] == ':' {
			colons++
		}
		n++
	}
	return fmt.Sprintf("%q", stored[:n])
}
