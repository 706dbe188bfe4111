package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
	"github.com/gatehouse-id/gatehouse/storage"
)

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
// or (lower-cased) emails: one look-up by each key list, each key one
// probe of its unique index.
func (s *Store) FindUsersForImport(ctx context.Context, externalIDs, emails []string) ([]storage.User, error) {
	var out []storage.User
	for _, list := range []struct {
		column string
		keys   []string
	}{{"external_id", nonEmpty(externalIDs, false)}, {"email", nonEmpty(emails, true)}} {
		if len(list.keys) == 0 {
			continue
		}
		cond, arg := s.inKeys(list.column, list.keys)
		found, err := findUsers("gormstore: find users for import", s.reader(ctx).Where(cond, arg))
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// FindUsersByIDs returns the customers with one of the IDs, in no
// particular order.
func (s *Store) FindUsersByIDs(ctx context.Context, ids []string) ([]storage.User, error) {
	ids = nonEmpty(ids, false)
	if len(ids) == 0 {
		return nil, nil
	}
	cond, arg := s.inKeys("id", ids)
	return findUsers("gormstore: find users by ids", s.reader(ctx).Where(cond, arg))
}

// ListIdentitiesOfUsers returns the links of the customers, ordered by
// customer and provider.
func (s *Store) ListIdentitiesOfUsers(ctx context.Context, userIDs []string) ([]storage.Identity, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	cond, arg := s.inKeys("user_id", userIDs)
	var rows []identityRow
	if err := s.reader(ctx).Where(cond, arg).Order("user_id, provider").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list identities of users", err)
	}
	out := make([]storage.Identity, len(rows))
	for i, r := range rows {
		out[i] = r.toIdentity()
	}
	return out, nil
}

// FindClientIDs returns those of ids that are clients' IDs.
func (s *Store) FindClientIDs(ctx context.Context, ids []string) ([]string, error) {
	ids = nonEmpty(ids, false)
	if len(ids) == 0 {
		return nil, nil
	}
	cond, arg := s.inKeys("id", ids)
	var out []string
	if err := s.reader(ctx).Table("clients").Where(cond, arg).Pluck("id", &out).Error; err != nil {
		return nil, mapError("gormstore: find client ids", err)
	}
	return out, nil
}

// inKeys is a condition that column is one of keys, and its one argument:
// the keys as one JSON array, whose elements the database probes the
// column's index with. On SQLite the driver prepares every statement anew
// and binds placeholders by a linear search, so a thousand placeholders
// cost more than the look-up they serve; on PostgreSQL a list of a
// thousand placeholders took 2 ms to parse, bind and plan before the
// probes (a batch of an import looks up 2,000 keys).
func (s *Store) inKeys(column string, keys []string) (string, any) {
	if s.kind == SQLite {
		return column + " IN (SELECT value FROM json_each(?))", string(jsonw.Strings(nil, keys))
	}
	return column + " IN (SELECT jsonb_array_elements_text(?::jsonb))", string(jsonw.Strings(nil, keys))
}

// findUsers runs q and returns its customers.
func findUsers(op string, q *gorm.DB) ([]storage.User, error) {
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, mapError(op, err)
	}
	out := make([]storage.User, 0, len(rows))
	for _, r := range rows {
		u, err := r.toUser()
		if err != nil {
			return nil, mapError(op, err)
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
// The keys travel as one JSON array of [provider, subject] pairs, and each
// probes the (provider, subject) primary key once. A list of row values,
// (provider, subject) IN ((…), …), made SQLite scan the whole table and
// PostgreSQL plan an OR branch a key: 38 ms for a batch of a thousand
// customers, growing with the table.
func (s *Store) FindIdentities(ctx context.Context, keys []storage.IdentityKey) ([]storage.Identity, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pairs := []byte{'['}
	for i, k := range keys {
		if i > 0 {
			pairs = append(pairs, ',')
		}
		pairs = jsonw.String(append(pairs, '['), k.Provider)
		pairs = append(jsonw.String(append(pairs, ','), k.Subject), ']')
	}
	pairs = append(pairs, ']')
	cond := "(provider, subject) IN (SELECT value->>0, value->>1 FROM jsonb_each(?))"
	if s.kind == Postgres {
		cond = "(provider, subject) IN (SELECT e->>0, e->>1 FROM jsonb_array_elements(?::jsonb) AS e)"
	}
	var rows []identityRow
	if err := s.reader(ctx).Where(cond, string(pairs)).Find(&rows).Error; err != nil {
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
// through unnest), one per sqliteRowsBytes of JSONB rows on SQLite; the
// searchable attributes' index rows alike.
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
	// In an initial load the links and index rows wait in its staging
	// tables, to be written in key order at its end.
	identitiesTable, indexTable := "identities", "user_attribute_index"
	if inInitialLoad(ctx) {
		identitiesTable, indexTable = stagedIdentities, stagedAttributeIndex
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		conn := tx.Statement.ConnPool
		var err error
		if s.kind == Postgres {
			err = insertUsersPostgres(ctx, conn, rows, links)
		} else {
			err = insertUsersSQLite(ctx, conn, rows, links, identitiesTable)
		}
		if err == nil {
			err = s.insertAttributeIndex(ctx, conn, s.indexRowsOf(users), indexTable)
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

// sqliteTimeLayout is how glebarez/go-sqlite writes a bound time.Time (its
// default write format); times written into the rows of insertUsersSQLite
// take the same form, so they read back and sort like bound ones.
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// insertUsersSQLiteSQL inserts customers on SQLite from one JSONB array of
// rows (each an array in userColumns' order, jsonbRows), and
// insertIdentitiesSQLiteSQL their links (into the table it is formatted
// with). OR FAIL instead of the default ABORT spares a statement journal
// for the constraints: a failure rolls the whole transaction back anyway
// (the ->> calls still need one, docs/benchmarks.md).
const (
	insertUsersSQLiteSQL = "INSERT OR FAIL INTO users (" + userColumns + ") SELECT " +
		"value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, " +
		"value->>9, value->>10, value->>11, value->>12, value->>13, value->>14, value->>15 FROM jsonb_each(?)"
	insertIdentitiesSQLiteSQL = "INSERT OR FAIL INTO %s (" + identityColumns + ") SELECT " +
		"value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(?)"
)

func insertUsersSQLite(ctx context.Context, conn gorm.ConnPool, rows []userRow, links []identityRow, identitiesTable string) error {
	w := newJSONBRows(ctx, conn, insertUsersSQLiteSQL)
	for i := range rows {
		r := &rows[i]
		w.text(r.ID)
		w.nullable(r.Email)
		w.boolean(r.EmailVerified)
		for _, v := range []string{r.PasswordHash, r.Name, r.GivenName, r.FamilyName, r.Picture, r.Locale, r.PhoneNumber} {
			w.text(v)
		}
		w.boolean(r.PhoneNumberVerified)
		w.text(r.Address)
		w.time(r.CreatedAt)
		w.time(r.UpdatedAt)
		w.nullable(r.ExternalID)
		w.nullable(r.Attributes)
		if err := w.end(); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	w = newJSONBRows(ctx, conn, fmt.Sprintf(insertIdentitiesSQLiteSQL, identitiesTable))
	for _, l := range links {
		for _, v := range []string{l.Provider, l.Subject, l.UserID, l.Email} {
			w.text(v)
		}
		w.time(l.CreatedAt)
		w.time(l.LastUsedAt)
		if err := w.end(); err != nil {
			return err
		}
	}
	return w.flush()
}

const (
	insertAttributeIndexArraysSQL = "INSERT INTO user_attribute_index (name, value, user_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
	insertAttributeIndexSQLiteSQL = "INSERT OR FAIL INTO %s (name, value, user_id) SELECT value->>0, value->>1, value->>2 FROM jsonb_each(?)"
)

// insertAttributeIndex stores the searchable attributes' index rows of new
// customers, as CreateUsers stores the customers, into table (SQLite
// only: user_attribute_index, or an initial load's staging table).
func (s *Store) insertAttributeIndex(ctx context.Context, conn gorm.ConnPool, rows []attributeIndexRow, table string) error {
	if len(rows) == 0 {
		return nil
	}
	if s.kind == Postgres {
		names, values, users := make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
		for i, r := range rows {
			names[i], values[i], users[i] = r.Name, r.Value, r.UserID
		}
		_, err := conn.ExecContext(ctx, insertAttributeIndexArraysSQL, names, values, users)
		return err
	}
	w := newJSONBRows(ctx, conn, fmt.Sprintf(insertAttributeIndexSQLiteSQL, table))
	for _, r := range rows {
		w.text(r.Name)
		w.text(r.Value)
		w.text(r.UserID)
		if err := w.end(); err != nil {
			return err
		}
	}
	return w.flush()
}

const (
	assignRolesArraysSQL = "INSERT INTO role_assignments (user_id, role_id, created_at) SELECT u, r, $3 FROM unnest($1::text[], $2::text[]) AS a(u, r) " +
		"ON CONFLICT DO NOTHING"
	// WHERE true: SQLite's parser would take ON for a join's without it.
	assignRolesSQLiteSQL = "INSERT INTO role_assignments (user_id, role_id, created_at) SELECT value->>0, value->>1, ? FROM jsonb_each(?) WHERE true " +
		"ON CONFLICT DO NOTHING"
)

// AssignRoles stores the assignments in one statement on PostgreSQL and
// one per sqliteRowsBytes of rows on SQLite, skipping those that exist.
func (s *Store) AssignRoles(ctx context.Context, assignments []storage.RoleAssignment) (int, error) {
	if len(assignments) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	var added int64
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		conn := tx.Statement.ConnPool
		if s.kind == Postgres {
			users, roles := make([]string, len(assignments)), make([]string, len(assignments))
			for i, a := range assignments {
				users[i], roles[i] = a.UserID, a.RoleID
			}
			res, err := conn.ExecContext(ctx, assignRolesArraysSQL, users, roles, now)
			if err != nil {
				return err
			}
			added, err = res.RowsAffected()
			return err
		}
		w := newJSONBRows(ctx, conn, assignRolesSQLiteSQL)
		w.args = []any{now}
		for _, a := range assignments {
			w.text(a.UserID)
			w.text(a.RoleID)
			if err := w.end(); err != nil {
				return err
			}
		}
		err := w.flush()
		added = w.affected
		return err
	})
	if err != nil {
		return 0, mapError("gormstore: assign roles", err)
	}
	return int(added), nil
}
