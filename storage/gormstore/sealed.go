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
	id, clientID string
	revoked      bool
}

// revocationCache keeps recent answers of SealedAccessTokenRevoked
// (recentCache), grouped by client: a client's deletion through this
// store changes its group, a token's revocation (rare) every entry. So
// both are seen at once here, and through another replica once the entry
// is ttl old.
type revocationCache = recentCache[revocationCheck]

func newRevocationCache(ttl time.Duration) *revocationCache {
	return newRecentCache(ttl, maxCachedRevocations,
		func(c revocationCheck) string { return c.id },
		func(c revocationCheck) string { return c.clientID })
}

// RevokeSealedAccessToken records the revocation of a sealed access token.
func (s *Store) RevokeSealedAccessToken(ctx context.Context, id string, expiresAt time.Time) error {
	now := time.Now().UTC()
	err := s.writer(ctx).Exec("INSERT INTO tokens ("+tokenColumns+") VALUES (?, ?, ?, '', '', ?, ?, ?, '') ON CONFLICT DO NOTHING",
		kindSealedRevoked, id, id, false, now, expiresAt.UTC()).Error
	if err != nil {
		return mapError("gormstore: revoke sealed access token", err)
	}
	s.revocations.changeAll()
	s.AfterCommit(ctx, s.revocations.changeAll)
	return nil
}

// sealedRevokedSQL is one read for both answers: a revocation record, or
// no client.
const sealedRevokedSQL = "SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = ? AND signature = ?) OR NOT EXISTS (SELECT 1 FROM clients WHERE id = ?)"

// SealedAccessTokenRevoked reports whether the sealed access token was
// revoked or its client deleted.
func (s *Store) SealedAccessTokenRevoked(ctx context.Context, id, clientID string) (bool, error) {
	start := time.Now()
	if c, ok := s.revocations.get(id, start); ok && c.clientID == clientID {
		return c.revoked, nil
	}
	var revoked bool
	if err := s.reader(ctx).Raw(sealedRevokedSQL, kindSealedRevoked, id, clientID).Scan(&revoked).Error; err != nil {
		return false, mapError("gormstore: check sealed access token", err)
	}
	s.revocations.put(revocationCheck{id: id, clientID: clientID, revoked: revoked}, start)
	return revoked, nil
}
