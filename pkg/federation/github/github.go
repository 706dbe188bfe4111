// Package github is the connector for GitHub accounts, wrapping goth's
// GitHub provider (OAuth 2.0 with the REST API's /user and /user/emails).
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/markbates/goth/providers/github"

	"github.com/gatehouse-id/gatehouse/pkg/federation"
)

// DefaultScopes are asked for when Config.Scopes is empty: the profile and
// the email addresses, with their verification status.
func DefaultScopes() []string { return []string{"read:user", "user:email"} }

// Config configures the connector. Register an OAuth app in GitHub's
// developer settings (see docs/social-login.md).
type Config struct {
	// ClientID and ClientSecret are the OAuth app's credentials.
	ClientID     string
	ClientSecret string
	// CallbackURL is Gatehouse's callback for this provider, the app's
	// authorization callback URL.
	CallbackURL string
	// Scopes are requested; DefaultScopes when empty. Without user:email (or
	// user) no email is verified.
	Scopes []string
	// HTTPClient makes every call to GitHub; required.
	HTTPClient *http.Client
}

// Open returns the connector.
func Open(c Config) (federation.Connector, error) {
	switch {
	case c.ClientID == "" || c.ClientSecret == "":
		return nil, errors.New("github: client ID and secret are required")
	case c.CallbackURL == "":
		return nil, errors.New("github: callback URL is required")
	case c.HTTPClient == nil:
		return nil, errors.New("github: HTTP client is required")
	}
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes()
	}
	p := github.New(c.ClientID, c.ClientSecret, c.CallbackURL, scopes...)
	p.HTTPClient = c.HTTPClient
	return &connector{
		p:         p,
		origin:    federation.GothAuthOrigin(p),
		client:    c.HTTPClient,
		emailURL:  github.EmailURL,
		canVerify: slices.Contains(scopes, "user:email") || slices.Contains(scopes, "user"),
	}, nil
}

type connector struct {
	p         *github.Provider
	client    *http.Client
	emailURL  string
	canVerify bool
	origin    string
}

// AuthOrigin returns the origin of GitHub's authorization endpoint.
func (c *connector) AuthOrigin() string { return c.origin }

// Begin returns GitHub's authorization URL. goth's GitHub session exchanges
// the code without a verifier, so no PKCE challenge is sent.
func (c *connector) Begin(_ context.Context, a federation.Auth) (string, string, error) {
	return federation.GothBegin(c.p, a.State, nil)
}

// Finish exchanges the code, reads the profile, and looks the email up in
// the account's address list to learn whether GitHub verified it. A member
// with no verified primary address signs in without an email.
func (c *connector) Finish(ctx context.Context, a federation.Auth, session string, callback url.Values) (federation.UpstreamIdentity, error) {
	sess, err := federation.GothAuthorize(c.p, session, callback.Get("code"), "")
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	u, err := federation.GothFetchUser(c.p, sess)
	if errors.Is(err, github.ErrNoVerifiedGitHubPrimaryEmail) {
		u.Email, err = "", nil
	}
	if err != nil {
		return federation.UpstreamIdentity{}, err
	}
	if u.UserID == "" || u.UserID == "0" {
		return federation.UpstreamIdentity{}, fmt.Errorf("github: the profile has no id")
	}
	up := federation.UpstreamIdentity{
		Subject: u.UserID,
		Email:   u.Email,
		Name:    u.Name,
		Picture: u.AvatarURL,
	}
	if up.Name == "" {
		up.Name = u.NickName
	}
	if up.Email != "" && c.canVerify {
		up.EmailVerified, err = c.verified(ctx, u.AccessToken, up.Email)
		if err != nil {
			return federation.UpstreamIdentity{}, err
		}
	}
	return up, nil
}

// verified reports whether the account's address list marks email
// verified.
func (c *connector) verified(ctx context.Context, token, email string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.emailURL, nil)
	if err != nil {
		return false, fmt.Errorf("github: emails: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := c.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("github: emails: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("github: emails: status %d", resp.StatusCode)
	}
	var list []struct {
		Email    string `json:"email"`
		Verified bool   `json:"verified"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return false, fmt.Errorf("github: emails: %w", err)
	}
	for _, e := range list {
		if strings.EqualFold(e.Email, email) {
			return e.Verified, nil
		}
	}
	return false, nil
}
