package gormstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// An initial load (InitialLoad) fills an SQLite database that holds no
// customers in one transaction, without the customer tables' secondary
// indexes: a million customers inserted one at a time put a million random
// keys into each of them, each on its own page of the log, and SQLite spent
// nine tenths of an import in those B-trees (docs/benchmarks.md, "Import
// throughput"). Built once at the end, an index is one sort.

// initialLoadIndexes are the indexes an initial load drops and builds again
// at its end. The primary keys stay: the customers' (UUIDv7, so new keys go
// at its end), and those of the tables whose rows the load keeps aside.
var initialLoadIndexes = []string{"users_email", "users_external_id", "users_name_lower", "identities_user_provider"}

// The staging tables of an initial load: temporary (the connection's own,
// outside the log), without an index, so their rows are appended.
const (
	stagedIdentities     = "temp.initial_load_identities"
	stagedAttributeIndex = "temp.initial_load_attribute_index"
)

// initialLoadKey marks the context of an initial load's load function.
type initialLoadKey struct{}

// inInitialLoad reports whether ctx is an initial load's, whose links and
// attribute index rows CreateUsers keeps aside.
func inInitialLoad(ctx context.Context) bool {
	return ctx.Value(initialLoadKey{}) != nil
}

// errNotEmpty ends the transaction of an initial load into a database that
// holds customers.
var errNotEmpty = errors.New("gormstore: the database holds customers")

// InitialLoad runs load, then finish, in one write transaction on SQLite
// when the database holds no customers, and reports whether it did; on
// PostgreSQL, whose imports meet their rate a batch at a time, or when a
// customer exists, it calls neither and returns false.
//
// While load runs, the customers' email, external ID and name indexes and
// the links' customer index are dropped, and the links and attribute index
// rows CreateUsers writes go to staging tables: load must not look customers
// up (accounts.ImportOptions.Fresh). After it, the staged rows are inserted
// in key order and the indexes created again, from the statements that made
// them; then finish runs with every index in place (the lines that name a
// customer an earlier line names). An error from either rolls everything
// back, the dropped indexes included. Other writers wait for the commit;
// readers see the database as it was until then.
func (s *Store) InitialLoad(ctx context.Context, load, finish func(ctx context.Context) error) (bool, error) {
	if s.kind != SQLite {
		return false, nil
	}
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return false, errors.New("gormstore: initial load: already in a transaction")
	}
	if s.ckpt != nil {
		// The load holds the write connection until it commits; the log
		// restarts after.
		defer s.ckpt.holdRestarts()()
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		tx := ctx.Value(txKey{}).(*gorm.DB)
		// The transaction is immediate (sqliteDSN): it holds the write
		// lock from its start, so no customer can appear after this check.
		var found int
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM identities)
			OR EXISTS (SELECT 1 FROM user_attribute_index)`).Scan(&found).Error; err != nil {
			return fmt.Errorf("count customers: %w", err)
		}
		if found != 0 {
			return errNotEmpty
		}
		indexes, err := dropIndexes(tx, initialLoadIndexes)
		if err != nil {
			return err
		}
		for _, stmt := range []string{
			`CREATE TEMP TABLE initial_load_identities (provider, subject, user_id, email, created_at, last_used_at)`,
			`CREATE TEMP TABLE initial_load_attribute_index (name, value, user_id)`,
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("staging tables: %w", err)
			}
		}
		if err := load(context.WithValue(ctx, initialLoadKey{}, true)); err != nil {
			return err
		}
		// SQLite sorts for the ORDER BYs and the indexes with a helper
		// thread on the other core (1M customers, the whole import, with
		// up to two helpers: 49.1 s against 56.7 s without; one is what
		// two cores have room for).
		if err := tx.Exec(`PRAGMA threads = 1`).Error; err != nil {
			return fmt.Errorf("sort threads: %w", err)
		}
		defer tx.Exec(`PRAGMA threads = 0`)
		// GORM translates the statements' errors (a key taken twice is
		// gorm.ErrDuplicatedKey), so each step says what it was doing.
		for _, step := range []struct{ what, stmt string }{
			{"write the staged links", `INSERT INTO identities (` + identityColumns + `) SELECT ` + identityColumns + ` FROM ` +
				stagedIdentities + ` ORDER BY provider, subject`},
			{"write the staged attribute index", `INSERT INTO user_attribute_index (name, value, user_id) SELECT name, value, user_id FROM ` +
				stagedAttributeIndex + ` ORDER BY name, value, user_id`},
			{"drop the staging tables", `DROP TABLE ` + stagedIdentities},
			{"drop the staging tables", `DROP TABLE ` + stagedAttributeIndex},
		} {
			if err := tx.Exec(step.stmt).Error; err != nil {
				return fmt.Errorf("%s: %w", step.what, err)
			}
		}
		for _, ix := range indexes {
			if err := tx.Exec(ix.SQL).Error; err != nil {
				return fmt.Errorf("build index %s: %w", ix.Name, err)
			}
		}
		return finish(ctx)
	})
	switch {
	case errors.Is(err, errNotEmpty):
		return false, nil
	case errors.Is(err, gorm.ErrDuplicatedKey):
		// A key two loaded customers share: keep the step that found it,
		// which names the index.
		return true, fmt.Errorf("gormstore: initial load: %v: %w", err, storage.ErrAlreadyExists)
	case err != nil:
		return true, mapError("gormstore: initial load", err)
	}
	return true, nil
}

// schemaIndex is an index and the statement that creates it.
type schemaIndex struct {
	Name string
	SQL  string
}

// dropIndexes drops the named indexes that exist and returns them, to be
// created again.
func dropIndexes(tx *gorm.DB, names []string) ([]schemaIndex, error) {
	var rows []schemaIndex
	if err := tx.Raw(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ?`, names).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read indexes: %w", err)
	}
	for _, r := range rows {
		if err := tx.Exec(`DROP INDEX "` + strings.ReplaceAll(r.Name, `"`, `""`) + `"`).Error; err != nil {
			return nil, fmt.Errorf("drop index %s: %w", r.Name, err)
		}
	}
	return rows, nil
}
