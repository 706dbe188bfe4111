// Package oidc is the connector for any OpenID Connect provider (Okta,
// Microsoft Entra ID, Keycloak, another Gatehouse, ...), wrapping goth's
// openidConnect provider.
//
// goth's provider is not trusted with what it does not do: discovery is
// done here with go-oidc and Config.HTTPClient (goth's own discovery uses
// http.DefaultClient), the authorization request gets a nonce and a PKCE
// S256 challenge (goth sends neither), and the ID token's signature and
// nonce are verified against the provider's JWKS before goth reads it (goth
// only decodes it).
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth/providers/openidConnect"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
)

// DefaultScopes are asked for when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }

// Config configures the connector. Register a confidential client at the
// provider with the callback URL as its redirect URI.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration" and must name the same
	// issuer.
	Issuer string
	// ClientID and ClientSecret are the client's credentials.
	ClientID     string
	ClientSecret string
	// CallbackURL is Gatehouse's callback for this provider, the client's
	// redirect URI.
	CallbackURL string
	// Scopes are requested ("openid" always is); DefaultScopes when empty.
	Scopes []string
	// HTTPClient makes every call to the provider; required.
	HTTPClient *http.Client
}

// Open returns the connector. It does not contact the provider: discovery
// happens at the first sign-in, and is tried again after a failure, so that
// Gatehouse starts while the provider is down.
func Open(c Config) (federation.Connector, error) {
	switch {
	case c.Issuer == "":
		return nil, errors.New("oidc: issuer is required")
	case c.ClientID == "" || c.ClientSecret == "":
		return nil, errors.New("oidc: client ID and secret are required")
	case c.CallbackURL == "":
		return nil, errors.New("oidc: callback URL is required")
	case c.HTTPClient == nil:
		return nil, errors.New("oidc: HTTP client is required")
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes()
	}
	if !slices.Contains(c.Scopes, gooidc.ScopeOpenID) {
		c.Scopes = append([]string{gooidc.ScopeOpenID}, c.Scopes...)
	}
	return &connector{cfg: c}, nil
}

type connector struct {
	cfg Config

	// discovering lets one discovery run at a time; discovered is nil until
	// one succeeds, and is read without waiting for a discovery in flight.
	discovering sync.Mutex
	discovered  atomic.Pointer[discovered]
}

// discovered is what discovery yields: goth's provider on the discovered
// endpoints, and a verifier on the provider's JWKS.
type discovered struct {
	p          *openidConnect.Provider
	verifier   *gooidc.IDTokenVerifier
	authOrigin string
}

// discover runs discovery once it succeeds, through the connector's client.
func (c *connector) discover(ctx context.Context) (*discovered, error) {
	if d := c.discovered.Load(); d != nil {
		return d, nil
	}
	c.discovering.Lock()
	defer c.discovering.Unlock()
	if d := c.discovered.Load(); d != nil {
		return d, nil
	}
	// go-oidc takes its client from the context; the key set it makes keeps
	// using that client for every JWKS fetch.
	op, err := gooidc.NewProvider(gooidc.ClientContext(ctx, c.cfg.HTTPClient), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery: %w", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc: discovery: %w", err)
	}
	ep := op.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, errors.New("oidc: discovery: no authorization or token endpoint")
	}
	p, err := openidConnect.NewCustomisedURL(c.cfg.ClientID, c.cfg.ClientSecret, c.cfg.CallbackURL,
		ep.AuthURL, ep.TokenURL, c.cfg.Issuer, op.UserInfoEndpoint(), meta.EndSession, c.cfg.Scopes...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.HTTPClient = c.cfg.HTTPClient
	d := &discovered{p: p, verifier: op.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID}), authOrigin: federation.Origin(ep.AuthURL)}
	c.discovered.Store(d)
	return d, nil
}

// AuthOrigin returns the origin of the discovered authorization endpoint,
// or, before discovery, the issuer's, where it almost always is.
func (c *connector) AuthOrigin() string {
	if d := c.discovered.Load(); d != nil {
		return d.authOrigin
	}
	return federation.Origin(c.cfg.Issuer)
}

// Begin returns the provider's authorization URL with the nonce and the
// PKCE challenge.
func (c *connector) Begin(ctx context.Context, a federation.Auth) (string, string, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return "", "", err
	}
	extra := federation.PKCEParams(a.CodeVerifier)
	extra.Set("nonce", a.Nonce)
	// The app's demand for a fresh sign-in holds at the provider too
	// (OpenID Connect Core §3.1.2.1).
	if a.Reauthenticate {
		extra.Set("prompt", "login")
	}
	if a.MaxAge != "" {
		extra.Set("max_age", a.MaxAge)
	}
	return federation.GothBegin(d.p, a.State, extra)
}

// Finish exchanges the code with the PKCE verifier, verifies the ID token
// (signature against the JWKS, issuer, audience, expiry) and its nonce, then
// lets goth read the ID token and the userinfo endpoint, whose "sub" goth
// checks against the ID token's. The email counts as verified when the
// claim email_verified is true.
func (c *connector) Finish(ctx context.Context, a federation.Auth, session string, callback url.Values) (federation.UpstreamIdentity, error) {
	d, err := c.discover(ctx)
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	sess, err := federation.GothAuthorize(d.p, session, callback.Get("code"), a.CodeVerifier)
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	tokens, ok := sess.(*openidConnect.Session)
	if !ok || tokens.IDToken == "" {
		return federation.UpstreamIdentity{}, errors.New("oidc: the token response has no ID token")
	}
	idt, err := d.verifier.Verify(ctx, tokens.IDToken)
	if err != nil {
		return federation.UpstreamIdentity{}, fmt.Errorf("oidc: ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return federation.UpstreamIdentity{}, errors.New("oidc: ID token: wrong nonce")
	}
	u, err := federation.GothFetchUser(d.p, sess)
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	return federation.UpstreamIdentity{
		Subject:       idt.Subject,
		Email:         u.Email,
		EmailVerified: federation.ClaimBool(u.RawData, "email_verified"),
		Name:          u.Name,
		GivenName:     u.FirstName,
		FamilyName:    u.LastName,
		Picture:       u.AvatarURL,
		Locale:        federation.ClaimString(u.RawData, "locale"),
	}, nil
}
