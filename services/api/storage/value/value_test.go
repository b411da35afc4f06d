package value

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func key(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

// providers makes one of each encrypting provider from key material
// filled with fill.
func providers(t testing.TB, fill byte) map[string]Transformer {
	t.Helper()
	gcm, err := NewAESGCM(key(32, fill))
	if err != nil {
		t.Fatal(err)
	}
	cbc, err := NewAESCBC(key(32, fill))
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSecretbox(key(32, fill))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Transformer{AESGCMName: gcm, AESCBCName: cbc, SecretboxName: box}
}

func TestProvidersRoundTrip(t *testing.T) {
	plains := map[string][]byte{
		"empty":           {},
		"one byte":        {0x0a},
		"one block":       bytes.Repeat([]byte("x"), 16),
		"not whole block": []byte("a secret of 25 characters"),
		"large":           bytes.Repeat([]byte("0123456789"), 10000),
	}
	for name, p := range providers(t, 1) {
		for pname, plain := range plains {
			t.Run(name+"/"+pname, func(t *testing.T) {
				stored, err := p.TransformToStorage(plain, "/registry/secrets/ns/a")
				if err != nil {
					t.Fatal(err)
				}
				if len(plain) > 8 && bytes.Contains(stored, plain) {
					t.Fatalf("stored value contains the plaintext")
				}
				again, _ := p.TransformToStorage(plain, "/registry/secrets/ns/a")
				if bytes.Equal(stored, again) {
					t.Errorf("two writes of one value are identical: nonce or IV reused")
				}
				got, stale, err := p.TransformFromStorage(stored, "/registry/secrets/ns/a")
				if err != nil {
					t.Fatal(err)
				}
				if stale || !bytes.Equal(got, plain) {
					t.Fatalf("round trip = %q (stale %v), want %q", got, stale, plain)
				}
			})
		}
	}
}

func TestProvidersWrongKey(t *testing.T) {
	right, wrong := providers(t, 1), providers(t, 2)
	plain := []byte("the plaintext of a secret value")
	for name, p := range right {
		t.Run(name, func(t *testing.T) {
			stored, err := p.TransformToStorage(plain, "/k")
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := wrong[name].TransformFromStorage(stored, "/k")
			if name == AESCBCName && err == nil {
				// CBC has no integrity check: a wrong key may pass the
				// padding check, but never yields the plaintext.
				if bytes.Equal(got, plain) {
					t.Fatal("a wrong aescbc key decrypted the value")
				}
				return
			}
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("wrong key: error %v, want ErrDecrypt", err)
			}
			if strings.Contains(err.Error(), string(plain)) {
				t.Fatalf("error leaks the plaintext: %v", err)
			}
		})
	}
}

func TestAESGCMBindsTheKey(t *testing.T) {
	p := providers(t, 1)[AESGCMName]
	stored, err := p.TransformToStorage([]byte("v"), "/registry/secrets/a/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.TransformFromStorage(stored, "/registry/secrets/b/x"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a value copied to another key decrypted: %v", err)
	}
}

func TestProvidersCorruptValues(t *testing.T) {
	for name, p := range providers(t, 1) {
		stored, err := p.TransformToStorage([]byte("some value to corrupt"), "/k")
		if err != nil {
			t.Fatal(err)
		}
		cases := map[string][]byte{
			"empty":     {},
			"truncated": stored[:len(stored)-1],
			"short":     stored[:8],
		}
		if name != AESCBCName { // CBC cannot detect a flipped bit
			flipped := bytes.Clone(stored)
			flipped[len(flipped)-1] ^= 1
			cases["flipped"] = flipped
		}
		for cname, c := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				if _, _, err := p.TransformFromStorage(c, "/k"); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("error %v, want ErrDecrypt", err)
				}
			})
		}
	}
}

