package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/events"
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
// other case (no hint, another customer's hint) the customer is asked to
// confirm; after that the browser goes back to the app when client_id
// names it and the URI is registered for it, and otherwise sees the
// logged-out page. Gatehouse never redirects where it cannot vouch for the
// destination (§2, §3, §6).
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
		// The customer confirmed; a URI registered for the named client is
		// a destination Gatehouse can vouch for (§2: client_id identifies
		// the app when there is no hint).
		if redirect := p.registeredPostLogoutURI(ctx, form.Get("client_id"), form.Get("post_logout_redirect_uri")); redirect != "" {
			p.redirectAfterLogout(w, r, redirect, form.Get("state"))
			return
		}
		p.pages.LoggedOut(w, r)
		return
	}

	var hintSub, hintClient string
	if hint := form.Get("id_token_hint"); hint != "" {
		c, err := p.parseOwnIDToken(ctx, hint)
		if err != nil {
			p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_logout")
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
		p.pages.Error(w, r, http.StatusBadRequest, "error.invalid_logout")
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
		if p.unavailablePage(w, r, endpointEndSession, err) {
			return
		}
		p.log.ErrorContext(ctx, "reading browser session", "error", err.Error())
		p.pages.Error(w, r, http.StatusInternalServerError, "error.server")
		return
	}
	hintMatches := hintSub != "" && (!signedIn || p.subjectFor(clientOrNil(client), bs.UserID) == hintSub)

	if hintMatches && registered {
		p.endSession(ctx, w, r)
		p.redirectAfterLogout(w, r, redirect, form.Get("state"))
		return
	}
	if !signedIn {
		// Nobody to sign out: back to the app when its URI is registered.
		if registered {
			p.redirectAfterLogout(w, r, redirect, form.Get("state"))
			return
		}
		p.pages.LoggedOut(w, r)
		return
	}
	name := ""
	if client != nil {
		name = client.Name
	}
	hidden := map[string]string{
		"confirm": "yes",
		"csrf":    p.sessions.CSRFToken(w, r, logoutCSRFPurpose),
	}
	if client != nil {
		// The page shows the app (its logo, Cancel back to its
		// client_uri); posted back, it changes nothing without a
		// registered post_logout_redirect_uri.
		hidden["client_id"] = client.ID
	}
	var formActions []string
	if registered {
		hidden["post_logout_redirect_uri"] = redirect
		if st := form.Get("state"); st != "" {
			hidden["state"] = st
		}
		formActions = storage.WebOrigins([]string{redirect})
	}
	p.pages.LogoutConfirm(w, r, name, hidden, formActions...)
}

// registeredPostLogoutURI returns uri when it is registered for the client,
// otherwise "".
func (p *Provider) registeredPostLogoutURI(ctx context.Context, clientID, uri string) string {
	if clientID == "" || uri == "" {
		return ""
	}
	c, err := p.store.LookupClient(ctx, clientID)
	if err != nil || !slices.Contains(c.PostLogoutRedirectURIs, uri) {
		return ""
	}
	return uri
}

// redirectAfterLogout sends the browser to the app's registered URI with
// its state (RP-Initiated Logout 1.0 §3).
func (p *Provider) redirectAfterLogout(w http.ResponseWriter, r *http.Request, redirect, state string) {
	u, err := url.Parse(redirect)
	if err != nil {
		p.pages.LoggedOut(w, r)
		return
	}
	if state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// endSession ends the browser session; the session manager's Ender
// (pkg/accounts) records it and queues back-channel logout tokens for the
// clients it signed in to, in one transaction. The customer signing out
// is the event's actor.
func (p *Provider) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if bs, err := p.sessions.Current(ctx, r); err == nil {
		ctx = events.WithActor(ctx, storage.Actor{Type: storage.ActorCustomer, ID: bs.UserID})
	}
	if _, _, err := p.sessions.End(ctx, w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		p.log.ErrorContext(ctx, "ending browser session", "error", err.Error())
	}
}
