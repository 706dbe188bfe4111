package gormstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/conformance"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

func TestSQLite(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return openMigrated(t, gormstoretest.SQLiteURL(t))
	})
}

func TestPostgres(t *testing.T) {
	gormstoretest.PostgresURL(t) // skips when PostgreSQL is not configured
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return openMigrated(t, gormstoretest.PostgresURL(t))
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := openMigrated(t, db.URL)
		defer s.Close()
		applied, err := s.Migrate(context.Background())
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != gormstore.LatestVersion() {
			t.Fatalf("version %d, %v", v, err)
		}
	})
}

// openMigrated opens a store on a database URL and migrates it.
func openMigrated(t testing.TB, url string) *gormstore.Store {
	t.Helper()
	opts := gormstore.Options{ClientCacheTTL: time.Minute}
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
		opts.Kind, opts.Path = gormstore.SQLite, path
	} else {
		opts.Kind, opts.DSN = gormstore.Postgres, url
	}
	s, err := gormstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
