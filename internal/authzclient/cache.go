package authzclient

import (
	"slices"
	"strconv"
	"sync"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// decision is one cached answer.
type decision struct {
	allowed bool
	reason  string
	gen     uint64
	expires time.Time
}

// cache holds decisions of the policy generation in force. It is live
// only while the policy stream is open; a generation change or the stream
// closing empties it.
type cache struct {
	o Options

	mu      sync.RWMutex
	live    bool
	gen     uint64
	entries map[string]decision
}

func newCache(o Options) *cache {
	return &cache{o: o, entries: map[string]decision{}}
}

// get looks key up; the []byte to string conversion in the index does
// not allocate.
func (c *cache) get(key []byte) (decision, bool) {
	c.mu.RLock()
	d, ok := c.entries[string(key)]
	live, gen := c.live, c.gen
	c.mu.RUnlock()
	if !ok || !live || d.gen != gen || !c.o.Now().Before(d.expires) {
		return decision{}, false
	}
	return d, true
}

// put keeps a decision made under generation gen, if that is the one in
// force: a decision from before a change the stream already reported, or
// from after one it has not reported yet, is not kept.
func (c *cache) put(key string, gen uint64, allowed bool, reason string) {
	ttl := c.o.DeniedTTL
	if allowed {
		ttl = c.o.AllowedTTL
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || gen != c.gen {
		return
	}
	if len(c.entries) >= c.o.MaxEntries {
		c.evictLocked()
	}
	c.entries[key] = decision{allowed: allowed, reason: reason, gen: gen, expires: c.o.Now().Add(ttl)}
}

// evictLocked drops the expired entries, and if that is not enough a
// tenth of the rest (map order is random).
func (c *cache) evictLocked() {
	now := c.o.Now()
	for k, d := range c.entries {
		if !now.Before(d.expires) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.o.MaxEntries + max(1, c.o.MaxEntries/10)
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// setLive records the stream's state and the generation it reports; a
// change of either empties the cache.
func (c *cache) setLive(live bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live != live || c.gen != gen {
		c.entries = map[string]decision{}
	}
	c.live, c.gen = live, gen
}

func (c *cache) isLive() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live
}

// appendKey appends the cache key of a decision to b: every input of it,
// the user (name, uid, groups in order, extra sorted by key) and the
// attributes. Each field is length-prefixed, so two different requests
// never share a key.
func appendKey(b []byte, u *authnv1.UserInfo, a *authzv1.Attributes) []byte {
	b = appendField(b, u.GetUsername())
	b = appendField(b, u.GetUid())
	b = appendCount(b, len(u.GetGroups()))
	for _, g := range u.GetGroups() {
		b = appendField(b, g)
	}
	extra := u.GetExtra()
	b = appendCount(b, len(extra))
	if len(extra) > 0 {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendField(b, k)
			items := extra[k].GetItems()
			b = appendCount(b, len(items))
			for _, v := range items {
				b = appendField(b, v)
			}
		}
	}
	if a.GetResourceRequest() {
		b = append(b, 'R')
	} else {
		b = append(b, 'N')
	}
	for _, f := range [...]string{a.GetVerb(), a.GetApiGroup(), a.GetApiVersion(), a.GetResource(), a.GetSubresource(),
		a.GetNamespace(), a.GetName(), a.GetPath(), a.GetFieldSelector(), a.GetLabelSelector()} {
		b = appendField(b, f)
	}
	return b
}

func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendCount(b []byte, n int) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '#')
}

// cacheKey is appendKey as a string.
func cacheKey(u *authnv1.UserInfo, a *authzv1.Attributes) string {
	return string(appendKey(nil, u, a))
}
