package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSocialProviders(t *testing.T) {
	c := Default()
	if got := c.SocialProviders(); len(got) != 0 {
		t.Fatalf("by default no provider is enabled: %+v", got)
	}
	c, err := Load("", env(map[string]string{
		"GATEHOUSE_GOOGLE_ENABLED":           "true",
		"GATEHOUSE_GOOGLE_CLIENT_ID":         "g-id",
		"GATEHOUSE_GOOGLE_CLIENT_SECRET":     "g-secret",
		"GATEHOUSE_FACEBOOK_ENABLED":         "true",
		"GATEHOUSE_FACEBOOK_CLIENT_ID":       "fb-id",
		"GATEHOUSE_FACEBOOK_CLIENT_SECRET":   "fb-secret",
		"GATEHOUSE_FACEBOOK_SCOPES":          "email, public_profile user_link",
		"GATEHOUSE_OIDC_ENABLED":             "true",
		"GATEHOUSE_OIDC_NAME":                " Acme SSO ",
		"GATEHOUSE_OIDC_ISSUER":              "https://sso.acme.example",
		"GATEHOUSE_OIDC_CLIENT_ID":           "o-id",
		"GATEHOUSE_OIDC_CLIENT_SECRET":       "o-secret",
		"GATEHOUSE_OIDC_TRUST_EMAIL":         "false",
		"GATEHOUSE_AUTO_LINK_VERIFIED_EMAIL": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []SocialProvider{
		{Kind: SocialGoogle, Name: "Google", ClientID: "g-id", ClientSecret: "g-secret", TrustEmail: true},
		{Kind: SocialFacebook, Name: "Facebook", ClientID: "fb-id", ClientSecret: "fb-secret", Scopes: []string{"email", "public_profile", "user_link"}},
		{Kind: SocialOIDC, Name: "Acme SSO", Issuer: "https://sso.acme.example", ClientID: "o-id", ClientSecret: "o-secret"},
	}
	if got := c.SocialProviders(); !reflect.DeepEqual(got, want) {
		t.Errorf("SocialProviders:\n got %+v\nwant %+v", got, want)
	}
	if !c.AutoLinkVerifiedEmail {
		t.Error("auto-link not read")
	}
	c.FacebookTrustEmail = "true"
	if !c.SocialProviders()[1].TrustEmail {
		t.Error("facebook_trust_email: true is not honoured")
	}
}

func TestValidateSocialRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"an enabled provider needs a client ID", func(c *Config) { c.GoogleEnabled, c.GoogleClientSecret = true, "s" }, "GATEHOUSE_GOOGLE_CLIENT_ID: required when GATEHOUSE_GOOGLE_ENABLED is true"},
		{"an enabled provider needs a secret", func(c *Config) { c.FacebookEnabled, c.FacebookClientID = true, "id" }, "GATEHOUSE_FACEBOOK_CLIENT_SECRET: required when GATEHOUSE_FACEBOOK_ENABLED is true"},
		{"github too", func(c *Config) { c.GitHubEnabled, c.GitHubClientSecret = true, "s" }, "GATEHOUSE_GITHUB_CLIENT_ID: required"},
		{"a scope with a quote is refused", func(c *Config) { c.GoogleScopes = `openid "email"` }, `GATEHOUSE_GOOGLE_SCOPES: "\"email\"" is not a valid scope`},
		{"a trust setting must be a boolean", func(c *Config) { c.FacebookTrustEmail = "yes" }, `GATEHOUSE_FACEBOOK_TRUST_EMAIL: want true, false, or empty for the provider's default (got "yes")`},
		{"Apple needs its team", func(c *Config) {
			c.AppleEnabled, c.AppleClientID, c.AppleKeyID, c.ApplePrivateKeyFile = true, "com.example", "K", "/k.p8"
		}, "GATEHOUSE_APPLE_TEAM_ID: required"},
		{"Apple needs its key file", func(c *Config) {
			c.AppleEnabled, c.AppleClientID, c.AppleTeamID, c.AppleKeyID = true, "com.example", "T", "K"
		}, "GATEHOUSE_APPLE_PRIVATE_KEY_FILE: required"},
		{"the OpenID provider needs a name", func(c *Config) { oidc(c); c.OIDCName = " " }, "GATEHOUSE_OIDC_NAME: required"},
		{"the OpenID provider's name is short", func(c *Config) { oidc(c); c.OIDCName = strings.Repeat("x", 41) }, "GATEHOUSE_OIDC_NAME: must be at most 40 characters"},
		{"the OpenID provider needs an issuer", func(c *Config) { oidc(c); c.OIDCIssuer = "" }, "GATEHOUSE_OIDC_ISSUER: required"},
		{"an http issuer on a public host is refused", func(c *Config) { oidc(c); c.OIDCIssuer = "http://sso.example" }, "GATEHOUSE_OIDC_ISSUER: must be an https URL"},
		{"an issuer with a query is refused", func(c *Config) { oidc(c); c.OIDCIssuer = "https://sso.example?x=1" }, "GATEHOUSE_OIDC_ISSUER: must be an https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			got := problems(t, c.Validate())
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("problems %q, want one starting %q", got, tc.want)
			}
		})
	}
	c := Default()
	oidc(&c)
	c.OIDCIssuer = "http://127.0.0.1:9000"
	if err := c.Validate(); err != nil {
		t.Errorf("an http issuer on loopback: %v", err)
	}
	c.OIDCIssuer = "https://u:hunter2@sso.example"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("an issuer with a password: %v", err)
	}
}

func oidc(c *Config) {
	c.OIDCEnabled, c.OIDCName, c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = true, "SSO", "https://sso.example", "id", "s"
}

func TestLogValueNamesProvidersNotSecrets(t *testing.T) {
	c := Default()
	c.GoogleEnabled, c.GoogleClientID, c.GoogleClientSecret = true, "g-id", "google-secret-value"
	oidc(&c)
	c.OIDCClientSecret = "oidc-secret-value"
	s := c.LogValue().String()
	if strings.Contains(s, "google-secret-value") || strings.Contains(s, "oidc-secret-value") {
		t.Errorf("LogValue %q shows a client secret", s)
	}
	if !strings.Contains(s, "social_providers=google,oidc") {
		t.Errorf("LogValue %q does not name the enabled providers", s)
	}
}
