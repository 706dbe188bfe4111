package gormstore

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse-id/gatehouse/storage"
)

// maxCachedUsers bounds the customer cache: at about 1 KiB a customer,
// some 10 MiB at most.
const maxCachedUsers = 10000

// userCache keeps the customers read recently for GetUserRecent, so that
// the userinfo endpoint, asked on every API call of an app, reads a
// customer once a ttl rather than once a call.
//
// Its contract is the token cache's: an entry is used for at most ttl
// after the read that filled it began; a change made through this store
// (UpdateUser, DeleteUser) is seen at once, because it records when it
// took effect (after its commit) and an entry read before that is not
// used; a change made by another replica is seen once the entry is ttl
// old.
type userCache struct {
	ttl     time.Duration
	entries *lru.Cache[string, cachedUser] // by ID; nil when off

	mu      sync.RWMutex
	changed map[string]time.Time // customer ID -> when it last changed here
	cleared time.Time            // when every entry was dropped last
}

type cachedUser struct {
	user storage.User
	read time.Time // when the read that returned user began
}

// newUserCache returns a cache whose entries live ttl; zero or less turns
// it off.
func newUserCache(ttl time.Duration) *userCache {
	c := &userCache{ttl: ttl, changed: map[string]time.Time{}}
	if ttl > 0 {
		c.entries, _ = lru.New[string, cachedUser](maxCachedUsers)
	}
	return c
}

// get returns the cached customer, if the entry may still be used.
func (c *userCache) get(id string, now time.Time) (storage.User, bool) {
	if c.entries == nil {
		return storage.User{}, false
	}
	e, ok := c.entries.Get(id)
	if !ok || now.Sub(e.read) >= c.ttl {
		return storage.User{}, false
	}
	c.mu.RLock()
	stale := !e.read.After(c.cleared) || !e.read.After(c.changed[id])
	c.mu.RUnlock()
	return e.user, !stale
}

// put caches a customer whose read began at read.
func (c *userCache) put(u storage.User, read time.Time) {
	if c.entries != nil {
		c.entries.Add(u.ID, cachedUser{user: u, read: read})
	}
}

// change makes the cached entry of the customer unusable.
func (c *userCache) change(id string) {
	if c.entries == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Marks older than ttl guard nothing: every entry read before them
	// has expired by now.
	if len(c.changed) >= maxCachedUsers {
		for k, at := range c.changed {
			if now.Sub(at) >= c.ttl {
				delete(c.changed, k)
			}
		}
		if len(c.changed) >= maxCachedUsers {
			clear(c.changed)
			c.cleared = now
			return
		}
	}
	c.changed[id] = now
}

// forgetUser makes the cached customer unusable now, and again once the
// transaction in ctx commits, so that no read made before the commit is
// used after it.
func (s *Store) forgetUser(ctx context.Context, id string) {
	forget := func() { s.users.change(id) }
	forget()
	s.AfterCommit(ctx, forget)
}

// GetUserRecent returns the customer as GetUser does, or as read at most
// the token cache's TTL ago (Options.TokenCacheTTL): a change made through
// this Store is seen at once, one made by another replica within the TTL.
// The userinfo endpoint reads customers this way.
func (s *Store) GetUserRecent(ctx context.Context, id string) (storage.User, error) {
	now := time.Now()
	if u, ok := s.users.get(id, now); ok {
		return u, nil
	}
	u, err := s.GetUser(ctx, id)
	if err == nil {
		s.users.put(u, now)
	}
	return u, err
}
