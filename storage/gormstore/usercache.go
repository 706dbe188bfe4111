package gormstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// maxCachedUsers bounds the customer cache: at about 1 KiB a customer,
// some 10 MiB at most.
const maxCachedUsers = 10000

// userCache keeps the customers read recently for GetUserRecent
// (recentCache), so that the userinfo endpoint, asked on every API call
// of an app, reads a customer once a ttl rather than once a call.
// UpdateUser and DeleteUser change the customer's group (its ID).
type userCache = recentCache[storage.User]

// newUserCache returns a cache whose entries live ttl; zero or less turns
// it off.
func newUserCache(ttl time.Duration) *userCache {
	userID := func(u storage.User) string { return u.ID }
	return newRecentCache(ttl, maxCachedUsers, userID, userID)
}

// forgetUser makes the cached customer unusable now, and again once the
// transaction in ctx commits, so that no read made before the commit is
// used after it.
func (s *Store) forgetUser(ctx context.Context, id string) {
	s.changeCached(ctx, func() { s.users.change(id) })
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
