package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/storage"
)

const clientsUsage = `Usage:
  gatehouse clients create [--name NAME] [--redirect-uri URI]... [--grant-type TYPE]... [--scope "A B"]
                           [--public] [--token-endpoint-auth-method METHOD] [--skip-consent]
                           [--post-logout-redirect-uri URI]... [--audience AUD]... [--logo-uri URL]
                           [--backchannel-logout-uri URL] [--allowed-cors-origin ORIGIN]... [--admin]
                           [--require-mfa] [--default-acr-value ACR]... [--access-token-format opaque|jwt]
                           [--output json|text]
  gatehouse clients list   [--output json|text]
  gatehouse clients get    CLIENT_ID [--output json|text]
  gatehouse clients delete CLIENT_ID
  gatehouse clients rotate-secret CLIENT_ID [--output json|text]
  gatehouse clients update CLIENT_ID [--name N] [--redirect-uri URI]... [--scope "A B"] [...create's flags] [--output json|text]

--name is required for a client with redirect URIs: customers see it on the sign-in and consent pages.
`

func (a *app) clients(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("clients needs a subcommand\n\n%s", clientsUsage)
	}
	switch args[0] {
	case "create":
		return a.clientsCreate(ctx, args[1:])
	case "list":
		return a.clientsList(ctx, args[1:])
	case "get":
		return a.clientsGet(ctx, args[1:])
	case "delete":
		return a.clientsDelete(ctx, args[1:])
	case "rotate-secret":
		return a.clientsRotateSecret(ctx, args[1:])
	case "update":
		return a.clientsUpdate(ctx, args[1:])
	default:
		return usagef("unknown clients subcommand %q\n\n%s", args[0], clientsUsage)
	}
}

func (a *app) clientsCreate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients create")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	name := fs.String("name", "", "human-readable client name shown on consent pages")
	var redirects, grants, postLogout, audience, corsOrigins stringList
	fs.Var(&redirects, "redirect-uri", "allowed redirect `URI` (repeatable; exact match)")
	fs.Var(&grants, "grant-type", "allowed grant `TYPE` (repeatable; default authorization_code and refresh_token)")
	fs.Var(&postLogout, "post-logout-redirect-uri", "allowed post-logout redirect `URI` (repeatable)")
	fs.Var(&audience, "audience", "allowed audience `AUD` (repeatable)")
	fs.Var(&corsOrigins, "allowed-cors-origin", "`ORIGIN` whose browser scripts may call the token endpoint (repeatable; default: the redirect URIs' origins)")
	scope := fs.String("scope", "", "space-separated allowed `SCOPES`")
	public := fs.Bool("public", false, "public client: no secret, PKCE required")
	method := fs.String("token-endpoint-auth-method", "", "client_secret_basic (default), client_secret_post, or none (public clients)")
	skipConsent := fs.Bool("skip-consent", false, "first-party client: customers are not asked for consent")
	logoURI := fs.String("logo-uri", "", "logo shown on the consent page")
	backchannel := fs.String("backchannel-logout-uri", "", "URL that receives back-channel logout tokens")
	adminClient := fs.Bool("admin", false, "an admin client: the scope "+clients.AdminScope+" and the client_credentials grant (admin API)")
	requireMFA := fs.Bool("require-mfa", false, "every sign-in to the client uses a second factor (docs/mfa.md)")
	var acrValues stringList
	fs.Var(&acrValues, "default-acr-value", "authentication context class `ACR` asked for when a request names none: 1, 2 or phr (repeatable)")
	tokenFormat := fs.String("access-token-format", "", "opaque (default) or jwt: RFC 9068 access tokens, which need an --audience")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	// Customers see a client with redirect URIs by its name, on the sign-in,
	// consent and error pages; without one they would see its raw id.
	if strings.TrimSpace(*name) == "" && len(redirects) > 0 {
		return usagef("clients create needs --name for a client with redirect URIs: the sign-in and consent pages show it to customers")
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	reg, err := svc.Clients.Create(ctx, clients.Spec{
		Name:                    *name,
		RedirectURIs:            redirects,
		PostLogoutRedirectURIs:  postLogout,
		GrantTypes:              grants,
		Scopes:                  strings.Fields(*scope),
		Audience:                audience,
		Public:                  *public,
		TokenEndpointAuthMethod: *method,
		SkipConsent:             *skipConsent,
		LogoURI:                 *logoURI,
		BackchannelLogoutURI:    *backchannel,
		Admin:                   *adminClient,
		AllowedCORSOrigins:      corsOrigins,
		RequireMFA:              *requireMFA,
		DefaultACRValues:        acrValues,
		AccessTokenFormat:       *tokenFormat,
	})
	if clients.IsInvalid(err) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, toClientJSON(reg.Client, reg.Secret))
	}
	fmt.Fprintf(a.stdout, "client_id:     %s\n", reg.Client.ID)
	if reg.Secret != "" {
		fmt.Fprintf(a.stdout, "client_secret: %s\n", reg.Secret)
		fmt.Fprintln(a.stdout, "The secret is shown only now; Gatehouse keeps only a hash of it.")
	}
	return nil
}

func (a *app) clientsList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients list")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	if _, err := parseFlags(fs, args); err != nil {
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
	all, err := everyPage(func(p storage.Page) ([]storage.Client, error) { return store.ListClients(ctx, p) },
		func(c storage.Client) string { return c.ID }, func(c storage.Client) clientJSON { return toClientJSON(c, "") })
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, all)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tGRANT TYPES\tAUTH METHOD")
	for _, c := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ClientID, c.ClientName, strings.Join(c.GrantTypes, ","), c.TokenEndpointAuthMethod)
	}
	return tw.Flush()
}

func (a *app) clientsGet(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients get")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	id, err := parseOneID(fs, args, "CLIENT_ID")
	if err != nil {
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
	c, err := store.LookupClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	if err != nil {
		return err
	}
	j := toClientJSON(c, "")
	if *output == "json" {
		return writeJSON(a.stdout, j)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"client_id", j.ClientID}, {"name", j.ClientName},
		{"redirect_uris", strings.Join(j.RedirectURIs, " ")},
		{"post_logout_redirect_uris", strings.Join(j.PostLogoutRedirectURIs, " ")},
		{"grant_types", strings.Join(j.GrantTypes, " ")}, {"scope", j.Scope},
		{"audience", strings.Join(j.Audience, " ")},
		{"token_endpoint_auth_method", j.TokenEndpointAuthMethod},
		{"public", fmt.Sprint(j.Public)}, {"skip_consent", fmt.Sprint(j.SkipConsent)},
		{"require_mfa", fmt.Sprint(j.RequireMFA)},
		{"access_token_format", j.AccessTokenFormat},
		{"created_at", j.CreatedAt.Format("2006-01-02T15:04:05Z07:00")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func (a *app) clientsDelete(ctx context.Context, args []string) error {
	fs := a.newFlagSet("clients delete")
	cfgPath := configFlag(fs)
	id, err := parseOneID(fs, args, "CLIENT_ID")
	if err != nil {
		return err
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := svc.Clients.Delete(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted client %s and its tokens\n", id)
	return nil
}
