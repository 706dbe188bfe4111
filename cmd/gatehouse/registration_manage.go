package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// registrationTokenJSON is a live initial access token's metadata; the
// token itself is shown only by create.
type registrationTokenJSON struct {
	ID        string    `json:"id"`
	UsesLeft  int       `json:"uses_left"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// registrationTokensList prints the live tokens, newest first.
func (a *app) registrationTokensList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("registration-tokens list")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	live, err := store.ListRegistrationTokens(ctx, time.Now())
	if err != nil {
		return err
	}
	all := make([]registrationTokenJSON, 0, len(live))
	for _, t := range live {
		all = append(all, registrationTokenJSON{ID: t.ID, UsesLeft: t.UsesLeft, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt})
	}
	if *output == "json" {
		return writeJSON(a.stdout, all)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSES LEFT\tEXPIRES AT")
	for _, t := range all {
		uses := fmt.Sprint(t.UsesLeft)
		if t.UsesLeft < 0 {
			uses = "unlimited"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, uses, t.ExpiresAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// registrationTokensDelete revokes a token by its ID (as list prints it).
func (a *app) registrationTokensDelete(ctx context.Context, args []string) error {
	fs := a.newFlagSet("registration-tokens delete")
	cfgPath := configFlag(fs)
	id, err := parseOneID(fs, args, "TOKEN_ID")
	if err != nil {
		return err
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteRegistrationToken(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no registration token %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted registration token %s\n", id)
	return nil
}
