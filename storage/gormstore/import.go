package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// importChunk is the rows of one multi-row INSERT on SQLite. The driver
// matches each placeholder to its argument by a linear search of them all
// (glebarez/go-sqlite's bind), so a statement's binding costs the square
// of its placeholders: at 500 rows (7,500 placeholders) binding took half
// of an import's CPU; at 32 rows (480) it is a few per cent, and the
// statement is still long enough that parsing it costs little more a row.
const importChunk = 32

// userColumns are the users table's columns in the order the bulk
// inserts bind them.
const userColumns = "id, email, email_verified, password_hash, name, given_name, family_name, picture, locale, " +
	"phone_number, phone_number_verified, address, created_at, updated_at, external_id, attributes"

// insertUsersArraysSQL inserts customers on PostgreSQL from one array per
// column: one statement whatever the batch size.
const insertUsersArraysSQL = "INSERT INTO users (" + userColumns + ") SELECT * FROM unnest(" +
	"$1::text[], $2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], " +
	"$10::text[], $11::boolean[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::text[])"

const identityColumns = "provider, subject, user_id, email, created_at, last_used_at"

const insertIdentitiesArraysSQL = "INSERT INTO identities (" + identityColumns + ") SELECT * FROM unnest(" +
	"$1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])"

// FindUsersForImport returns the customers with one of the external IDs
// or (lower-cased) emails.
func (s *Store) FindUsersForImport(ctx context.Context, externalIDs, emails []string) ([]storage.User, error) {
	ext := nonEmpty(externalIDs, false)
	mails := nonEmpty(emails, true)
	if len(ext) == 0 && len(mails) == 0 {
		return nil, nil
	}
	q := s.reader(ctx)
	switch {
	case len(ext) > 0 && len(mails) > 0:
		q = q.Where("external_id IN ? OR email IN ?", ext, mails)
	case len(ext) > 0:
		q = q.Where("external_id IN ?", ext)
	default:
		q = q.Where("email IN ?", mails)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: find users for import", err)
	}
	out := make([]storage.User, 0, len(rows))
	for _, r := range rows {
		u, err := r.toUser()
		if err != nil {
			return nil, mapError("gormstore: find users for import", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// nonEmpty returns the non-empty keys, lower-cased when lower is set.
func nonEmpty(keys []string, lower bool) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" {
			continue
		}
		if lower {
			k = normalizeEmail(k)
		}
		out = append(out, k)
	}
	return out
}

// FindIdentities returns the links of the upstream accounts that exist.
func (s *Store) FindIdentities(ctx context.Context, keys []storage.IdentityKey) ([]storage.Identity, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pairs := make([][]any, len(keys))
	for i, k := range keys {
		pairs[i] = []any{k.Provider, k.Subject}
	}
	var rows []identityRow
	if err := s.reader(ctx).Where("(provider, subject) IN ?", pairs).Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: find identities", err)
	}
	out := make([]storage.Identity, len(rows))
	for i, r := range rows {
		out[i] = r.toIdentity()
	}
	return out, nil
}

// CreateUsers stores the customers and links with multi-row inserts that
// bypass GORM's reflection: one statement per table on PostgreSQL (arrays
// through unnest), one per importChunk rows on SQLite.
func (s *Store) CreateUsers(ctx context.Context, users []storage.User, identities []storage.Identity) error {
	now := time.Now().UTC()
	rows := make([]userRow, len(users))
	for i, u := range users {
		if u.ID == "" {
			return fmt.Errorf("gormstore: create users: a customer without an ID")
		}
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now
		}
		u.UpdatedAt = now
		r, err := toUserRow(u)
		if err != nil {
			return fmt.Errorf("gormstore: create users: %w", err)
		}
		rows[i] = r
	}
	links := make([]identityRow, len(identities))
	for i, id := range identities {
		if id.CreatedAt.IsZero() {
			id.CreatedAt = now
		}
		r, err := newIdentityRow(id)
		if err != nil {
			return fmt.Errorf("gormstore: create users: %w", err)
		}
		links[i] = r
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		conn := tx.Statement.ConnPool
		var err error
		if s.kind == Postgres {
			err = insertUsersPostgres(ctx, conn, rows, links)
		} else {
			err = insertUsersSQLite(ctx, conn, rows, links)
		}
		if err == nil {
			if index := s.indexRowsOf(users); len(index) > 0 {
				err = tx.CreateInBatches(index, importChunk).Error
			}
		}
		// The raw statements bypass GORM's error translation.
		if t, ok := tx.Dialector.(gorm.ErrorTranslator); ok && err != nil {
			err = t.Translate(err)
		}
		return err
	})
	return mapError("gormstore: create users", err)
}

