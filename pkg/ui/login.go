package ui

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/signin"
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
	client, clientErr := h.opts.Store.CachedClient(ctx, pending.ClientID)
	page := LoginPage{
		Action:        h.URL(PathLogin),
		AuthRequestID: pending.ID,
		Email:         form.Get("login_hint"),
		ClientName:    displayName(client, lang),
	}
	h.federationLogin(w, r, &page)
	h.selfServiceLinks(&page)
	h.passkeyLogin(r, &page)
	csrf := h.opts.Sessions.CSRFToken(w, r, loginCSRFPurpose)
	app := h.loginFormActions(redirectOrigin(client, form))
	var shown *App
	if clientErr == nil {
		shown = appOf(client, page.ClientName)
	}
	if r.Method == http.MethodGet {
		// A session that is recent enough but too weak for the app needs
		// only the missing factor (step-up), not the password again.
		if page.Link == nil {
			if bs, err := h.opts.Sessions.Current(ctx, r); err == nil && h.hintNamesOther(ctx, pending, bs.UserID) {
				// The app asked for another customer than this
				// browser's: a sign-in, never a step-up of the other one.
				page.ErrorID = "login.other_account"
			} else if err == nil {
				next, ok, err := h.opts.SignIn.StepUp(ctx, h.browser(w, r), bs, pending.ID, pending.SessionID == bs.ID)
				if err != nil {
					h.serverError(w, r, "starting a step-up", err)
					return
				}
				if ok {
					http.Redirect(w, r, next.URL, http.StatusSeeOther)
					return
				}
			}
		}
		h.renderApp(w, r, http.StatusOK, "login", lang, csrf, page, shown, app...)
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
		h.renderApp(w, r, http.StatusBadRequest, "login", lang, csrf, page, shown, app...)
		return
	}
	newDevice := false
	user, ok := h.checkPassword(w, r, passwordForm{
		email: email, password: password, clientID: pending.ClientID,
		page: &page, lang: lang, csrf: csrf, actions: app, newDevice: &newDevice, app: shown,
	})
	if !ok {
		return
	}
	in := signin.FirstFactor{
		User: &user, Method: signin.Password, AuthRequestID: pending.ID, LinkToken: linkToken(page.Link),
		NewDevice: newDevice && h.opts.SelfServiceSettings.NewDeviceAlert,
	}
	if !h.verifiedFirst(w, r, &in, lang, app) {
		return
	}
	next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), in)
	h.goNext(w, r, next, err)
}

// linkToken is the token of the link a sign-in page asks to confirm, or "".
func linkToken(l *LinkPrompt) string {
	if l == nil {
		return ""
	}
	return l.Token
}

// displayName returns the client's name in the page language, or its id.
func displayName(c storage.Client, lang string) string {
	if n := localizedName(c.Name, c.LocalizedNames, lang); n != "" {
		return n
	}
	return c.ID
}

// hintNamesOther says the pending request's id_token_hint names another
// customer than userID.
func (h *Handler) hintNamesOther(ctx context.Context, ar storage.AuthRequest, userID string) bool {
	return h.opts.HintNamesOther != nil && h.opts.HintNamesOther(ctx, ar, userID)
}
