package gormstore_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/conformance"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

func TestSQLite(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return NewSQLiteForTest(t)
	})
}

func TestPostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_URL") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_URL is not set")
	}
	conformance.RunTests(t, func(t *testing.T) storage.Store {
		return NewPostgresForTest(t)
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := NewSQLiteForTest(t)
	applied, err := s.Migrate(context.Background())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
	v, err := s.SchemaVersion(context.Background())
	if err != nil || v != gormstore.LatestVersion() {
		t.Fatalf("version %d, %v", v, err)
	}
}

// NewSQLiteForTest opens a migrated store on a fresh database file.
func NewSQLiteForTest(t testing.TB) *gormstore.Store {
	t.Helper()
	s, err := gormstore.Open(context.Background(), gormstore.Options{
		Kind: gormstore.SQLite, Path: filepath.Join(t.TempDir(), "test.db"), ClientCacheTTL: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// NewPostgresForTest opens a migrated store in a fresh schema of the
// database at GATEHOUSE_TEST_POSTGRES_URL, dropped when the test ends.
func NewPostgresForTest(t testing.TB) *gormstore.Store {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	schema := fmt.Sprintf("t_%d", time.Now().UnixNano())
	admin, err := gormstore.Open(context.Background(), gormstore.Options{Kind: gormstore.Postgres, DSN: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.ExecForTest("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.ExecForTest("DROP SCHEMA " + schema + " CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := gormstore.Open(context.Background(), gormstore.Options{Kind: gormstore.Postgres, DSN: u.String(), ClientCacheTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(strings.TrimSpace(err.Error()))
	}
	return s
}
