package gormstore

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// maxCachedTokens bounds the access-token cache: at about 1 KiB a row,
// some 20 MiB at most.
const maxCachedTokens = 20000

// tokenCache keeps the access-token rows read recently, so that a
// resource server asking about the same token on every API call
// (introspection, userinfo) costs one database read a ttl, not one a call.
//
// The bound on staleness is the contract: an entry is used for at most ttl
// after the read that filled it began. A revocation made through this
// store is seen at once: it records the time it took effect (after its
// commit) for its request ID, or for every token, and an entry whose read
// began before that time is not used, so not even a read that raced with
// the revocation can put a revoked token back. A revocation made by
// another replica is seen once the entry is ttl old.
type tokenCache struct {
	ttl     time.Duration
	entries *lru.Cache[string, cachedToken] // by signature; nil when off

	mu      sync.RWMutex
	revoked map[string]time.Time // request ID -> when its tokens were revoked
	cleared time.Time            // when every entry was dropped last
}

type cachedToken struct {
	row  tokenRow
	read time.Time // when the read that returned row began
}

// newTokenCache returns a cache whose entries live ttl; zero or less turns
// it off.
func newTokenCache(ttl time.Duration) *tokenCache {
	c := &tokenCache{ttl: ttl, revoked: map[string]time.Time{}}
	if ttl > 0 {
		// New fails only for a size below 1.
		c.entries, _ = lru.New[string, cachedToken](maxCachedTokens)
	}
	return c
}

// get returns the cached row of a signature, if one may still be used.
func (c *tokenCache) get(signature string, now time.Time) (tokenRow, bool) {
	if c.entries == nil {
		return tokenRow{}, false
	}
	e, ok := c.entries.Get(signature)
	if !ok || now.Sub(e.read) >= c.ttl {
		return tokenRow{}, false
	}
	c.mu.RLock()
	stale := !e.read.After(c.cleared) || !e.read.After(c.revoked[e.row.RequestID])
	c.mu.RUnlock()
	return e.row, !stale
}

// put caches a row whose read began at read.
func (c *tokenCache) put(row tokenRow, read time.Time) {
	if c.entries == nil {
		return
	}
	c.entries.Add(row.Signature, cachedToken{row: row, read: read})
}

// revokeRequest makes every cached token of the request unusable.
func (c *tokenCache) revokeRequest(requestID string) {
	if c.entries == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Marks older than ttl guard nothing: every entry read before them has
	// expired by now. Dropping them keeps the map to the revocations of
	// the last ttl.
	if len(c.revoked) >= maxCachedTokens {
		for id, at := range c.revoked {
			if now.Sub(at) >= c.ttl {
				delete(c.revoked, id)
			}
		}
		if len(c.revoked) >= maxCachedTokens {
			// Too many revocations to track one by one: drop everything.
			clear(c.revoked)
			c.cleared = now
			return
		}
	}
	c.revoked[requestID] = now
}

// revokeAll makes every cached token unusable.
func (c *tokenCache) revokeAll() {
	if c.entries == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.cleared = now
	clear(c.revoked)
	c.mu.Unlock()
	c.entries.Purge()
}
