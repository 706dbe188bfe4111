package main

import (
	"context"
	"fmt"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

func (a *app) serve(ctx context.Context, args []string) error {
	fs := a.newFlagSet("serve")
	cfgPath := configFlag(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	boot := a.newLogger("info")
	cfg, err := a.loadConfig(*cfgPath, boot)
	if err != nil {
		return err
	}
	log := a.newLogger(cfg.LogLevel)
	log.Info("starting gatehouse", "version", version, "config", cfg)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Serve(ctx, nil)
}

func (a *app) migrate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("migrate")
	cfgPath := configFlag(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	log := a.newLogger("warn")
	cfg, err := a.loadConfig(*cfgPath, log)
	if err != nil {
		return err
	}
	store, err := server.OpenStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(a.stdout, "schema is up to date (version %d)\n", gormstore.LatestVersion())
		return nil
	}
	fmt.Fprintf(a.stdout, "applied migrations %v; schema is at version %d\n", applied, gormstore.LatestVersion())
	return nil
}

func (a *app) printVersion(args []string) error {
	fs := a.newFlagSet("version")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = " (" + s.Value + ")"
			}
		}
		fmt.Fprintf(a.stdout, "gatehouse %s%s %s\n", version, rev, bi.GoVersion)
		return nil
	}
	fmt.Fprintf(a.stdout, "gatehouse %s\n", version)
	return nil
}
