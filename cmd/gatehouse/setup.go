package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// configFlag adds the --config flag every configured command takes.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "YAML configuration `FILE` (settings in GATEHOUSE_* variables override it)")
}

// loadConfig builds and validates the configuration and makes sure the
// system secret is set, generating it beside a SQLite database if need be.
func (a *app) loadConfig(path string, log *slog.Logger) (config.Config, error) {
	cfg, err := config.Load(path, a.lookupEnv)
	if err != nil {
		return cfg, &configError{err}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, &configError{err}
	}
	created, err := cfg.EnsureSecret()
	if err != nil {
		return cfg, &configError{err}
	}
	if created {
		file, _ := cfg.SecretFilePath()
		log.Warn("GATEHOUSE_SECRET is not set: generated a system secret and stored it beside the database; "+
			"keep this file with the database and back it up, or set GATEHOUSE_SECRET", "file", file)
	}
	return cfg, nil
}

// newLogger returns the JSON logger at the configured level.
func (a *app) newLogger(level string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: logLevel(level)}))
}

// logLevel parses a configured level; config has validated it.
func logLevel(level string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	return l
}

// openMigratedStore opens the store for an administrative command and checks
// that its schema is current.
func (a *app) openMigratedStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*gormstore.Store, *secret.Keys, error) {
	secrets, err := secret.Derive([]byte(cfg.Secret))
	if err != nil {
		return nil, nil, &configError{fmt.Errorf("GATEHOUSE_SECRET: %w", err)}
	}
	store, err := server.OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if cfg.AutoMigrate {
		if _, err := store.Migrate(ctx); err != nil {
			_ = store.Close()
			return nil, nil, err
		}
	}
	v, err := store.SchemaVersion(ctx)
	if err != nil {
		_ = store.Close()
		if !cfg.AutoMigrate {
			// A database never migrated has no schema_migrations table, and
			// reading the version fails rather than giving 0.
			return nil, nil, fmt.Errorf("%w (if the database is new, run `gatehouse migrate` first)", err)
		}
		return nil, nil, err
	}
	if v < gormstore.LatestVersion() {
		_ = store.Close()
		return nil, nil, fmt.Errorf("database schema is at version %d, this build needs %d: run `gatehouse migrate`", v, gormstore.LatestVersion())
	}
	return store, secrets, nil
}

// openCommandStore is how an administrative command starts: it loads the
// configuration (logging warnings only) and opens the migrated store. The
// caller closes the store.
func (a *app) openCommandStore(ctx context.Context, cfgPath string) (config.Config, *slog.Logger, *gormstore.Store, *secret.Keys, error) {
	log := a.newLogger("warn")
	cfg, err := a.loadConfig(cfgPath, log)
	if err != nil {
		return cfg, log, nil, nil, err
	}
	store, secrets, err := a.openMigratedStore(ctx, cfg, log)
	return cfg, log, store, secrets, err
}

// services returns the domain services as the server builds them; jobs
// they queue are run by a running server. Every command acts as the
// operator (see run).
func (a *app) services(cfg config.Config, store *gormstore.Store, secrets *secret.Keys, log *slog.Logger) (*server.Services, error) {
	return server.NewServices(cfg, store, secrets, log, nil)
}

// openServices opens the store and the services a command changes things
// through, as openCommandStore and services do; the caller closes the
// store.
func (a *app) openServices(ctx context.Context, cfgPath string) (*gormstore.Store, *server.Services, error) {
	cfg, log, store, secrets, err := a.openCommandStore(ctx, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	svc, err := a.services(cfg, store, secrets, log)
	if err != nil {
		_ = store.Close()
		return nil, nil, err
	}
	return store, svc, nil
}