func TestKeySizes(t *testing.T) {
	tests := map[string]struct {
		make func([]byte) error
		ok   []int
	}{
		AESGCMName:    {make: func(k []byte) error { _, err := NewAESGCM(k); return err }, ok: []int{16, 24, 32}},
		AESCBCName:    {make: func(k []byte) error { _, err := NewAESCBC(k); return err }, ok: []int{32}},
		SecretboxName: {make: func(k []byte) error { _, err := NewSecretbox(k); return err }, ok: []int{32}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{0, 1, 15, 16, 24, 31, 32, 33, 64} {
				wantOK := false
				for _, ok := range tc.ok {
					wantOK = wantOK || n == ok
				}
				if err := tc.make(key(n, 7)); (err == nil) != wantOK {
					t.Errorf("%d-byte key: error %v, want success %v", n, err, wantOK)
				}
			}
		})
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte { return append(bytes.Repeat([]byte{'x'}, 16-len(tail)), tail...) }
	tests := map[string]struct {
		b      []byte
		want   int
		wantOK bool
	}{
		"one byte":         {b: block(1), want: 15, wantOK: true},
		"three bytes":      {b: block(3, 3, 3), want: 13, wantOK: true},
		"whole block":      {b: bytes.Repeat([]byte{16}, 16), want: 0, wantOK: true},
		"zero":             {b: block(0)},
		"too large":        {b: bytes.Repeat([]byte{17}, 16)},
		"inconsistent":     {b: block(2, 3, 3)},
		"one wrong inside": {b: append(bytes.Repeat([]byte{16}, 15), 16)[:16:16]},
	}
	tests["one wrong inside"].b[3] = 15
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n, ok := unpad(tc.b, 16)
			if ok != tc.wantOK || ok && n != tc.want {
				t.Fatalf("unpad = %d, %v; want %d, %v", n, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// newTestChain is aesgcm key2 (writes), aesgcm key1, secretbox box1 and,
// with identity, identity last.
func newTestChain(t testing.TB, identity bool) *Chain {
	t.Helper()
	gcm1, _ := NewAESGCM(key(32, 1))
	gcm2, _ := NewAESGCM(key(32, 2))
	box, _ := NewSecretbox(key(32, 3))
	ps := []Prefixed{
		{Prefix: Prefix(AESGCMName, "key2"), Transformer: gcm2},
		{Prefix: Prefix(AESGCMName, "key1"), Transformer: gcm1},
		{Prefix: Prefix(SecretboxName, "box1"), Transformer: box},
	}
	if identity {
		ps = append(ps, Prefixed{Transformer: Identity{}})
	}
	c, err := NewChain(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChain(t *testing.T) {
	c := newTestChain(t, true)
	noIdentity := newTestChain(t, false)
	gcm1, _ := NewAESGCM(key(32, 1))
	box, _ := NewSecretbox(key(32, 3))
	gcm9, _ := NewAESGCM(key(32, 9))
	plain := []byte("\x0a\x05hello")
	seal := func(prefix string, tr Transformer) []byte {
		out, err := tr.TransformToStorage(plain, "/k")
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte(prefix), out...)
	}

	written, err := c.TransformToStorage(plain, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(written, []byte("k8s:enc:aesgcm:v1:key2:")) {
		t.Fatalf("written value %q does not carry the first provider's prefix", written[:24])
	}
	tests := map[string]struct {
		c         *Chain
		stored    []byte
		wantStale bool
		wantErr   string
	}{
		"first provider":                 {c: c, stored: written},
		"older key of the same provider": {c: c, stored: seal("k8s:enc:aesgcm:v1:key1:", gcm1), wantStale: true},
		"another provider":               {c: c, stored: seal("k8s:enc:secretbox:v1:box1:", box), wantStale: true},
		"plaintext with identity":        {c: c, stored: plain, wantStale: true},
		"plaintext without identity":     {c: noIdentity, stored: plain, wantErr: "identity is not a configured provider"},
		"unknown key name":               {c: c, stored: seal("k8s:enc:aesgcm:v1:key9:", gcm9), wantErr: `prefixed "k8s:enc:aesgcm:v1:key9:"`},
		"unknown provider":               {c: c, stored: []byte("k8s:enc:kms:v2:x:abc"), wantErr: `prefixed "k8s:enc:kms:v2:x:"`},
		"known name, wrong key":          {c: c, stored: seal("k8s:enc:aesgcm:v1:key1:", gcm9), wantErr: "wrong key"},
		"encrypted, identity only":       {c: mustChain(t, Prefixed{Transformer: Identity{}}), stored: written, wantErr: "no configured provider"},
		"truncated prefix":               {c: c, stored: []byte("k8s:enc:aesgcm:v1:key2"), wantErr: "no configured provider"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, stale, err := tc.c.TransformFromStorage(tc.stored, "/k")
			if tc.wantErr != "" {
				if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrDecrypt containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) || stale != tc.wantStale {
				t.Fatalf("got %q stale %v, want %q stale %v", got, stale, plain, tc.wantStale)
			}
		})
	}
}

func TestChainIdentityFirst(t *testing.T) {
	gcm, _ := NewAESGCM(key(16, 1))
	c := mustChain(t, Prefixed{Transformer: Identity{}}, Prefixed{Prefix: Prefix(AESGCMName, "k"), Transformer: gcm})
	plain := []byte("\x0a\x01x")
	out, err := c.TransformToStorage(plain, "/k")
	if err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("identity first wrote %q, %v; want the plain value", out, err)
	}
	if _, stale, err := c.TransformFromStorage(plain, "/k"); err != nil || stale {
		t.Fatalf("plain value with identity first: stale %v, %v; want fresh", stale, err)
	}
	enc, _ := gcm.TransformToStorage(plain, "/k")
	got, stale, err := c.TransformFromStorage(append([]byte(Prefix(AESGCMName, "k")), enc...), "/k")
	if err != nil || !stale || !bytes.Equal(got, plain) {
		t.Fatalf("encrypted value with identity first: %q stale %v, %v; want the plain value, stale", got, stale, err)
	}
}

func TestNewChainRefuses(t *testing.T) {
	gcm, _ := NewAESGCM(key(16, 1))
	tests := map[string][]Prefixed{
		"nothing":          nil,
		"two identities":   {{Transformer: Identity{}}, {Transformer: Identity{}}},
		"same prefix":      {{Prefix: "k8s:enc:aesgcm:v1:a:", Transformer: gcm}, {Prefix: "k8s:enc:aesgcm:v1:a:", Transformer: gcm}},
		"nested prefix":    {{Prefix: "k8s:enc:aesgcm:v1:a:", Transformer: gcm}, {Prefix: "k8s:enc:aesgcm:v1:a:b:", Transformer: gcm}},
		"no transformer":   {{Prefix: "k8s:enc:aesgcm:v1:a:"}},
		"nested, reversed": {{Prefix: "k8s:enc:aesgcm:v1:a:b:", Transformer: gcm}, {Prefix: "k8s:enc:aesgcm:v1:a:", Transformer: gcm}},
	}
	for name, ps := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewChain(ps...); err == nil {
				t.Fatal("NewChain succeeded")
			}
		})
	}
}

