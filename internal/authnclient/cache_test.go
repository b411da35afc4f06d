package authnclient

import (
	"crypto/x509"
	"testing"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

func TestCache(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	alice := &authnv1.UserInfo{Username: "alice"}
	sa := &authnv1.UserInfo{Username: "system:serviceaccount:demo:default"}
	ka, ks := cacheKey("tok-a", nil), cacheKey("tok-s", nil)
	type step struct {
		at       time.Duration // since t0
		do       func(c *cache)
		wantA    bool // alice's answer is served from the cache
		wantS    bool
		describe string
	}
	put := func(k [32]byte, u *authnv1.UserInfo, credExp time.Duration) func(c *cache) {
		return func(c *cache) {
			gen, _ := c.generation()
			var exp time.Time
			if credExp > 0 {
				exp = t0.Add(credExp)
			}
			c.put(k, gen, u, exp)
		}
	}
	tests := map[string][]step{
		"not live: nothing stored": {
			{do: put(ka, alice, 0), describe: "put while the stream is down"},
		},
		"ttl": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: put(ka, alice, 0), wantA: true},
			{at: 9 * time.Second, wantA: true},
			{at: 10 * time.Second, describe: "expired at the TTL"},
		},
		"credential expires before the ttl": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: put(ka, alice, 3*time.Second), wantA: true},
			{at: 3 * time.Second, describe: "expired with the credential"},
		},
		"invalidate one user": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: put(ka, alice, 0), wantA: true},
			{do: put(ks, sa, 0), wantA: true, wantS: true},
			{do: func(c *cache) { c.invalidate(false, []string{sa.Username}) }, wantA: true},
		},
		"invalidate all": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: put(ka, alice, 0), wantA: true},
			{do: put(ks, sa, 0), wantA: true, wantS: true},
			{do: func(c *cache) { c.invalidate(true, nil) }},
		},
		"answer fetched before an invalidation is not stored": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: func(c *cache) {
				gen, _ := c.generation()
				c.invalidate(false, []string{"bob"}) // arrives while the RPC runs
				c.put(ka, gen, alice, time.Time{})
			}},
		},
		"stream drops: cache emptied and off": {
			{do: func(c *cache) { c.setLive(true) }},
			{do: put(ka, alice, 0), wantA: true},
			{do: func(c *cache) { c.setLive(false) }},
			{do: put(ka, alice, 0)},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			now := t0
			c := newCache(10*time.Second, 100, func() time.Time { return now })
			for i, st := range steps {
				now = t0.Add(st.at)
				if st.do != nil {
					st.do(c)
				}
				_, gotA := c.get(ka)
				_, gotS := c.get(ks)
				if gotA != st.wantA || gotS != st.wantS {
					t.Fatalf("step %d (%s): cached alice=%v sa=%v, want %v %v", i, st.describe, gotA, gotS, st.wantA, st.wantS)
				}
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(time.Minute, 3, time.Now)
	c.setLive(true)
	for i := range 10 {
		c.put(cacheKey(string(rune('a'+i)), nil), 0+c.gen, &authnv1.UserInfo{Username: "u"}, time.Time{})
		if len(c.entries) > 3 {
			t.Fatalf("%d entries, max 3", len(c.entries))
		}
	}
}

func TestCacheKey(t *testing.T) {
	leaf := &x509.Certificate{Raw: []byte("leaf-der")}
	other := &x509.Certificate{Raw: []byte("other-der")}
	keys := map[[32]byte]string{}
	for name, k := range map[string][32]byte{
		"token":            cacheKey("abc", nil),
		"longer token":     cacheKey("abcd", nil),
		"cert":             cacheKey("", []*x509.Certificate{leaf}),
		"other cert":       cacheKey("", []*x509.Certificate{other}),
		"token and cert":   cacheKey("abc", []*x509.Certificate{leaf}),
		"prefix confusion": cacheKey("ab", []*x509.Certificate{{Raw: []byte("cleaf-der")}}),
	} {
		if prev, dup := keys[k]; dup {
			t.Fatalf("%s and %s share a key", name, prev)
		}
		keys[k] = name
	}
	withInter := cacheKey("", []*x509.Certificate{leaf, other})
	if withInter != cacheKey("", []*x509.Certificate{leaf}) {
		t.Fatal("intermediates changed the key of a leaf")
	}
}
