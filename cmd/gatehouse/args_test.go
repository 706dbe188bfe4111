package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage"
)

func TestParseFlags(t *testing.T) {
	// A client id that starts with "-", as one generated id in 64 does.
	const dashID = "-F10dtYrgZyi9TnycMm7LTJn"

	for _, tc := range []struct {
		name       string
		ids        bool
		args       []string
		positional []string
		output     string
		public     bool
		err        string // a substring of the usage error, or "help"
	}{
		{name: "flags may follow the positional argument", args: []string{"ID", "--output", "json"}, positional: []string{"ID"}, output: "json"},
		{name: "flags may precede the positional argument", args: []string{"--output=json", "ID"}, positional: []string{"ID"}, output: "json"},
		{name: "a bool flag takes no value", args: []string{"--public", "ID"}, positional: []string{"ID"}, output: "text", public: true},
		{name: "-- ends the flags", args: []string{"--", "-x"}, positional: []string{"-x"}, output: "text"},
		{name: "an undefined flag is refused where arguments are not ids", args: []string{dashID}, err: "unknown flag --F10dtYrgZyi9TnycMm7LTJn"},
		{name: "an id starting with - is an id where arguments are ids", ids: true, args: []string{dashID}, positional: []string{dashID}, output: "text"},
		{name: "an id starting with - may follow flags", ids: true, args: []string{"--output", "json", dashID}, positional: []string{dashID}, output: "json"},
		{name: "an id starting with - may precede flags", ids: true, args: []string{dashID, "--output", "json"}, positional: []string{dashID}, output: "json"},
		{name: "an id starting with -- is an id too", ids: true, args: []string{"-" + dashID, "--public"}, positional: []string{"-" + dashID}, output: "text", public: true},
		{name: "a value starting with - stays the flag's value", ids: true, args: []string{"--output", "-json", "ID"}, positional: []string{"ID"}, output: "-json"},
		{name: "a flag without its value is refused", ids: true, args: []string{"ID", "--output"}, err: "flag needs an argument"},
		{name: "-h asks for help", ids: true, args: []string{"-h"}, err: "help"},
		{name: "--help asks for help after an id", ids: true, args: []string{dashID, "--help"}, err: "help"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			output := outputFlag(fs)
			public := fs.Bool("public", false, "")
			parse := parseFlags
			if tc.ids {
				parse = parseFlagsAndIDs
			}
			positional, err := parse(fs, tc.args)
			switch {
			case tc.err == "help":
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("err = %v, want flag.ErrHelp", err)
				}
				return
			case tc.err != "":
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want a usage error containing %q", err, tc.err)
				}
				return
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if !slices.Equal(positional, tc.positional) || *output != tc.output || *public != tc.public {
				t.Errorf("positional %q, --output %q, --public %v; want %q, %q, %v",
					positional, *output, *public, tc.positional, tc.output, tc.public)
			}
		})
	}
}

// TestIDsStartingWithDash runs the commands that take an id with ids that
// start with "-", which base64url ids do one time in 64.
func TestIDsStartingWithDash(t *testing.T) {
	t.Parallel()
	e := newEnv(t).with("GATEHOUSE_SECRET", testSecret)
	const id = "-F10dtYrgZyi9TnycMm7LTJn"

	// Store a client with such an id directly, since generated ids are
	// random.
	mustRun(t, e, "migrate")
	cfg, err := config.Load("", e.lookup())
	if err != nil {
		t.Fatal(err)
	}
	store, err := server.OpenStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateClient(context.Background(), storage.Client{
		ID:                      id,
		Name:                    "dash",
		GrantTypes:              []string{"authorization_code"},
		ResponseTypes:           []string{"code"},
		RedirectURIs:            []string{"http://localhost/cb"},
		Public:                  true,
		TokenEndpointAuthMethod: storage.AuthMethodNone,
	})
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	t.Run("clients get accepts an id starting with -", func(t *testing.T) {
		for _, args := range [][]string{
			{"clients", "get", id, "--output", "json"},
			{"clients", "get", "--output", "json", id},
			{"clients", "get", "--output", "json", "--", id},
		} {
			var c wireClient
			decode(t, mustRun(t, e, args...), &c)
			if c.ClientID != id || c.ClientName != "dash" {
				t.Errorf("%q = %+v", args, c)
			}
		}
	})

	t.Run("keys retire takes an unknown kid starting with - as a kid", func(t *testing.T) {
		r := run(t, e, "keys", "retire", "-9gu5LJ3nvsYXjSlbsd5GE7loEhzbjO5KbsVRsgqBgo")
		if r.code != exitError || !strings.Contains(r.stderr, `no key "-9gu5LJ3nvsYXjSlbsd5GE7loEhzbjO5KbsVRsgqBgo"`) {
			t.Errorf("want exit 1 saying there is no such key, got %v", r)
		}
	})

	t.Run("a misspelt flag next to an id is still a usage error", func(t *testing.T) {
		r := run(t, e, "clients", "get", id, "--outptu", "json")
		if r.code != exitUsage || !strings.Contains(r.stderr, "takes one CLIENT_ID") || !strings.Contains(r.stderr, "--outptu") {
			t.Errorf("%v", r)
		}
	})

	t.Run("clients delete accepts an id starting with -", func(t *testing.T) {
		mustRun(t, e, "clients", "delete", id)
		if r := run(t, e, "clients", "get", id); r.code != exitError {
			t.Errorf("get after delete: %v", r)
		}
	})
}
