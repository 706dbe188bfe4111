package main

import (
	"encoding/json"
	"flag"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// outputFlag adds --output json|text.
func outputFlag(fs *flag.FlagSet) *string {
	return fs.String("output", "text", "output format: `json` or text")
}

func checkOutput(format string) error {
	if format != "json" && format != "text" {
		return usagef("--output must be json or text (got %q)", format)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clientJSON is a client as the command line prints it, in the metadata
// names of RFC 7591 §2 so that scripts can feed it to other OAuth tools.
type clientJSON struct {
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	ClientName              string    `json:"client_name,omitempty"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	ResponseTypes           []string  `json:"response_types"`
	Scope                   string    `json:"scope"`
	Audience                []string  `json:"audience"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Public                  bool      `json:"public"`
	SkipConsent             bool      `json:"skip_consent"`
	LogoURI                 string    `json:"logo_uri,omitempty"`
	BackchannelLogoutURI    string    `json:"backchannel_logout_uri,omitempty"`
	AllowedCORSOrigins      []string  `json:"allowed_cors_origins,omitempty"`
	Admin                   bool      `json:"admin"`
	CreatedAt               time.Time `json:"created_at"`
}

func toClientJSON(c storage.Client, secret string) clientJSON {
	return clientJSON{
		ClientID:                c.ID,
		ClientSecret:            secret,
		ClientName:              c.Name,
		RedirectURIs:            orEmpty(c.RedirectURIs),
		PostLogoutRedirectURIs:  orEmpty(c.PostLogoutRedirectURIs),
		GrantTypes:              orEmpty(c.GrantTypes),
		ResponseTypes:           orEmpty(c.ResponseTypes),
		Scope:                   joinSpace(c.Scopes),
		Audience:                orEmpty(c.Audience),
		TokenEndpointAuthMethod: c.GetTokenEndpointAuthMethod(),
		Public:                  c.Public,
		SkipConsent:             c.SkipConsent,
		LogoURI:                 c.LogoURI,
		BackchannelLogoutURI:    c.BackchannelLogoutURI,
		AllowedCORSOrigins:      c.AllowedCORSOrigins,
		Admin:                   c.Admin,
		CreatedAt:               c.CreatedAt,
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func joinSpace(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out
}

// everyPage reads a listing ordered by ID page by page and converts every
// item for printing.
func everyPage[T, J any](list func(storage.Page) ([]T, error), id func(T) string, conv func(T) J) ([]J, error) {
	all := []J{}
	page := storage.Page{Limit: 500}
	for {
		batch, err := list(page)
		if err != nil {
			return nil, err
		}
		for _, item := range batch {
			all = append(all, conv(item))
		}
		if len(batch) < page.Limit {
			return all, nil
		}
		page.After = id(batch[len(batch)-1])
	}
}
