// Package google is the connector for Google accounts, wrapping goth's
// Google provider (OAuth 2.0 with Google's userinfo endpoint).
package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/markbates/goth/providers/google"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
)

// DefaultScopes are asked for when Config.Scopes is empty: the account's
// identity, email and profile.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }

// Config configures the connector. Create the OAuth client in the Google
// Cloud console (see docs/social-login.md).
type Config struct {
	// ClientID and ClientSecret are the OAuth client's credentials.
	ClientID     string
	ClientSecret string
	// CallbackURL is Gatehouse's callback for this provider; it must be an
	// authorized redirect URI of the OAuth client.
	CallbackURL string
	// Scopes are requested; DefaultScopes when empty.
	Scopes []string
	// HTTPClient makes every call to Google; required.
	HTTPClient *http.Client
}

// Open returns the connector.
func Open(c Config) (federation.Connector, error) {
	switch {
	case c.ClientID == "" || c.ClientSecret == "":
		return nil, errors.New("google: client ID and secret are required")
	case c.CallbackURL == "":
		return nil, errors.New("google: callback URL is required")
	case c.HTTPClient == nil:
		return nil, errors.New("google: HTTP client is required")
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	p := google.New(c.ClientID, c.ClientSecret, c.CallbackURL, scopes...)
	p.HTTPClient = c.HTTPClient
	return &connector{p: p, origin: federation.GothAuthOrigin(p)}, nil
}

type connector struct {
	p      *google.Provider
	origin string
}

// AuthOrigin returns the origin of Google's authorization endpoint.
func (c *connector) AuthOrigin() string { return c.origin }

// Begin returns Google's authorization URL. goth's Google session exchanges
// the code without a verifier, so no PKCE challenge is sent; the code is
// exchanged with the client secret.
func (c *connector) Begin(_ context.Context, a federation.Auth) (string, string, error) {
	return federation.GothBegin(c.p, a.State, nil)
}

// Finish exchanges the code and reads the account from Google's userinfo
// endpoint, over TLS with Google itself; the email counts as verified when
// Google says so ("verified_email").
func (c *connector) Finish(_ context.Context, a federation.Auth, session string, callback url.Values) (federation.UpstreamIdentity, error) {
	sess, err := federation.GothAuthorize(c.p, session, callback.Get("code"), "")
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	u, err := federation.GothFetchUser(c.p, sess)
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	if u.UserID == "" {
		return federation.UpstreamIdentity{}, fmt.Errorf("google: the profile has no id")
	}
	return federation.UpstreamIdentity{
		Subject:       u.UserID,
		Email:         u.Email,
		EmailVerified: federation.ClaimBool(u.RawData, "verified_email") || federation.ClaimBool(u.RawData, "email_verified"),
		Name:          u.Name,
		GivenName:     u.FirstName,
		FamilyName:    u.LastName,
		Picture:       u.AvatarURL,
		Locale:        federation.ClaimString(u.RawData, "locale"),
	}, nil
}
