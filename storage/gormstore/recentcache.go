package gormstore

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"
)

// recentCache keeps values read recently from the database, so that a
// value asked for on every API call costs one read a ttl, not one a call.
// Its uses: the access-token cache (tokencache.go), userinfo's customer
// cache (usercache.go) and the revocation checks of sealed access tokens
// (sealed.go).
//
// The bound on staleness is the contract: an entry is used for at most ttl
// after the read that filled it began. A change made through this store
// is seen at once: it records the time it took effect (after its commit)
// for the group it changed (a token's request, a customer), or for every
// entry, and an entry whose read began before that time is not used, so
// not even a read that raced with the change can put the old value back.
// A change made by another replica is seen once the entry is ttl old.
type recentCache[V any] struct {
	ttl   time.Duration
	limit int
	// key names an entry; group names what a change marks, for an entry.
	key, group func(V) string
	entries    *lru.Cache[string, recentEntry[V]] // nil when off

	mu      sync.RWMutex
	changed map[string]time.Time // group -> when it last changed here
	cleared time.Time            // when every entry was dropped last
}

type recentEntry[V any] struct {
	value V
	read  time.Time // when the read that returned value began
}

// newRecentCache returns a cache of at most limit entries that live ttl;
// a ttl of zero or less turns it off.
func newRecentCache[V any](ttl time.Duration, limit int, key, group func(V) string) *recentCache[V] {
	c := &recentCache[V]{ttl: ttl, limit: limit, key: key, group: group, changed: map[string]time.Time{}}
	if ttl > 0 {
		// New fails only for a size below 1.
		c.entries, _ = lru.New[string, recentEntry[V]](limit)
	}
	return c
}

// get returns the cached value of a key, if it may still be used.
func (c *recentCache[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	if c.entries == nil {
		return zero, false
	}
	e, ok := c.entries.Get(key)
	if !ok || now.Sub(e.read) >= c.ttl {
		return zero, false
	}
	c.mu.RLock()
	stale := !e.read.After(c.cleared) || !e.read.After(c.changed[c.group(e.value)])
	c.mu.RUnlock()
	if stale {
		return zero, false
	}
	return e.value, true
}

// put caches a value whose read began at read.
func (c *recentCache[V]) put(v V, read time.Time) {
	if c.entries != nil {
		c.entries.Add(c.key(v), recentEntry[V]{value: v, read: read})
	}
}

// change makes the cached entries of the group unusable.
func (c *recentCache[V]) change(group string) {
	if c.entries == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Marks older than ttl guard nothing: every entry read before them has
	// expired by now. Dropping them keeps the map to the changes of the
	// last ttl.
	if len(c.changed) >= c.limit {
		for g, at := range c.changed {
			if now.Sub(at) >= c.ttl {
				delete(c.changed, g)
			}
		}
		if len(c.changed) >= c.limit {
			// Too many changes to track one by one: drop everything.
			clear(c.changed)
			c.cleared = now
			return
		}
	}
	c.changed[group] = now
}

// changeAll makes every cached entry unusable.
func (c *recentCache[V]) changeAll() {
	if c.entries == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	c.cleared = now
	clear(c.changed)
	c.mu.Unlock()
	c.entries.Purge()
}

// changeCached applies change, a change of a recentCache's groups, now and
// again once the transaction in ctx commits (at once outside one), so that
// no read made before the commit is used after it.
func (s *Store) changeCached(ctx context.Context, change func()) {
	change()
	s.AfterCommit(ctx, change)
}

// inTransaction reports whether ctx carries a transaction (BeginTX, InTx).
// Reads inside one neither use nor fill the caches: its snapshot may be
// older than a change the cache has seen.
func inTransaction(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}
