package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kinds of upstream identity provider. Each is also the provider's ID: it
// names the provider in the callback URL (ISSUER/login/KIND/callback), in
// the links stored between customers and provider accounts, and in ID
// tokens ("idp").
const (
	SocialGoogle   = "google"
	SocialFacebook = "facebook"
	SocialGitHub   = "github"
	SocialApple    = "apple"
	SocialOIDC     = "oidc"
)

// maxOIDCNameLength caps the generic provider's display name, in characters.
const maxOIDCNameLength = 40

// SocialProvider is one enabled upstream identity provider's settings,
// parsed.
type SocialProvider struct {
	// Kind is one of the Social* constants, and the provider's ID.
	Kind string
	// Name is shown to customers: the brand, or OIDCName.
	Name string
	// ClientID and ClientSecret are the OAuth client's credentials (Apple
	// has no static secret).
	ClientID     string
	ClientSecret string
	// Scopes are the scopes to ask for; nil for the provider's defaults.
	Scopes []string
	// TrustEmail says the provider's word that an email is verified counts.
	TrustEmail bool
	// Issuer is the OpenID provider's issuer URL (SocialOIDC).
	Issuer string
	// TeamID, KeyID and PrivateKeyFile name Apple's signing key
	// (SocialApple).
	TeamID         string
	KeyID          string
	PrivateKeyFile string
}

// SocialProviders returns the enabled providers in the order their buttons
// show: Google, Facebook, GitHub, Apple, then the OpenID provider. An empty
// trust setting takes the provider's default: trusted, except Facebook,
// which says nothing about whether an address is verified.
func (c Config) SocialProviders() []SocialProvider {
	var out []SocialProvider
	if c.GoogleEnabled {
		out = append(out, SocialProvider{
			Kind: SocialGoogle, Name: "Google", ClientID: c.GoogleClientID, ClientSecret: c.GoogleClientSecret,
			Scopes: splitScopes(c.GoogleScopes), TrustEmail: trust(c.GoogleTrustEmail, true),
		})
	}
	if c.FacebookEnabled {
		out = append(out, SocialProvider{
			Kind: SocialFacebook, Name: "Facebook", ClientID: c.FacebookClientID, ClientSecret: c.FacebookClientSecret,
			Scopes: splitScopes(c.FacebookScopes), TrustEmail: trust(c.FacebookTrustEmail, false),
		})
	}
	if c.GitHubEnabled {
		out = append(out, SocialProvider{
			Kind: SocialGitHub, Name: "GitHub", ClientID: c.GitHubClientID, ClientSecret: c.GitHubClientSecret,
			Scopes: splitScopes(c.GitHubScopes), TrustEmail: trust(c.GitHubTrustEmail, true),
		})
	}
	if c.AppleEnabled {
		out = append(out, SocialProvider{
			Kind: SocialApple, Name: "Apple", ClientID: c.AppleClientID,
			TeamID: c.AppleTeamID, KeyID: c.AppleKeyID, PrivateKeyFile: c.ApplePrivateKeyFile,
			Scopes: splitScopes(c.AppleScopes), TrustEmail: trust(c.AppleTrustEmail, true),
		})
	}
	if c.OIDCEnabled {
		out = append(out, SocialProvider{
			Kind: SocialOIDC, Name: strings.TrimSpace(c.OIDCName), Issuer: c.OIDCIssuer,
			ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
			Scopes: splitScopes(c.OIDCScopes), TrustEmail: trust(c.OIDCTrustEmail, true),
		})
	}
	return out
}

// socialProviderIDs lists the enabled providers' IDs, for logs.
func (c Config) socialProviderIDs() []string {
	var ids []string
	for _, p := range c.SocialProviders() {
		ids = append(ids, p.Kind)
	}
	return ids
}

// splitScopes splits a scope setting at spaces and commas; nil when empty.
func splitScopes(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(f) == 0 {
		return nil
	}
	return f
}

// trust reads a trust setting: empty gives def.
func trust(s string, def bool) bool {
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false // Validate refuses it
	}
	return b
}

