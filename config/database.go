package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Database kinds, the values of Database.Kind.
const (
	// DatabaseSQLite is a SQLite database file.
	DatabaseSQLite = "sqlite"
	// DatabasePostgres is a PostgreSQL server.
	DatabasePostgres = "postgres"
)

// Database is DatabaseURL taken apart.
type Database struct {
	// Kind is DatabaseSQLite or DatabasePostgres.
	Kind string
	// Path is, for SQLite, the database file: sqlite://gatehouse.db gives
	// "gatehouse.db", relative to the working directory, and
	// sqlite:///abs/path.db gives "/abs/path.db". Empty for PostgreSQL.
	Path string
	// DSN is, for PostgreSQL, the URL unchanged (postgres:// or
	// postgresql://), to hand to the driver. Empty for SQLite.
	DSN string
}

// Database parses DatabaseURL. Its errors name GATEHOUSE_DATABASE_URL and
// never repeat a password.
func (c Config) Database() (Database, error) {
	db, err := parseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return Database{}, fmt.Errorf("GATEHOUSE_DATABASE_URL: %w", err)
	}
	return db, nil
}

// parseDatabaseURL does the work of Database. Its messages quote only the
// parts of raw that cannot hold a password.
func parseDatabaseURL(raw string) (Database, error) {
	if raw == "" {
		return Database{}, errors.New("required")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Database{}, errors.New("must be a URL such as sqlite://gatehouse.db or postgres://user@host:5432/db")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		return parseSQLite(rest)
	case "postgres", "postgresql":
		if _, err := url.Parse(raw); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // url.Error repeats the whole URL, password included
			}
			return Database{}, fmt.Errorf("not a valid PostgreSQL URL: %v", err)
		}
		return Database{Kind: DatabasePostgres, DSN: raw}, nil
	default:
		return Database{}, fmt.Errorf("scheme must be sqlite, postgres or postgresql (got %q)", scheme)
	}
}

// parseSQLite checks the part of a sqlite:// URL after the scheme, which is
// the file path as written.
func parseSQLite(path string) (Database, error) {
	switch {
	case path == "":
		return Database{}, errors.New("a sqlite URL needs a file path, such as sqlite://gatehouse.db or sqlite:///var/lib/gatehouse/gatehouse.db")
	case strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory"):
		return Database{}, errors.New("an in-memory SQLite database is not supported: every connection would see its own empty database and everything would be lost at exit")
	case strings.HasPrefix(path, "file:"):
		return Database{}, fmt.Errorf("give a plain file path, not a file: URI (got %q)", path)
	case strings.ContainsAny(path, "?#"):
		return Database{}, fmt.Errorf("a sqlite URL must not have a query or a fragment (got %q)", path)
	}
	return Database{Kind: DatabaseSQLite, Path: path}, nil
}
