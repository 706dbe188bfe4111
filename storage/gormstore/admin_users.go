package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// ListUsers returns the customers that match filter, ordered by ID. The
// prefixes are matched against the lower-cased email and name, through an
// index on each (migration 10): see listUsersPostgres and sqlitePrefix.
func (s *Store) ListUsers(ctx context.Context, filter storage.UserFilter, page storage.Page) ([]storage.User, error) {
	limit := page.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	filtered := filter.EmailPrefix != "" || filter.NamePrefix != ""
	var rows []userRow
	var err error
	if a := filter.Attribute; a.Name != "" {
		if filtered || !s.searchable[a.Name] {
			return nil, fmt.Errorf("gormstore: list users by attribute %q: %w", a.Name, storage.ErrNotSearchable)
		}
		rows, err = s.listUsersByAttribute(ctx, a, page.After, limit)
	} else if s.kind == Postgres && filtered {
		rows, err = s.listUsersPostgres(ctx, filter, page.After, limit)
	} else {
		rows, err = s.listUsers(ctx, filter, page.After, limit)
	}
	if err != nil {
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

// listUsers lists with bound parameters: every listing on SQLite, and an
// unfiltered one on PostgreSQL.
func (s *Store) listUsers(ctx context.Context, filter storage.UserFilter, after string, limit int) ([]userRow, error) {
	q := s.reader(ctx).Order("id").Limit(limit)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	byID := false
	if filter.EmailPrefix != "" || filter.NamePrefix != "" {
		broad, err := s.broadPrefix(ctx, filter, after)
		if err != nil {
			return nil, err
		}
		byID = broad
	}
	q = sqlitePrefix(q, "email", filter.EmailPrefix, byID)
	q = sqlitePrefix(q, "lower(name)", filter.NamePrefix, byID)
	var rows []userRow
	err := q.Find(&rows).Error
	return rows, err
}

// listUsersPostgres lists the customers whose email and name begin with
// the filter's prefixes with LIKE 'p%' (wildcards escaped), served by the
// text_pattern_ops indexes whatever the database's collation. The whole
// statement is written with literals, nothing bound: the driver prepares
// statements, PostgreSQL gives a prepared statement a generic plan after
// five runs, and a generic plan can neither turn LIKE $1 into an index
// range nor judge how many rows a prefix matches, so a rare prefix paged
// again and again read the whole table in ID order (200 ms at a million
// customers, against 0.2 ms). With standard_conforming_strings (the
// default since PostgreSQL 9.1) doubling the quotes is the whole of
// quoting.
func (s *Store) listUsersPostgres(ctx context.Context, filter storage.UserFilter, after string, limit int) ([]userRow, error) {
	var conds []string
	if after != "" {
		conds = append(conds, "id > "+pgLiteral(after))
	}
	for _, f := range []struct{ expr, prefix string }{{"email", filter.EmailPrefix}, {"lower(name)", filter.NamePrefix}} {
		if f.prefix != "" {
			conds = append(conds, f.expr+" LIKE "+pgLiteral(likePrefix(strings.ToLower(f.prefix)))+` ESCAPE '\'`)
		}
	}
	query := "SELECT * FROM users WHERE " + strings.Join(conds, " AND ") + " ORDER BY id LIMIT " + strconv.Itoa(limit)
	if strings.ContainsRune(query, 0) {
		return nil, nil // text holds no NUL: nothing matches
	}
	var rows []userRow
	err := s.reader(ctx).Raw(query).Scan(&rows).Error
	return rows, err
}

// pgLiteral is s as a PostgreSQL string constant.
func pgLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlitePrefix keeps the rows whose expr (the stored, lower-cased email,
// or lower(name)) begins with the lower-cased prefix: the byte range
// [p, p'), where p' is p with its last byte incremented, which the email's
// unique index and users_name_lower serve (SQLite's LIKE is
// case-insensitive and so cannot use a BINARY index). byID writes the term
// so that no index can serve it (SQLite's unary +), which leaves the
// planner the primary key's order.
func sqlitePrefix(q *gorm.DB, expr, prefix string, byID bool) *gorm.DB {
	if prefix == "" {
		return q
	}
	p := strings.ToLower(prefix)
	if byID {
		expr = "+" + expr
	}
	if upper, ok := prefixUpperBound(p); ok {
		return q.Where(expr+" >= ? AND "+expr+" < ?", p, upper)
	}
	return q.Where(expr+" >= ?", p)
}

// broadPrefixRows is the number of matches past which a prefix counts as
// broad on SQLite (see broadPrefix).
const broadPrefixRows = 8192

// broadPrefix reports whether at least broadPrefixRows customers (after
// the cursor) match the filter, by counting them through the prefix's
// index and stopping there. SQLite keeps no statistics of value ranges, so
// its planner always reads a prefix through its index and sorts every
// match by ID for the page: a rare prefix costs microseconds, but "a"
// matches a tenth of the customers, read and sorted for a page of a
// hundred (half a second at a million). For a broad prefix ListUsers walks
// the primary key in ID order instead and stops at the page's end, which
// reads about limit × (customers / matches) rows.
func (s *Store) broadPrefix(ctx context.Context, filter storage.UserFilter, after string) (bool, error) {
	sub := s.reader(ctx).Table("users").Select("1").Limit(broadPrefixRows)
	if after != "" {
		sub = sub.Where("id > ?", after)
	}
	sub = sqlitePrefix(sub, "email", filter.EmailPrefix, false)
	sub = sqlitePrefix(sub, "lower(name)", filter.NamePrefix, false)
	var n int64
	if err := s.reader(ctx).Table("(?) AS matches", sub).Count(&n).Error; err != nil {
		return false, err
	}
	return n >= broadPrefixRows, nil
}

// prefixUpperBound returns the least string greater than every string
// that begins with p, by bytes; false when there is none (p is all 0xFF).
func prefixUpperBound(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// likePrefix is the LIKE pattern of a lower-cased prefix, with the
// pattern's own wildcards and escape character escaped.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(prefix)) + "%"
}

// DeleteUser removes the customer with everything that hangs off them, in
// one transaction: sessions and their clients, consents, identities,
// federation sign-ins and pending links in progress, every token whose
// subject they are, and their role assignments.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	defer s.forgetUser(ctx, id)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var attrs sql.NullString
		if err := tx.Raw("SELECT attributes FROM users WHERE id = ?", id).Scan(&attrs).Error; err != nil {
			return err
		}
		old, err := decodeAttributes(attrs)
		if err != nil {
			return err
		}
		if err := s.syncAttributeIndex(tx, id, old, nil); err != nil {
			return err
		}
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
			"DELETE FROM email_tokens WHERE user_id = ?",
			"DELETE FROM webauthn_credentials WHERE user_id = ?",
			"DELETE FROM role_assignments WHERE user_id = ?",
			"DELETE FROM mfa_devices WHERE user_id = ?",
		} {
			if err := tx.Exec(stmt, id).Error; err != nil {
				return err
			}
		}
		return nil
	})
	s.forgetAccessTokens(ctx, "")
	return mapError("gormstore: delete user", err)
}