// socialChecks are the rules of the provider settings. Secrets are never
// quoted in a message.
func (c Config) socialChecks() []check {
	type creds struct {
		prefix, id, secret string
		enabled            bool
		scopes, trust      string
	}
	var checks []check
	for _, p := range []creds{
		{"GATEHOUSE_GOOGLE", c.GoogleClientID, c.GoogleClientSecret, c.GoogleEnabled, c.GoogleScopes, c.GoogleTrustEmail},
		{"GATEHOUSE_FACEBOOK", c.FacebookClientID, c.FacebookClientSecret, c.FacebookEnabled, c.FacebookScopes, c.FacebookTrustEmail},
		{"GATEHOUSE_GITHUB", c.GitHubClientID, c.GitHubClientSecret, c.GitHubEnabled, c.GitHubScopes, c.GitHubTrustEmail},
		{"GATEHOUSE_APPLE", c.AppleClientID, "-", c.AppleEnabled, c.AppleScopes, c.AppleTrustEmail},
		{"GATEHOUSE_OIDC", c.OIDCClientID, c.OIDCClientSecret, c.OIDCEnabled, c.OIDCScopes, c.OIDCTrustEmail},
	} {
		checks = append(checks,
			check{p.enabled && strings.TrimSpace(p.id) == "", p.prefix + "_CLIENT_ID: required when " + p.prefix + "_ENABLED is true"},
			check{p.enabled && p.secret == "", p.prefix + "_CLIENT_SECRET: required when " + p.prefix + "_ENABLED is true"},
			badScopes(p.prefix+"_SCOPES", p.scopes),
			badTrust(p.prefix+"_TRUST_EMAIL", p.trust),
		)
	}
	issuer, issuerErr := url.Parse(c.OIDCIssuer)
	issuerOK := c.OIDCIssuer != "" && issuerErr == nil && issuer.Host != "" && issuer.User == nil &&
		(issuer.Scheme == "https" || issuer.Scheme == "http" && isLoopbackName(issuer.Hostname())) &&
		!strings.ContainsAny(c.OIDCIssuer, "?#")
	name := strings.TrimSpace(c.OIDCName)
	checks = append(checks,
		check{c.AppleEnabled && c.AppleTeamID == "", "GATEHOUSE_APPLE_TEAM_ID: required when GATEHOUSE_APPLE_ENABLED is true"},
		check{c.AppleEnabled && c.AppleKeyID == "", "GATEHOUSE_APPLE_KEY_ID: required when GATEHOUSE_APPLE_ENABLED is true"},
		check{c.AppleEnabled && c.ApplePrivateKeyFile == "", "GATEHOUSE_APPLE_PRIVATE_KEY_FILE: required when GATEHOUSE_APPLE_ENABLED is true (the .p8 key file)"},
		check{c.OIDCEnabled && name == "", "GATEHOUSE_OIDC_NAME: required when GATEHOUSE_OIDC_ENABLED is true (shown on the button: \"Continue with NAME\")"},
		check{utf8.RuneCountInString(name) > maxOIDCNameLength || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }),
			fmt.Sprintf("GATEHOUSE_OIDC_NAME: must be at most %d characters, without control characters", maxOIDCNameLength)},
		check{c.OIDCEnabled && c.OIDCIssuer == "", "GATEHOUSE_OIDC_ISSUER: required when GATEHOUSE_OIDC_ENABLED is true"},
		check{c.OIDCIssuer != "" && !issuerOK, fmt.Sprintf("GATEHOUSE_OIDC_ISSUER: must be an https URL without a query or fragment, or http on localhost, 127.0.0.1 or [::1] (got %q)", redactURL(c.OIDCIssuer))},
	)
	return checks
}

// badScopes is the rule that every scope is a scope-token (RFC 6749 §3.3).
func badScopes(env, s string) check {
	for _, sc := range splitScopes(s) {
		for _, r := range sc {
			if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
				return check{true, fmt.Sprintf("%s: %q is not a valid scope (scopes are separated by spaces or commas)", env, sc)}
			}
		}
	}
	return check{}
}

// badTrust is the rule that a trust setting is empty or a boolean.
func badTrust(env, s string) check {
	if s == "" {
		return check{}
	}
	if _, err := strconv.ParseBool(s); err != nil {
		return check{true, fmt.Sprintf("%s: want true, false, or empty for the provider's default (got %q)", env, s)}
	}
	return check{}
}
