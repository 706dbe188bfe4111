package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gatehouse-id/gatehouse/pkg/userimport"
)

// usersExport writes every customer as JSON Lines in the import's format
// (docs/import.md), to standard output or --output FILE; password hashes
// only with --include-password-hashes.
func (a *app) usersExport(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users export")
	cfgPath := configFlag(fs)
	withHashes := fs.Bool("include-password-hashes", false, "write each customer's password hash (the file is then as secret as the database)")
	output := fs.String("output", "-", "the `FILE` to write (created readable by its owner only); - for standard output")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	var w io.Writer = a.stdout
	var f *os.File
	if *output != "-" {
		f, err = os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("users export: %w", err)
		}
		defer f.Close()
		w = f
	}
	n, err := userimport.Export(ctx, w, store, userimport.ExportOptions{IncludePasswordHashes: *withHashes})
	if err != nil {
		return fmt.Errorf("users export: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("users export: %w", err)
		}
	}
	fmt.Fprintf(a.stderr, "exported %d customers\n", n)
	return nil
}
