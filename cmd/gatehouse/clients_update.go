package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

// clientsUpdate changes the metadata named by the flags given and keeps
// the rest: a repeatable flag replaces the whole list.
func (a *app) clientsUpdate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients update")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	name := fs.String("name", "", "human-readable client name")
	var redirects, grants, postLogout, audience, corsOrigins stringList
	fs.Var(&redirects, "redirect-uri", "allowed redirect `URI` (repeatable; replaces the list)")
	fs.Var(&grants, "grant-type", "allowed grant `TYPE` (repeatable; replaces the list)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "allowed post-logout redirect `URI` (repeatable; replaces the list)")
	fs.Var(&audience, "audience", "allowed audience `AUD` (repeatable; replaces the list)")
	fs.Var(&corsOrigins, "allowed-cors-origin", "`ORIGIN` whose browser scripts may call the token endpoint (repeatable; replaces the list)")
	scope := fs.String("scope", "", "space-separated allowed `SCOPES` (replaces them)")
	skipConsent := fs.Bool("skip-consent", false, "first-party client: customers are not asked for consent")
	logoURI := fs.String("logo-uri", "", "logo shown on the consent page")
	backchannel := fs.String("backchannel-logout-uri", "", "URL that receives back-channel logout tokens")
	adminClient := fs.Bool("admin", false, "an admin client (--admin=false takes the mark away; the scope "+clients.AdminScope+" stays until --scope changes it)")
	requireMFA := fs.Bool("require-mfa", false, "every sign-in to the client uses a second factor (--require-mfa=false takes it away)")
	var acrValues stringList
	fs.Var(&acrValues, "default-acr-value", "authentication context class `ACR` asked for when a request names none (repeatable; replaces the list)")
	tokenFormat := fs.String("access-token-format", "", "opaque or jwt (RFC 9068 access tokens, which need an audience)")
	id, err := parseOneID(fs, args, "CLIENT_ID")
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
	current, err := store.LookupClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	if err != nil {
		return err
	}
	spec := clients.SpecOf(current)
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			spec.Name = *name
		case "redirect-uri":
			spec.RedirectURIs = redirects
		case "grant-type":
			spec.GrantTypes, spec.ResponseTypes = grants, nil
		case "post-logout-redirect-uri":
			spec.PostLogoutRedirectURIs = postLogout
		case "audience":
			spec.Audience = audience
		case "scope":
			spec.Scopes = strings.Fields(*scope)
		case "skip-consent":
			spec.SkipConsent = *skipConsent
		case "logo-uri":
			spec.LogoURI = *logoURI
		case "backchannel-logout-uri":
			spec.BackchannelLogoutURI = *backchannel
		case "allowed-cors-origin":
			spec.AllowedCORSOrigins = corsOrigins
		case "admin":
			spec.Admin = *adminClient
		case "require-mfa":
			spec.RequireMFA = *requireMFA
		case "default-acr-value":
			spec.DefaultACRValues = acrValues
		case "access-token-format":
			spec.AccessTokenFormat = *tokenFormat
		}
	})
	svc, err := a.services(cfg, store, secrets, log)
	if err != nil {
		return err
	}
	updated, err := svc.Clients.Update(ctx, id, spec)
	if clients.IsInvalid(err) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, toClientJSON(updated, ""))
	}
	fmt.Fprintf(a.stdout, "updated client %s\n", id)
	return nil
}
