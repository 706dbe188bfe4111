package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/storage"
)

const keysUsage = `Usage:
  gatehouse keys list   [--output json|text]
  gatehouse keys rotate [--alg RS256|ES256] [--output json|text]   (default: every algorithm)
  gatehouse keys retire KID
`

func (a *app) keys(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("keys needs a subcommand\n\n%s", keysUsage)
	}
	sub, rest := args[0], args[1:]
	if sub != "list" && sub != "rotate" && sub != "retire" {
		return usagef("unknown keys subcommand %q\n\n%s", sub, keysUsage)
	}
	fs := a.newFlagSet("keys " + sub)
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	alg := fs.String("alg", "", "algorithm to rotate: RS256 or ES256 (rotate only; default both)")
	parse := parseFlags
	if sub == "retire" {
		parse = parseFlagsAndIDs
	}
	positional, err := parse(fs, rest)
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	switch {
	case sub == "retire" && len(positional) != 1:
		return usagef("keys retire takes one KID (got %q)", positional)
	case sub != "retire" && len(positional) != 0:
		return usagef("keys %s takes no arguments", sub)
	case *alg != "" && sub != "rotate":
		return usagef("--alg goes with keys rotate")
	case *alg != "" && *alg != keys.RS256 && *alg != keys.ES256:
		return usagef("--alg must be RS256 or ES256 (got %q)", *alg)
	}
	cfg, log, store, secrets, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := a.services(cfg, store, secrets, log)
	if err != nil {
		return err
	}
	m := svc.Keys
	switch sub {
	case "rotate":
		algs := []string{keys.RS256, keys.ES256}
		if *alg != "" {
			algs = []string{*alg}
		}
		var rotated []storage.SigningKey
		for _, al := range algs {
			k, err := m.Rotate(ctx, al)
			if err != nil {
				return err
			}
			rotated = append(rotated, k)
		}
		if *output == "json" {
			return writeJSON(a.stdout, toKeysJSON(rotated))
		}
		for _, k := range rotated {
			fmt.Fprintf(a.stdout, "%s key %s now signs; the previous one stays published until retired\n", k.Algorithm, k.ID)
		}
		fmt.Fprintf(a.stdout, "Every replica uses the new keys within %s (keys_refresh_interval).\n", cfg.KeysRefreshInterval)
		return nil
	case "retire":
		err := m.Retire(ctx, positional[0])
		switch {
		case errors.Is(err, storage.ErrKeyInUse):
			return fmt.Errorf("key %s is active: rotate first, then retire it", positional[0])
		case errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("no key %q", positional[0])
		case err != nil:
			return err
		}
		fmt.Fprintf(a.stdout, "retired key %s; it leaves the JWKS of every replica within %s\n", positional[0], cfg.KeysRefreshInterval)
		return nil
	default:
		list, err := m.List(ctx)
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeJSON(a.stdout, toKeysJSON(list))
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, k.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
}

type keyJSON struct {
	KID           string     `json:"kid"`
	Algorithm     string     `json:"alg"`
	State         string     `json:"state"`
	CreatedAt     time.Time  `json:"created_at"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	RetiredAt     *time.Time `json:"retired_at,omitempty"`
}

func toKeysJSON(list []storage.SigningKey) []keyJSON {
	out := []keyJSON{}
	for _, k := range list {
		j := keyJSON{KID: k.ID, Algorithm: k.Algorithm, State: string(k.State), CreatedAt: k.CreatedAt}
		if !k.DeactivatedAt.IsZero() {
			t := k.DeactivatedAt
			j.DeactivatedAt = &t
		}
		if !k.RetiredAt.IsZero() {
			t := k.RetiredAt
			j.RetiredAt = &t
		}
		out = append(out, j)
	}
	return out
}
