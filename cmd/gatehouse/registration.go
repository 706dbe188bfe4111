package main

import (
	"context"
	"fmt"
	"time"
)

const registrationTokensUsage = `Usage:
  gatehouse registration-tokens create --expires-in DURATION [--uses N] [--output json|text]
  gatehouse registration-tokens list   [--output json|text]
  gatehouse registration-tokens delete TOKEN_ID
`

// registrationTokens manages initial access tokens for the registration
// endpoint (RFC 7591 §3).
func (a *app) registrationTokens(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("registration-tokens needs a subcommand\n\n%s", registrationTokensUsage)
	}
	switch args[0] {
	case "create":
		return a.registrationTokensCreate(ctx, args)
	case "list":
		return a.registrationTokensList(ctx, args[1:])
	case "delete":
		return a.registrationTokensDelete(ctx, args[1:])
	default:
		return usagef("unknown registration-tokens subcommand %q\n\n%s", args[0], registrationTokensUsage)
	}
}

// registrationTokensCreate mints a token and prints it once.
func (a *app) registrationTokensCreate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("registration-tokens create")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	expiresIn := fs.Duration("expires-in", 0, "how long the token is valid, e.g. 24h")
	uses := fs.Int("uses", -1, "how many clients it may register; -1 for unlimited")
	if err := parseNoArgs(fs, args[1:]); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if *expiresIn <= 0 {
		return usagef("registration-tokens create needs --expires-in, e.g. --expires-in 24h")
	}
	if *uses == 0 || *uses < -1 {
		return usagef("--uses must be a positive number, or -1 for unlimited (got %d)", *uses)
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	token, t, err := svc.Clients.NewRegistrationToken(ctx, store, *expiresIn, *uses)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, struct {
			ID        string    `json:"id"`
			Token     string    `json:"initial_access_token"`
			ExpiresAt time.Time `json:"expires_at"`
			Uses      int       `json:"uses"`
		}{t.ID, token, t.ExpiresAt, t.UsesLeft})
	}
	fmt.Fprintf(a.stdout, "initial_access_token: %s\nexpires_at:           %s\n", token, t.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(a.stdout, "Send it as \"Authorization: Bearer …\" to the registration endpoint. It is shown only now.")
	return nil
}
