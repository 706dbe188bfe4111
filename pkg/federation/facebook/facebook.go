// Package facebook is the connector for Facebook accounts, wrapping goth's
// Facebook provider (OAuth 2.0 with the Graph API's /me).
package facebook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/markbates/goth/providers/facebook"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
)

// DefaultScopes are asked for when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"email", "public_profile"} }

// Config configures the connector. Create the app at Meta for Developers
// (see docs/social-login.md).
type Config struct {
	// ClientID and ClientSecret are the app's ID and secret.
	ClientID     string
	ClientSecret string
	// CallbackURL is Gatehouse's callback for this provider; it must be a
	// valid OAuth redirect URI of the app.
	CallbackURL string
	// Scopes are requested ("email" always is); DefaultScopes when empty.
	Scopes []string
	// HTTPClient makes every call to Facebook; required.
	HTTPClient *http.Client
}

// Open returns the connector.
func Open(c Config) (federation.Connector, error) {
	switch {
	case c.ClientID == "" || c.ClientSecret == "":
		return nil, errors.New("facebook: app ID and secret are required")
	case c.CallbackURL == "":
		return nil, errors.New("facebook: callback URL is required")
	case c.HTTPClient == nil:
		return nil, errors.New("facebook: HTTP client is required")
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	p := facebook.New(c.ClientID, c.ClientSecret, c.CallbackURL, scopes...)
	p.HTTPClient = c.HTTPClient
	p.SetCustomFields([]string{"id", "name", "first_name", "last_name", "email", "picture"})
	return &connector{p: p, origin: federation.GothAuthOrigin(p)}, nil
}

type connector struct {
	p      *facebook.Provider
	origin string
}

// AuthOrigin returns the origin of Facebook's authorization endpoint.
func (c *connector) AuthOrigin() string { return c.origin }

// Begin returns Facebook's authorization URL. goth's Facebook session
// exchanges the code without a verifier, so no PKCE challenge is sent.
// When the app asked for a fresh sign-in or bounded its age, Facebook is
// asked to re-authenticate: it has no max_age, and its session's age is
// unknown here.
func (c *connector) Begin(_ context.Context, a federation.Auth) (string, string, error) {
	if a.Reauthenticate || a.MaxAge != "" {
		// Facebook's way to ask for the password again, whatever its
		// session: auth_type=reauthenticate (Facebook Login's re-authentication).
		return federation.GothBegin(c.p, a.State, url.Values{"auth_type": {"reauthenticate"}})
	}
	return federation.GothBegin(c.p, a.State, nil)
}

// Finish exchanges the code and reads the account from the Graph API (goth
// signs the call with appsecret_proof). Facebook returns only an address
// its member confirmed, but says nothing about it: EmailVerified is set
// whenever there is an email, and whether that counts is the provider's
// TrustEmail, off by default for Facebook.
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
		return federation.UpstreamIdentity{}, fmt.Errorf("facebook: the profile has no id")
	}
	return federation.UpstreamIdentity{
		Subject:       u.UserID,
		Email:         u.Email,
		EmailVerified: u.Email != "",
		Name:          u.Name,
		GivenName:     u.FirstName,
		FamilyName:    u.LastName,
		Picture:       u.AvatarURL,
	}, nil
}
