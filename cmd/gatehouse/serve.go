package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/bufwriter"

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
	// One log line a request, each its own system call, costs a busy token
	// endpoint several percent of its throughput: the server's lines are
	// gathered and written together, at most logFlushInterval late, and
	// whatever is left is written out when serve returns.
	logs := bufwriter.New(a.stderr, logBufferSize, logFlushInterval)
	defer logs.Close()
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: logLevel(cfg.LogLevel)}))
	log.Info("starting gatehouse", "version", version, "config", cfg)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if _, set := a.lookupEnv("GOGC"); !set {
		debug.SetGCPercent(server.GCPercent)
	}
	if _, set := a.lookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(server.MemoryLimit(cfg))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Serve(ctx, nil)
}

// logBufferSize and logFlushInterval bound how much of the server's log
// waits in memory, and for how long.
const (
	logBufferSize    = 64 << 10
	logFlushInterval = 100 * time.Millisecond
)

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
