package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/storage"
)

// logoutCSRFPurpose names the confirmation form's CSRF token.
const logoutCSRFPurpose = "logout"

// handleEndSession is the end_session_endpoint of OpenID Connect
// RP-Initiated Logout 1.0, for GET and POST.
//
// With an id_token_hint that names the signed-in customer and a
// post_logout_redirect_uri registered for the hint's client, the session
// ends at once and the browser goes back to the client with state. In every
// other case (no hint, another customer's hint, an unregistered URI) the
// customer is asked to confirm, and after that sees the logged-out page:
// Gatehouse never redirects where it cannot vouch for the destination (§2,
// §3, §6).
func (p *Provider) handleEndSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	form := r.Form
	if r.Method == http.MethodPost && form.Get("confirm") == "yes" {
		if !p.sessions.CheckCSRF(w, r, logoutCSRFPurpose, form.Get("csrf")) {
			p.pages.Error(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		p.endSession(ctx, w, r)
		p.pages.LoggedOut(w, r)
		return
	}

	var hintSub, hintClient string
	if hint := form.Get("id_token_hint"); hint != "" {
		c, err := p.parseOwnIDToken(ctx, hint)
		if err != nil {
			p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_request")
			return
		}
		hintSub = c.Subject
		if len(c.Audience) > 0 {
			hintClient = c.Audience[0]
		}
	}
	clientID := form.Get("client_id")
	if clientID != "" && hintClient != "" && clientID != hintClient {
		// §2: client_id must match the hint's audience.
		p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	if clientID == "" {
		clientID = hintClient
	}
	var client *storage.Client
	if clientID != "" {
		if c, err := p.store.LookupClient(ctx, clientID); err == nil {
			client = &c
		}
	}
	redirect := form.Get("post_logout_redirect_uri")
	registered := redirect != "" && client != nil && slices.Contains(client.PostLogoutRedirectURIs, redirect)

	bs, err := p.sessions.Current(ctx, r)
	signedIn := err == nil
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.log.ErrorContext(ctx, "reading browser session", "error", err.Error())
		p.pages.Error(w, r, http.StatusInternalServerError, "error.server")
		return
	}
	hintMatches := hintSub != "" && (!signedIn || p.subjectFor(clientOrNil(client), bs.UserID) == hintSub)

	if hintMatches && registered {
		p.endSession(ctx, w, r)
		u, _ := url.Parse(redirect)
		if st := form.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	if !signedIn {
		p.pages.LoggedOut(w, r)
		return
	}
	name := ""
	if client != nil {
		name = client.Name
	}
	p.pages.LogoutConfirm(w, r, name, map[string]string{
		"confirm": "yes",
		"csrf":    p.sessions.CSRFToken(w, r, logoutCSRFPurpose),
	})
}

// endSession ends the browser session and queues back-channel logout
// tokens for the clients it signed in to.
func (p *Provider) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	bs, clients, err := p.sessions.End(ctx, w, r)
	if err != nil {
		if !errors.Is(err, session.ErrNoSession) {
			p.log.ErrorContext(ctx, "ending browser session", "error", err.Error())
		}
		return
	}
	if err := p.queueBackchannelLogout(ctx, bs, clients); err != nil {
		p.log.ErrorContext(ctx, "queueing back-channel logout", "error", err.Error())
	}
}
