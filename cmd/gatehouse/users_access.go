package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// usersSessions lists a customer's browser sessions, or with --revoke-all
// ends them.
func (a *app) usersSessions(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users sessions")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	revoke := fs.Bool("revoke-all", false, "end every session of the customer")
	userID, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	cfg, log, store, secrets, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.GetUser(ctx, userID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no customer %q", userID)
	} else if err != nil {
		return err
	}
	if *revoke {
		svc, err := a.services(cfg, store, secrets, log)
		if err != nil {
			return err
		}
		n, err := svc.Accounts.EndSessionsOf(ctx, userID)
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeJSON(a.stdout, map[string]int{"ended": n})
		}
		fmt.Fprintf(a.stdout, "ended %d session(s) of %s\n", n, userID)
		return nil
	}
	list, err := store.ListSessionsByUser(ctx, userID)
	if err != nil {
		return err
	}
	type sessionJSON struct {
		SID        string    `json:"sid"`
		AuthTime   time.Time `json:"auth_time"`
		AMR        []string  `json:"amr"`
		LastSeenAt time.Time `json:"last_seen_at"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	out := []sessionJSON{}
	for _, s := range list {
		out = append(out, sessionJSON{SID: s.SID, AuthTime: s.AuthTime, AMR: orEmpty(s.AMR), LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt})
	}
	if *output == "json" {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SID\tSIGNED IN\tMETHODS\tLAST SEEN\tEXPIRES")
	for _, s := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.SID, s.AuthTime.Format(time.RFC3339), strings.Join(s.AMR, ","),
			s.LastSeenAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// usersConsents lists a customer's consents, or with --revoke CLIENT_ID
// withdraws one and revokes that client's tokens for the customer.
func (a *app) usersConsents(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users consents")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	revoke := fs.String("revoke", "", "withdraw the consent given to `CLIENT_ID` and revoke its tokens for the customer")
	userID, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	cfg, log, store, secrets, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if *revoke != "" {
		svc, err := a.services(cfg, store, secrets, log)
		if err != nil {
			return err
		}
		err = svc.Accounts.RevokeConsent(ctx, userID, *revoke)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("customer %q has no consent for client %q", userID, *revoke)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "withdrew the consent of %s for %s and revoked its tokens\n", userID, *revoke)
		return nil
	}
	list, err := store.ListConsents(ctx, userID)
	if err != nil {
		return err
	}
	type consentJSON struct {
		ClientID  string    `json:"client_id"`
		Scope     string    `json:"scope"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	out := []consentJSON{}
	for _, c := range list {
		out = append(out, consentJSON{ClientID: c.ClientID, Scope: strings.Join(c.Scopes, " "), UpdatedAt: c.UpdatedAt})
	}
	if *output == "json" {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tSCOPE\tUPDATED")
	for _, c := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ClientID, c.Scope, c.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
