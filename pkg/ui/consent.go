package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/session"
)

// knownScopes have a sentence of their own on the consent page.
var knownScopes = map[string]bool{"openid": true, "profile": true, "email": true, "address": true, "phone": true, "offline_access": true, "roles": true}

// consent asks the customer to allow a client (GET) and records the answer
// (POST).
func (h *Handler) consent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	pending, form, err := h.pendingRequest(w, r, r.Form.Get("auth"))
	if err != nil {
		h.expired(w, r, err)
		return
	}
	bs, err := h.opts.Sessions.Current(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, h.URL(PathLogin)+"?auth="+url.QueryEscape(pending.ID), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.serverError(w, r, "reading session", err)
		return
	}
	client, err := h.opts.Store.CachedClient(ctx, pending.ClientID)
	if err != nil {
		h.expired(w, r, err)
		return
	}
	scopes := strings.Fields(form.Get("scope"))
	purpose := "consent\x00" + pending.ID
	lang := h.language(w, r, form.Get("ui_locales"))
	csrf := h.opts.Sessions.CSRFToken(w, r, purpose)

	if r.Method == http.MethodGet {
		user, err := h.opts.Store.GetUser(ctx, bs.UserID)
		if err != nil {
			h.serverError(w, r, "reading customer", err)
			return
		}
		name := displayName(client, lang)
		page := ConsentPage{
			Action:        h.URL(PathConsent),
			AuthRequestID: pending.ID,
			ClientName:    name,
			LogoURI:       client.LogoURI,
			PolicyURI:     client.PolicyURI,
			TOSURI:        client.TOSURI,
			UserEmail:     user.Email,
		}
		for _, s := range scopes {
			id := "scope.other"
			if knownScopes[s] {
				id = "scope." + s
			}
			page.Scopes = append(page.Scopes, ScopeItem{Scope: s, MessageID: id})
		}
		h.renderApp(w, r, http.StatusOK, "consent", lang, csrf, page, appOf(client, name), redirectOrigin(client, form))
		return
	}

	if !h.opts.Sessions.CheckCSRF(w, r, purpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	decision := "deny"
	if r.PostForm.Get("decision") == "allow" {
		decision = "allow"
		remember := r.PostForm.Get("remember") == "1"
		if err := h.opts.Accounts.GrantConsent(accounts.Actor(ctx, bs.UserID), bs.UserID, client.ID, scopes, remember); err != nil {
			h.serverError(w, r, "storing consent", err)
			return
		}
	}
	sig := h.opts.Sessions.SignDecision(w, r, pending.ID, decision)
	http.Redirect(w, r, h.resumeURL(pending.ID, url.Values{"decision": {decision}, "sig": {sig}}), http.StatusSeeOther)
}

// localizedName picks the client_name#<tag> of the page language, or of its
// base language, falling back to the plain name.
func localizedName(name string, localized map[string]string, lang string) string {
	if n, ok := localized[lang]; ok {
		return n
	}
	base, _, _ := strings.Cut(lang, "-")
	for tag, n := range localized {
		if strings.EqualFold(tag, lang) || strings.EqualFold(tag, base) {
			return n
		}
	}
	return name
}
