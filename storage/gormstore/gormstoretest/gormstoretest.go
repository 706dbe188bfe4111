// Package gormstoretest gives tests fresh databases: a SQLite file in the
// test's temporary directory, and, when GATEHOUSE_TEST_POSTGRES_URL is set, a
// PostgreSQL schema of its own that is dropped when the test ends.
package gormstoretest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// PostgresEnv names the variable that points the tests at PostgreSQL.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES_URL"

// Database is one database a test can run against.
type Database struct {
	// Name is "sqlite" or "postgres", for subtest names.
	Name string
	// URL is a GATEHOUSE_DATABASE_URL for it.
	URL string
}

var schemaSeq atomic.Int64

// SQLiteURL returns the URL of a fresh SQLite database file.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "gatehouse.db")
}

// PostgresURL returns the URL of a fresh, empty schema in the database at
// GATEHOUSE_TEST_POSTGRES_URL, or skips the test when it is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	db, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	schema := fmt.Sprintf("gh_test_%d_%d", time.Now().UnixNano(), schemaSeq.Add(1))
	if err := db.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.WithContext(ctx).Exec("DROP SCHEMA " + schema + " CASCADE").Error
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Each runs fn as a subtest on a fresh SQLite database and, when
// GATEHOUSE_TEST_POSTGRES_URL is set, on a fresh PostgreSQL schema.
func Each(t *testing.T, fn func(t *testing.T, db Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, Database{Name: "sqlite", URL: SQLiteURL(t)}) })
	t.Run("postgres", func(t *testing.T) { fn(t, Database{Name: "postgres", URL: PostgresURL(t)}) })
}

// Open returns a migrated store on a database URL from SQLiteURL,
// PostgresURL or Each, closed when the test ends.
func Open(t testing.TB, databaseURL string) *gormstore.Store {
	t.Helper()
	return OpenWith(t, databaseURL, gormstore.Options{})
}

// OpenWith is Open with opts, whose Kind, Path and DSN it sets from
// databaseURL, and whose ClientCacheTTL is a minute unless set.
func OpenWith(t testing.TB, databaseURL string, opts gormstore.Options) *gormstore.Store {
	t.Helper()
	if opts.ClientCacheTTL == 0 {
		opts.ClientCacheTTL = time.Minute
	}
	if path, ok := strings.CutPrefix(databaseURL, "sqlite://"); ok {
		opts.Kind, opts.Path = gormstore.SQLite, path
	} else {
		opts.Kind, opts.DSN = gormstore.Postgres, databaseURL
	}
	s, err := gormstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
