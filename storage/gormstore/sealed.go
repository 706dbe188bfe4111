package gormstore

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// kindSealedRevoked marks, in the tokens table, the revocation of a
// sealed access token: a self-contained token the table never held
// (pkg/oidc). Its signature and request ID are the token's id, its
// client_id the token's client (so deleting the client deletes it too),
// and its expiry a while after the token's, so the expired-row collection
// removes it once every replica refuses the token anyway.
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
// (recentCache), grouped by client: a client's deletion or the revocation
// of one of its tokens through this store changes the client's group, so
// both are seen at once here, and through another replica once the entry
// is ttl old. (One client revoking its tokens in a loop empties only its
// own entries.)
type revocationCache = recentCache[revocationCheck]

func newRevocationCache(ttl time.Duration) *revocationCache {
	return newRecentCache(ttl, maxCachedRevocations,
		func(c revocationCheck) string { return c.id },
		func(c revocationCheck) string { return c.clientID })
}

// RevokeSealedAccessToken records the revocation of a sealed access token.
func (s *Store) RevokeSealedAccessToken(ctx context.Context, id, clientID string, keepUntil time.Time) error {
	now := time.Now().UTC()
	res := s.writer(ctx).Exec("INSERT INTO tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, '', ?, ?, ?, '') ON CONFLICT DO NOTHING",
		kindSealedRevoked, id, id, clientID, false, now, keepUntil.UTC())
	if res.Error != nil {
		err := mapError("gormstore: revoke sealed access token", res.Error)
		if errors.Is(err, storage.ErrUnavailable) {
			s.health.report(err)
		}
		return err
	}
	s.health.report(nil)
	if res.RowsAffected == 0 {
		return nil // revoked before
	}
	s.changeCached(ctx, func() { s.revocations.change(clientID) })
	return nil
}

// sealedRevokedSQL is one read for both answers: a revocation record, or
// no client.
const sealedRevokedSQL = "SELECT EXISTS (SELECT 1 FROM tokens WHERE kind = ? AND signature = ?) OR NOT EXISTS (SELECT 1 FROM clients WHERE id = ?)"

// SealedAccessTokenRevoked reports whether the sealed access token was
// revoked or its client deleted. Inside a transaction it reads the
// database and caches nothing (inTransaction), as readToken does.
func (s *Store) SealedAccessTokenRevoked(ctx context.Context, id, clientID string) (bool, error) {
	inTx := inTransaction(ctx)
	start := time.Now()
	if !inTx {
		if c, ok := s.revocations.get(id, start); ok && c.clientID == clientID {
			return c.revoked, nil
		}
	}
	var revoked bool
	if err := s.reader(ctx).Raw(sealedRevokedSQL, kindSealedRevoked, id, clientID).Scan(&revoked).Error; err != nil {
		return false, mapError("gormstore: check sealed access token", err)
	}
	if !inTx {
		s.revocations.put(revocationCheck{id: id, clientID: clientID, revoked: revoked}, start)
	}
	return revoked, nil
}
