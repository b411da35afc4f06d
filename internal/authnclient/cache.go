package authnclient

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"sync"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// cache holds successful answers by credential hash.
type cache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.RWMutex
	entries map[[32]byte]entry
	// gen changes on every invalidation: an answer fetched before one must
	// not be stored after it.
	gen  uint64
	live bool
}

type entry struct {
	user    *authnv1.UserInfo
	expires time.Time
}

func newCache(ttl time.Duration, max int, now func() time.Time) *cache {
	return &cache{ttl: ttl, max: max, now: now, entries: map[[32]byte]entry{}}
}

// cacheKey is the SHA-256 of the credentials: the token (length-prefixed)
// and the leaf certificate's DER. A leaf that verified once stays proven
// whatever intermediates a later handshake carries.
func cacheKey(token string, chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(token)))
	h.Write(n[:])
	h.Write([]byte(token))
	if len(chain) > 0 && chain[0] != nil {
		h.Write(chain[0].Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *cache) get(k [32]byte) (*authnv1.UserInfo, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	live := c.live
	c.mu.RUnlock()
	if !ok || !live || !c.now().Before(e.expires) {
		return nil, false
	}
	return e.user, true
}

func (c *cache) generation() (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen, c.live
}

// put stores an answer fetched at generation gen, unless an invalidation
// came since. It expires after the TTL or with the credential.
func (c *cache) put(k [32]byte, gen uint64, u *authnv1.UserInfo, credExpires time.Time) {
	now := c.now()
	expires := now.Add(c.ttl)
	if !credExpires.IsZero() && credExpires.Before(expires) {
		expires = credExpires
	}
	if !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= c.max {
			// Still full of live answers: start over rather than track
			// recency on the hot path.
			clear(c.entries)
		}
	}
	c.entries[k] = entry{user: u, expires: expires}
}

// invalidate drops every answer (all) or the answers of usernames.
func (c *cache) invalidate(all bool, usernames []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if all {
		clear(c.entries)
		return
	}
	drop := make(map[string]bool, len(usernames))
	for _, u := range usernames {
		drop[u] = true
	}
	for key, e := range c.entries {
		if drop[e.user.GetUsername()] {
			delete(c.entries, key)
		}
	}
}

// setLive turns the cache on (an invalidation stream opened) or off; both
// start from empty.
func (c *cache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	clear(c.entries)
}