func mustChain(t testing.TB, ps ...Prefixed) *Chain {
	t.Helper()
	c, err := NewChain(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzTransformFromStorage: no stored value, however made, panics a
// chain of every provider; whatever decrypts must encrypt back.
func FuzzTransformFromStorage(f *testing.F) {
	c := newTestChain(f, true)
	for _, seed := range []string{"", "k8s:enc:", "k8s:enc:aesgcm:v1:key2:", "k8s:enc:aesgcm:v1:key1:0123456789abcdef0123456789",
		"k8s:enc:secretbox:v1:box1:", "k8s:enc:aescbc:v1:x:0123456789abcdef", "\x0a\x03abc"} {
		f.Add([]byte(seed), "/registry/secrets/ns/name")
	}
	written, _ := c.TransformToStorage([]byte("\x0a\x05hello"), "/k")
	f.Add(written, "/k")
	cbc, _ := NewAESCBC(key(32, 4))
	cbcChain := mustChain(f, Prefixed{Prefix: Prefix(AESCBCName, "c"), Transformer: cbc})
	f.Fuzz(func(t *testing.T, stored []byte, key string) {
		for _, ch := range []*Chain{c, cbcChain} {
			plain, _, err := ch.TransformFromStorage(stored, key)
			if err != nil {
				if !errors.Is(err, ErrDecrypt) {
					t.Fatalf("error %v is not ErrDecrypt", err)
				}
				continue
			}
			again, err := ch.TransformToStorage(plain, key)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := ch.TransformFromStorage(again, key)
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("re-encrypted value reads back %q, %v; want %q", back, err, plain)
			}
		}
	})
}

func TestIdentityRefusesEncrypted(t *testing.T) {
	if _, _, err := (Identity{}).TransformFromStorage([]byte("k8s:enc:aesgcm:v1:k:xyz"), "/k"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("identity read an encrypted value: %v", err)
	}
}
