// Package gormstore is Gatehouse's one storage backend: a GORM
// implementation of storage.Store for SQLite (the zero-configuration
// default, through the cgo-free github.com/glebarez/sqlite) and PostgreSQL.
//
// Two things make it fast enough for a token endpoint:
//   - Access tokens written outside a transaction (the client-credentials
//     grant) go through a group-commit writer: concurrent requests' rows are
//     inserted together in one statement, and each request returns only once
//     its row is committed.
//   - Clients are cached for a bounded, configured time, so that a token
//     request reads no client row in the common case.
//
// On SQLite every write goes through one connection, so writers queue in Go
// instead of polling SQLite's busy handler; reads use a pool of read-only
// connections (WAL mode lets them run while a write is in progress).
package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Dialects this package speaks.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options configure Open.
type Options struct {
	// Kind is SQLite or Postgres.
	Kind string
	// Path is the SQLite database file.
	Path string
	// DSN is the PostgreSQL connection URL.
	DSN string
	// ClientCacheTTL bounds how long a client read from the database is used
	// before it is read again. Zero disables the cache.
	ClientCacheTTL time.Duration
	// Logger receives warnings from the background writer; nil discards.
	Logger *slog.Logger
	// WALMaxBytes bounds SQLite's write-ahead log file; zero means
	// DefaultWALMaxBytes. See checkpointer.
	WALMaxBytes int64
	// TokenCacheTTL bounds how long an access token read from the
	// database is used before it is read again, and so how long a
	// revocation made by another replica may go unseen here (one made
	// through this Store is seen at once). Zero disables the cache.
	TokenCacheTTL time.Duration
	// SearchableAttributes names the customer attributes whose values the
	// store indexes for ListUsers (see storage.UserFilter.Attribute).
	SearchableAttributes []string
}

// Store implements storage.Store on GORM.
type Store struct {
	kind    string
	write   *gorm.DB // all writes and transactions
	read    *gorm.DB // reads outside transactions
	log     *slog.Logger
	clients *clientCache
	tokens  *batchWriter
	ckpt    *checkpointer // SQLite only
	health  *writeHealth
	// accessTokens caches access-token reads (tokencache.go).
	accessTokens *tokenCache
	// users caches customers for GetUserRecent (usercache.go).
	users *userCache
	// revocations caches the checks of sealed access tokens (sealed.go).
	revocations *revocationCache
	// searchable is the set of attributes whose values are indexed.
	searchable map[string]bool
}

var _ storage.Store = (*Store)(nil)

// Open connects to the database. It does not migrate: call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Each pool gets a configuration of its own: GORM keeps a pool's
	// callbacks and plugins in it. Prepared statements only on PostgreSQL:
	// glebarez/go-sqlite prepares every statement anew anyway, and GORM
	// prepares a new statement on the pool while holding its statement
	// cache's lock, so with SQLite's single write connection held by a
	// transaction that then needs the same lock, the writer deadlocked
	// (seen once in TestConcurrentRedemptionsLoseWithInvalidGrant).
	gcfg := func() *gorm.Config {
		return &gorm.Config{
			Logger:                 logger.Discard,
			TranslateError:         true,
			SkipDefaultTransaction: true,
			PrepareStmt:            opts.Kind == Postgres,
			NowFunc:                func() time.Time { return time.Now().UTC() },
		}
	}
	s := &Store{kind: opts.Kind, log: log, clients: newClientCache(opts.ClientCacheTTL), health: &writeHealth{},
		accessTokens: newTokenCache(opts.TokenCacheTTL), users: newUserCache(opts.TokenCacheTTL),
		revocations: newRevocationCache(opts.TokenCacheTTL), searchable: searchableSet(opts.SearchableAttributes)}
	walMax := opts.WALMaxBytes
	if walMax <= 0 {
		walMax = DefaultWALMaxBytes
	}
	pool := 1 // connections of the write pool
	switch opts.Kind {
	case SQLite:
		if opts.Path == "" || opts.Path == ":memory:" {
			return nil, errors.New("gormstore: sqlite needs a file path")
		}
		if dir := filepath.Dir(opts.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("gormstore: create database directory: %w", err)
			}
		}
		// The database holds sealed keys and hashed secrets: create it
		// readable by its owner only (SQLite gives its -wal and -shm files
		// the same mode).
		if f, err := os.OpenFile(opts.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			_ = f.Close()
		} else if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("gormstore: create database file: %w", err)
		}
		w, err := gorm.Open(sqlite.Open(sqliteDSN(opts.Path, false, walMax)), gcfg())
		if err != nil {
			return nil, fmt.Errorf("gormstore: open sqlite: %w", err)
		}
		if err := useUnavailable(w); err != nil {
			return nil, err
		}
		if err := limitPool(w, pool); err != nil {
			return nil, err
		}
		r, err := gorm.Open(sqlite.Open(sqliteDSN(opts.Path, true, walMax)), gcfg())
		if err != nil {
			return nil, fmt.Errorf("gormstore: open sqlite: %w", err)
		}
		if err := useUnavailable(r); err != nil {
			return nil, err
		}
		if err := limitPool(r, 4); err != nil {
			return nil, err
		}
		s.write, s.read = w, r
		ck, err := sql.Open(sqlite.DriverName, sqliteDSN(opts.Path, false, walMax))
		if err != nil {
			return nil, fmt.Errorf("gormstore: open sqlite: %w", err)
		}
		ck.SetMaxOpenConns(1)
		wdb, err := w.DB()
		if err != nil {
			return nil, fmt.Errorf("gormstore: connection pool: %w", err)
		}
		s.ckpt = startCheckpointer(ck, wdb, opts.Path, walMax, log)
	case Postgres:
		db, err := gorm.Open(postgres.Open(opts.DSN), gcfg())
		if err != nil {
			return nil, fmt.Errorf("gormstore: open postgres: %w", err)
		}
		if err := useUnavailable(db); err != nil {
			return nil, err
		}
		if err := limitPool(db, postgresPool); err != nil {
			return nil, err
		}
		s.write, s.read = db, db
		pool = postgresPool
	default:
		return nil, fmt.Errorf("gormstore: unknown database kind %q", opts.Kind)
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.closeDBs()
		return nil, err
	}
	var wal *walBound
	if s.kind == SQLite {
		wal = &walBound{path: opts.Path + "-wal", threshold: walMax / 2, ckpt: s.ckpt}
	}
	tokens, err := newBatchWriter(s.write, s.kind, pool, log, s.health, wal)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.tokens = tokens
	return s, nil
}

