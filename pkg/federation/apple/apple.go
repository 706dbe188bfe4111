// Package apple is the connector for Sign in with Apple. It uses goth's
// Apple provider to build the authorization request (with
// response_mode=form_post, which Apple requires once a name or email is
// asked for) and goth's MakeSecret for the client secret JWT.
//
// The code exchange is done here, not by goth: goth's Apple session
// exchanges with context.Background(), so the token request would go
// through http.DefaultClient, with no timeout and ignoring the client given
// to the connector. Here it goes through Config.HTTPClient, and the ID token
// is verified with go-oidc against Apple's published keys, the nonce
// included (goth checks no nonce).
package apple

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth/providers/apple"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
)

// Apple's endpoints (https://developer.apple.com/documentation/sign_in_with_apple).
const (
	// Issuer is the "iss" of Apple's ID tokens.
	Issuer   = "https://appleid.apple.com"
	tokenURL = "https://appleid.apple.com/auth/token"
	jwksURL  = "https://appleid.apple.com/auth/keys"
)

// secretLifetime is how long each client secret JWT is valid; a fresh one
// is made for every code exchange.
const secretLifetime = 5 * time.Minute

// DefaultScopes are asked for when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"name", "email"} }

// Config configures the connector. Create the Services ID and the key in
// Apple's developer account (see docs/social-login.md).
type Config struct {
	// ClientID is the Services ID (e.g. "com.example.signin").
	ClientID string
	// TeamID is the developer team's ID; KeyID the Sign in with Apple
	// key's ID.
	TeamID string
	KeyID  string
	// PrivateKey is that key: the PEM text of the .p8 file (PKCS #8).
	PrivateKey string
	// CallbackURL is Gatehouse's callback for this provider, a return URL of
	// the Services ID. Apple posts to it (form_post).
	CallbackURL string
	// Scopes are requested; DefaultScopes when empty.
	Scopes []string
	// HTTPClient makes every call to Apple; required.
	HTTPClient *http.Client
}

// Open returns the connector. It fails when the private key cannot sign a
// client secret.
func Open(c Config) (federation.Connector, error) {
	switch {
	case c.ClientID == "" || c.TeamID == "" || c.KeyID == "":
		return nil, errors.New("apple: services ID, team ID and key ID are required")
	case c.CallbackURL == "":
		return nil, errors.New("apple: callback URL is required")
	case c.HTTPClient == nil:
		return nil, errors.New("apple: HTTP client is required")
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	conn := &connector{cfg: c, p: apple.New(c.ClientID, "", c.CallbackURL, c.HTTPClient, scopes...)}
	if _, err := conn.clientSecret(time.Now()); err != nil {
		return nil, err
	}
	keys := (&gooidc.ProviderConfig{IssuerURL: Issuer, JWKSURL: jwksURL, Algorithms: []string{gooidc.RS256, gooidc.ES256}}).
		NewProvider(gooidc.ClientContext(context.Background(), c.HTTPClient))
	conn.verifier = keys.Verifier(&gooidc.Config{ClientID: c.ClientID})
	conn.origin = federation.GothAuthOrigin(conn.p)
	return conn, nil
}

type connector struct {
	cfg      Config
	p        *apple.Provider
	verifier *gooidc.IDTokenVerifier
	origin   string
}

// AuthOrigin returns the origin of Apple's authorization endpoint.
func (c *connector) AuthOrigin() string { return c.origin }

// Begin returns Apple's authorization URL with the nonce. goth's Apple
// provider sends no PKCE challenge.
func (c *connector) Begin(_ context.Context, a federation.Auth) (string, string, error) {
	return federation.GothBegin(c.p, a.State, url.Values{"nonce": {a.Nonce}})
}

// Finish exchanges the code with a fresh client secret, verifies the ID
// token (signature, issuer, audience, expiry, nonce) and reads the account
// from it. Apple posts the customer's name only on their first consent, in
// the "user" form field; it is used when present.
func (c *connector) Finish(ctx context.Context, a federation.Auth, _ string, callback url.Values) (federation.UpstreamIdentity, error) {
	secret, err := c.clientSecret(time.Now())
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	cfg := oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: secret,
		RedirectURL:  c.cfg.CallbackURL,
		Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient), callback.Get("code"))
	if err != nil {
		return federation.UpstreamIdentity{}, fmt.Errorf("apple: exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return federation.UpstreamIdentity{}, errors.New("apple: the token response has no ID token")
	}
	idt, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return federation.UpstreamIdentity{}, fmt.Errorf("apple: ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return federation.UpstreamIdentity{}, errors.New("apple: ID token: wrong nonce")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return federation.UpstreamIdentity{}, fmt.Errorf("apple: ID token claims: %w", err)
	}
	up := federation.UpstreamIdentity{
		Subject:       idt.Subject,
		Email:         federation.ClaimString(claims, "email"),
		EmailVerified: federation.ClaimBool(claims, "email_verified"),
	}
	up.GivenName, up.FamilyName = postedName(callback.Get("user"))
	up.Name = strings.TrimSpace(up.GivenName + " " + up.FamilyName)
	return up, nil
}

// clientSecret makes the ES256 client secret JWT Apple's token endpoint
// takes instead of a password.
func (c *connector) clientSecret(now time.Time) (string, error) {
	s, err := apple.MakeSecret(apple.SecretParams{
		PKCS8PrivateKey: c.cfg.PrivateKey,
		TeamId:          c.cfg.TeamID,
		KeyId:           c.cfg.KeyID,
		ClientId:        c.cfg.ClientID,
		Iat:             int(now.Unix()),
		Exp:             int(now.Add(secretLifetime).Unix()),
	})
	if err != nil {
		return "", fmt.Errorf("apple: client secret from the private key: %w", err)
	}
	return *s, nil
}

// postedName reads the given and family names from the "user" field Apple
// posts on a first consent; anything else gives empty names.
func postedName(user string) (given, family string) {
	if user == "" || len(user) > 4096 {
		return "", ""
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if err := json.Unmarshal([]byte(user), &u); err != nil {
		return "", ""
	}
	return u.Name.FirstName, u.Name.LastName
}