func insertUsersPostgres(ctx context.Context, conn gorm.ConnPool, rows []userRow, links []identityRow) error {
	if n := len(rows); n > 0 {
		ids, hashes, names, given, family, pictures, locales, phones, addrs := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		emails, ext, attrs := make([]*string, n), make([]*string, n), make([]*string, n)
		verified, phoneVerified := make([]bool, n), make([]bool, n)
		created, updated := make([]time.Time, n), make([]time.Time, n)
		for i := range rows {
			r := &rows[i]
			ids[i], hashes[i], names[i], given[i], family[i] = r.ID, r.PasswordHash, r.Name, r.GivenName, r.FamilyName
			pictures[i], locales[i], phones[i], addrs[i] = r.Picture, r.Locale, r.PhoneNumber, r.Address
			emails[i], ext[i], attrs[i] = nullable(r.Email), nullable(r.ExternalID), nullable(r.Attributes)
			verified[i], phoneVerified[i], created[i], updated[i] = r.EmailVerified, r.PhoneNumberVerified, r.CreatedAt, r.UpdatedAt
		}
		if _, err := conn.ExecContext(ctx, insertUsersArraysSQL, ids, emails, verified, hashes, names, given, family, pictures,
			locales, phones, phoneVerified, addrs, created, updated, ext, attrs); err != nil {
			return err
		}
	}
	if n := len(links); n > 0 {
		providers, subjects, userIDs, emails := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		created, used := make([]time.Time, n), make([]time.Time, n)
		for i, l := range links {
			providers[i], subjects[i], userIDs[i], emails[i], created[i], used[i] = l.Provider, l.Subject, l.UserID, l.Email, l.CreatedAt, l.LastUsedAt
		}
		if _, err := conn.ExecContext(ctx, insertIdentitiesArraysSQL, providers, subjects, userIDs, emails, created, used); err != nil {
			return err
		}
	}
	return nil
}

func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func insertUsersSQLite(ctx context.Context, conn gorm.ConnPool, rows []userRow, links []identityRow) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), importChunk)]
		rows = rows[len(chunk):]
		args := make([]any, 0, 16*len(chunk))
		for i := range chunk {
			r := &chunk[i]
			args = append(args, r.ID, r.Email, r.EmailVerified, r.PasswordHash, r.Name, r.GivenName, r.FamilyName, r.Picture,
				r.Locale, r.PhoneNumber, r.PhoneNumberVerified, r.Address, r.CreatedAt, r.UpdatedAt, r.ExternalID, r.Attributes)
		}
		if _, err := conn.ExecContext(ctx, valuesInsert("users", userColumns, 16, len(chunk)), args...); err != nil {
			return err
		}
	}
	for len(links) > 0 {
		chunk := links[:min(len(links), importChunk)]
		links = links[len(chunk):]
		args := make([]any, 0, 6*len(chunk))
		for _, l := range chunk {
			args = append(args, l.Provider, l.Subject, l.UserID, l.Email, l.CreatedAt, l.LastUsedAt)
		}
		if _, err := conn.ExecContext(ctx, valuesInsert("identities", identityColumns, 6, len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// valuesInsert is a multi-row INSERT … VALUES of n rows of cols columns.
func valuesInsert(table, columns string, cols, n int) string {
	row := "(" + strings.Repeat("?,", cols-1) + "?)"
	var b strings.Builder
	b.Grow(len(table) + len(columns) + n*(len(row)+1) + 32)
	b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}
