package gormstore

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// ListUsers returns the customers that match filter, ordered by ID. The
// prefixes are matched with LIKE, their wildcards escaped, against the
// lower-cased email and name.
func (s *Store) ListUsers(ctx context.Context, filter storage.UserFilter, page storage.Page) ([]storage.User, error) {
	limit := page.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := s.reader(ctx).Order("id").Limit(limit)
	if page.After != "" {
		q = q.Where("id > ?", page.After)
	}
	if filter.EmailPrefix != "" {
		q = q.Where(`email LIKE ? ESCAPE '\'`, likePrefix(filter.EmailPrefix))
	}
	if filter.NamePrefix != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, likePrefix(filter.NamePrefix))
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list users", err)
	}
	out := make([]storage.User, 0, len(rows))
	for _, r := range rows {
		u, err := r.toUser()
		if err != nil {
			return nil, mapError("gormstore: list users", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// likePrefix is the LIKE pattern of a lower-cased prefix, with the
// pattern's own wildcards and escape character escaped.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(prefix)) + "%"
}

// DeleteUser removes the customer with everything that hangs off them, in
// one transaction: sessions and their clients, consents, identities,
// federation sign-ins and pending links in progress, and every token whose
// subject they are.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ?", id).Delete(&userRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		for _, stmt := range []string{
			"DELETE FROM session_clients WHERE session_id IN (SELECT id FROM browser_sessions WHERE user_id = ?)",
			"DELETE FROM browser_sessions WHERE user_id = ?",
			"DELETE FROM consents WHERE user_id = ?",
			"DELETE FROM identities WHERE user_id = ?",
			"DELETE FROM federation_states WHERE user_id = ?",
			"DELETE FROM pending_links WHERE user_id = ?",
			"DELETE FROM tokens WHERE subject = ?",
			"DELETE FROM mfa_totp WHERE user_id = ?",
			"DELETE FROM mfa_recovery_codes WHERE user_id = ?",
			"DELETE FROM webauthn_credentials WHERE user_id = ?",
		} {
			if err := tx.Exec(stmt, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return mapError("gormstore: delete user", err)
}
