package ui

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/storage"
)

// loginCSRFPurpose names the sign-in form's CSRF token.
const loginCSRFPurpose = "login"

// login shows the sign-in form (GET) and checks it (POST).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	authID := r.Form.Get("auth")
	pending, form, err := h.pendingRequest(w, r, authID)
	if err != nil {
		h.expired(w, r, err)
		return
	}
	lang := h.language(w, r, form.Get("ui_locales"))
	// A client deleted meanwhile leaves the name empty; the authorization
	// endpoint refuses the request when the browser comes back.
	client, _ := h.opts.Store.LookupClient(ctx, pending.ClientID)
	page := LoginPage{
		Action:        h.URL(PathLogin),
		AuthRequestID: pending.ID,
		Email:         form.Get("login_hint"),
		ClientName:    displayName(client, lang),
	}
	h.federationLogin(w, r, &page)
	csrf := h.opts.Sessions.CSRFToken(w, r, loginCSRFPurpose)
	app := h.loginFormActions(redirectOrigin(client, form))
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "login", lang, csrf, page, app...)
		return
	}

	if !h.opts.Sessions.CheckCSRF(w, r, loginCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	email, password := r.PostForm.Get("email"), r.PostForm.Get("password")
	page.Email = email
	if email == "" || password == "" {
		page.ErrorID = "login.error.required"
		h.render(w, r, http.StatusBadRequest, "login", lang, csrf, page, app...)
		return
	}
	user, ok := h.checkPassword(w, r, passwordForm{
		email: email, password: password, clientID: pending.ClientID,
		page: &page, lang: lang, csrf: csrf, actions: app,
	})
	if !ok {
		return
	}
	bs, err := h.startSignIn(ctx, w, r, user.ID, pending.ClientID, page.Link)
	if err != nil {
		h.serverError(w, r, "starting session", err)
		return
	}
	if err := h.opts.Store.SetAuthRequestSession(ctx, pending.ID, bs.ID); err != nil {
		h.expired(w, r, err)
		return
	}
	http.Redirect(w, r, h.resumeURL(pending.ID, nil), http.StatusSeeOther)
}

// displayName returns the client's name in the page language, or its id.
func displayName(c storage.Client, lang string) string {
	if n := localizedName(c.Name, c.LocalizedNames, lang); n != "" {
		return n
	}
	return c.ID
}