// sqliteDSN returns the connection string for the database file: WAL
// journal, a busy timeout, foreign keys, and immediate write transactions so
// that a transaction never fails to upgrade from read to write half-way.
// When the log restarts, its file is cut to half of walMax.
func sqliteDSN(path string, readOnly bool, walMax int64) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Checkpoints run in the background (see checkpointer), not inside a
	// commit.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walMax/2))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// useUnavailable installs unavailablePlugin on db.
func useUnavailable(db *gorm.DB) error {
	if err := db.Use(unavailablePlugin{}); err != nil {
		return fmt.Errorf("gormstore: %w", err)
	}
	return nil
}

// postgresPool is the size of the PostgreSQL connection pool.
const postgresPool = 20

func limitPool(db *gorm.DB, n int) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("gormstore: connection pool: %w", err)
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return nil
}

// Kind returns SQLite or Postgres.
func (s *Store) Kind() string { return s.kind }

// UseBulkWriteCache lets SQLite's write connection keep up to kib KiB of
// pages in its cache (SQLite's default is 2 MiB), for a command that
// writes many rows, such as `gatehouse users import`: a batch of
// customers changes pages all over the email, name and ID indexes, which
// with the default spill to the log before the commit and are read back
// again (docs/benchmarks.md, "Import throughput"). The server does not
// use it, so its memory stays small. The setting lasts as long as the
// write connection: one opened anew (after five idle minutes, or after an
// outage) has SQLite's default again, which costs speed, not correctness.
// A no-op on PostgreSQL.
func (s *Store) UseBulkWriteCache(ctx context.Context, kib int) error {
	if s.kind != SQLite {
		return nil
	}
	// One connection writes (limitPool), so the setting stays with it.
	err := s.write.WithContext(ctx).Exec(fmt.Sprintf("PRAGMA cache_size = -%d", kib)).Error
	return mapError("gormstore: write cache", err)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range s.dbs() {
		sqlDB, err := db.DB()
		if err != nil {
			return fmt.Errorf("gormstore: ping: %w", err)
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return fmt.Errorf("gormstore: ping: %w", markUnavailable(err))
		}
	}
	return nil
}

// Close waits for queued token writes, then closes the connections.
func (s *Store) Close() error {
	if s.tokens != nil {
		s.tokens.close()
	}
	if s.ckpt != nil {
		s.ckpt.close()
	}
	return s.closeDBs()
}

func (s *Store) dbs() []*gorm.DB {
	if s.read == s.write {
		return []*gorm.DB{s.write}
	}
	return []*gorm.DB{s.write, s.read}
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, db := range s.dbs() {
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// txKey is the context key under which BeginTX stores the transaction.
type txKey struct{}

// BeginTX starts a transaction and returns a context that carries it; every
// method called with that context joins it.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return nil, errors.New("gormstore: nested transactions are not supported")
	}
	tx := s.write.WithContext(ctx).Begin()
	if tx.Error != nil {
		return nil, fmt.Errorf("gormstore: begin: %w", markUnavailable(tx.Error))
	}
	return context.WithValue(context.WithValue(ctx, txKey{}, tx), commitHooksKey{}, &commitHooks{}), nil
}

// Commit commits the transaction that BeginTX put in ctx.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("gormstore: commit without a transaction")
	}
	if err := tx.Commit().Error; err != nil {
		return fmt.Errorf("gormstore: commit: %w", markUnavailable(err))
	}
	if h, ok := ctx.Value(commitHooksKey{}).(*commitHooks); ok {
		h.run()
	}
	return nil
}

// Rollback rolls back the transaction that BeginTX put in ctx.
func (s *Store) Rollback(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("gormstore: rollback without a transaction")
	}
	if err := tx.Rollback().Error; err != nil && !errors.Is(err, gorm.ErrInvalidTransaction) {
		return fmt.Errorf("gormstore: rollback: %w", err)
	}
	return nil
}

// writer returns the transaction in ctx, or the write connection.
func (s *Store) writer(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.write.WithContext(ctx)
}

// reader returns the transaction in ctx, or the read connections.
func (s *Store) reader(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.read.WithContext(ctx)
}

// inTx runs fn in a transaction, joining the one in ctx if there is one.
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(tx)
	}
	return markUnavailable(s.write.WithContext(ctx).Transaction(fn))
}

// mapError turns driver errors into storage sentinels; a failure of the
// database itself is marked storage.ErrUnavailable.
func mapError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, storage.ErrAlreadyExists)
	default:
		return fmt.Errorf("%s: %w", op, markUnavailable(err))
	}
}
