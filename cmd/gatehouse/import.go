package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/pkg/userimport"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// importParallelPostgres is how many batches an import writes at once on
// PostgreSQL (docs/benchmarks.md: 2 on two cores).
const importParallelPostgres = 2

// importWriteCacheKiB is the SQLite write connection's page cache during
// an import (gormstore.Store.UseBulkWriteCache): 64 MiB.
const importWriteCacheKiB = 64 << 10

// importMemoryLimit is the Go heap's soft limit during an import (unless
// GOMEMLIMIT says otherwise); SQLite's memory comes on top.
const importMemoryLimit = 256 << 20

const importUsage = `Usage:
  gatehouse users import FILE [--on-conflict skip|update|fail] [--dry-run] [--batch-size N] [--create-roles] [--initial-load=false] [--output json|text]
  gatehouse import users FILE …   (the same command under its first name)

FILE is JSON Lines, one customer a line (docs/import.md); "-" reads standard input.
Existing password hashes are kept (argon2id, argon2i, bcrypt, scrypt, PBKDF2-SHA256 and
-SHA512, Firebase scrypt) and rehashed with argon2id at each customer's first sign-in.
Customers that exist (the same id, else the same external_id, else the same email) are
skipped, updated or reported as failed (--on-conflict). A failed line is reported with its
number and reason and the rest go on; the exit code is 1 when any line failed.
Each batch commits on its own, except on SQLite into a database without customers:
there the whole file loads in one transaction and the indexes are built once at its
end, several times faster (an initial load: all or nothing, other writers wait;
--initial-load=false commits batch by batch).
`

// importCmd is "gatehouse import users", the first name of "gatehouse
// users import".
func (a *app) importCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "users" {
		return usagef("import needs the subcommand users\n\n%s", importUsage)
	}
	return a.usersImport(ctx, args[1:])
}

// usersImport imports customers from a JSON Lines file (docs/import.md).
func (a *app) usersImport(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users import")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	onConflict := fs.String("on-conflict", "skip", "what to do with a customer that exists: skip, update or fail")
	dryRun := fs.Bool("dry-run", false, "check and count everything, store nothing")
	batchSize := fs.Int("batch-size", userimport.DefaultBatchSize, "customers per transaction (1 to 5000)")
	createRoles := fs.Bool("create-roles", false, "create the global roles the roles members name that do not exist (without it such a line fails)")
	initialLoad := fs.Bool("initial-load", true, "on SQLite, load a database without customers in one transaction, building its indexes at the end")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("users import needs one FILE\n\n%s", importUsage)
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	conflict, err := accounts.ParseOnConflict(*onConflict)
	if err != nil {
		return usagef("--on-conflict: %v", err)
	}
	if *batchSize < 1 || *batchSize > userimport.MaxBatchSize {
		return usagef("--batch-size must be between 1 and %d", userimport.MaxBatchSize)
	}
	in, size, err := a.openImportFile(rest[0])
	if err != nil {
		return err
	}
	defer in.Close()

	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, set := a.lookupEnv("GOGC"); !set {
		// The server's target: a fifth of the importer's CPU went to the
		// collector at the default, for a heap of tens of megabytes.
		defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent))
	}
	if _, set := a.lookupEnv("GOMEMLIMIT"); !set {
		// An initial load's key hashes are a live heap of tens of
		// megabytes, which the collector target above would let grow
		// fivefold: the importer of a million lines peaked at 738–756 MB
		// without a limit, 509–510 MB with it, and was no slower.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(importMemoryLimit))
	}
	if err := store.UseBulkWriteCache(ctx, importWriteCacheKiB); err != nil {
		return err
	}
	// PostgreSQL writes two batches at once: while one commits, the next
	// is checked and sent. SQLite has one writer.
	parallel := 1
	if store.Kind() == gormstore.Postgres {
		parallel = importParallelPostgres
	}
	opts := userimport.Options{
		OnConflict: conflict, DryRun: *dryRun, BatchSize: *batchSize, CreateRoles: *createRoles, Parallel: parallel,
	}
	if *initialLoad {
		opts.InitialLoad = store.InitialLoad
	}
	progress, done := a.importProgress(size)
	opts.Progress = progress
	sum, err := userimport.Run(ctx, in, svc.Accounts, opts)
	done()
	switch {
	case err != nil && sum.InitialLoad:
		return fmt.Errorf("import %s stopped; it ran as an initial load, so nothing was stored: %w", sum.ImportID, err)
	case err != nil:
		return fmt.Errorf("import %s stopped after %d lines (%d created, %d updated; those batches are committed, run again with --on-conflict skip to finish): %w",
			sum.ImportID, sum.Lines(), sum.Created, sum.Updated, err)
	}
	if *output == "json" {
		if err := writeJSON(a.stdout, sum); err != nil {
			return err
		}
	} else {
		a.printImportSummary(sum)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d lines failed", sum.Failed, sum.Lines())
	}
	return nil
}

// openImportFile opens FILE, or standard input for "-", and returns its
// size when known (0 otherwise).
func (a *app) openImportFile(name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		if a.stdin == nil {
			return nil, 0, usagef("no standard input to read")
		}
		return io.NopCloser(a.stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, fmt.Errorf("open import file: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, nil
}

// importProgress returns the import's progress callback and a function
// that ends the display: a progress bar when standard error is a
// terminal, otherwise a plain line at most every five seconds.
func (a *app) importProgress(size int64) (func(userimport.Summary, int64), func()) {
	if f, ok := a.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		max := size
		if max == 0 {
			max = -1 // unknown: a spinner
		}
		bar := progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(f), progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetDescription("importing"), progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(f) }))
		return func(s userimport.Summary, n int64) {
				bar.Describe(fmt.Sprintf("%d created, %d updated, %d skipped, %d failed", s.Created, s.Updated, s.Skipped, s.Failed))
				_ = bar.Set64(n)
			}, func() {
				_ = bar.Finish()
			}
	}
	start := time.Now()
	last := start
	return func(s userimport.Summary, n int64) {
		if now := time.Now(); now.Sub(last) >= 5*time.Second {
			last = now
			fmt.Fprintf(a.stderr, "import: %d lines (%d created, %d updated, %d skipped, %d failed), %d bytes, %.0f lines/s\n",
				s.Lines(), s.Created, s.Updated, s.Skipped, s.Failed, n, float64(s.Lines())/now.Sub(start).Seconds())
		}
	}, func() {}
}

func (a *app) printImportSummary(s userimport.Summary) {
	if s.DryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was stored")
	}
	if s.InitialLoad {
		fmt.Fprintln(a.stdout, "initial load: one transaction, indexes built at the end")
	}
	fmt.Fprintf(a.stdout, "import:  %s\ncreated: %d\nupdated: %d\nskipped: %d\nfailed:  %d\n", s.ImportID, s.Created, s.Updated, s.Skipped, s.Failed)
	for _, e := range s.Errors {
		fmt.Fprintf(a.stdout, "line %d: %s\n", e.Line, e.Reason)
	}
	if s.ErrorsTruncated {
		fmt.Fprintf(a.stdout, "(only the first %d failed lines are listed)\n", len(s.Errors))
	}
}
