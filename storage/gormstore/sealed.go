package gormstore

import (
	"context"
	"time"
)

// kindSealedRevoked marks, in the tokens table, the revocation of a
// sealed access token: a self-contained token the table never held
// (pkg/oidc). Its signature and request ID are the token's id, and its
// expiry the token's, so the expired-row collection removes it once the
// token would be refused anyway.
const kindSealedRevoked = "rv"

// maxCachedRevocations bounds the cache of revocation checks: a few
// dozen bytes an entry.
const maxCachedRevocations = 50000

// revocationCheck is the answer for one sealed access token: revoked or
// not. Caching the "not" is the point: a sealed token is looked up on
// every API call of the resource server that holds it.
type revocationCheck struct {
	id      string
	revoked bool
}

// revocationCache keeps recent answers of SealedAccessTokenRevoked
// (recentCache): a revocation through this store is seen at once, one
// through another replica once the entry is ttl old.
type revocationCache = recentCache[revocationCheck]

func newRevocationCache(ttl time.Duration) *revocationCache {
	id := func(c revocationCheck) string { return c.id }
	return newRecentCache(ttl, maxCachedRevocations, id, id)
}

// RevokeSealedAccessToken records the revocation of a sealed access token.
func (s *Store) RevokeSealedAccessToken(ctx context.Context, id string, expiresAt time.Time) error {
	now := time.Now().UTC()
	err := s.writer(ctx).Exec("INSERT INTO tokens ("+tokenColumns+") VALUES (?, ?, ?, '', '', ?, ?, ?, '') ON CONFLICT DO NOTHING",
		kindSealedRevoked, id, id, false, now, expiresAt.UTC()).Error
	if err != nil {
		return mapError("gormstore: revoke sealed access token", err)
	}
	forget := func() { s.revocations.change(id) }
	forget()
	s.AfterCommit(ctx, forget)
	return nil
}

// SealedAccessTokenRevoked reports whether the sealed access token was
// revoked.
func (s *Store) SealedAccessTokenRevoked(ctx context.Context, id string) (bool, error) {
	start := time.Now()
	if c, ok := s.revocations.get(id, start); ok {
		return c.revoked, nil
	}
	var n int64
	if err := s.reader(ctx).Raw("SELECT COUNT(*) FROM tokens WHERE kind = ? AND signature = ?", kindSealedRevoked, id).Scan(&n).Error; err != nil {
		return false, mapError("gormstore: check sealed access token", err)
	}
	s.revocations.put(revocationCheck{id: id, revoked: n > 0}, start)
	return n > 0, nil
}
