package ui

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// accountCSRFPurpose names the account page's forms' CSRF token.
const accountCSRFPurpose = "account"

// AccountPage is the customer's account: how they sign in, with the links
// to upstream accounts they can remove and the providers they can link
// (templates/account.html).
type AccountPage struct {
	// Name and Email say who is signed in.
	Name  string
	Email string
	// HasPassword says the customer can sign in with a password.
	HasPassword bool
	// Identities are the linked upstream accounts.
	Identities []AccountIdentity
	// LastMethod says a link is kept because it is the last way to sign in.
	LastMethod bool
	// Available are the enabled providers not linked yet.
	Available []ProviderButton
	// LinkAction and UnlinkAction are where the forms post.
	LinkAction   string
	UnlinkAction string
	// NoticeID and ErrorID, when set, are the message IDs of the outcome of
	// the last change.
	NoticeID string
	ErrorID  string
	// SignOutURL is the end-session endpoint, which asks to confirm.
	SignOutURL string
	// MFA says the customer has an authenticator app; RecoveryCodesLeft
	// how many unused recovery codes they have.
	MFA               bool
	RecoveryCodesLeft int
	// EnrolURL is the page that sets up an authenticator app;
	// RemoveMFAAction and RecoveryAction take the forms that remove it and
	// make new recovery codes (each needing a recent sign-in). All ""
	// when second factors are off.
	EnrolURL        string
	RemoveMFAAction string
	RecoveryAction  string
	// Manage are the links to the profile, password, sessions, apps and
	// data pages.
	Manage []AccountManageLink
	// PasskeysURL is the page of the customer's passkeys; "" when
	// passkeys are off.
	PasskeysURL string
	// SecondFactor says the customer has a second factor of any kind (an
	// authenticator app or a passkey): their recovery codes are shown and
	// can be made anew.
	SecondFactor bool
}

// AccountIdentity is one linked upstream account on the account page.
type AccountIdentity struct {
	// Provider is the provider's ID, posted to unlink; Name its name.
	Provider string
	Name     string
	// Email is the address the provider last reported, or "".
	Email string
	// CanUnlink is false for the last way the customer can sign in.
	CanUnlink bool
}

// notice is a message on the account page: good news, or a problem.
type notice struct {
	id   string
	good bool
}

// accountNotices maps the notice parameter to the account page's message.
func accountNotices() map[string]notice {
	return map[string]notice{
		"linked":         {"account.notice.linked", true},
		"unlinked":       {"account.notice.unlinked", true},
		"link_cancelled": {"account.error.link_cancelled", false},
		"link_failed":    {"account.error.link_failed", false},
		"link_conflict":  {"account.error.link_conflict", false},
		"last_method":    {"account.error.last_method", false},
		"mfa_enrolled":   {"account.notice.mfa_enrolled", true},
		"mfa_removed":    {"account.notice.mfa_removed", true},
	}
}

// account shows the signed-in customer's account; a browser without a
// session is sent to the account's sign-in page.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	user, err := h.opts.Store.GetUser(ctx, bs.UserID)
	if err != nil {
		h.serverError(w, r, "reading customer", err)
		return
	}
	page := AccountPage{
		Name:         user.Name,
		Email:        user.Email,
		HasPassword:  user.PasswordHash != "",
		LinkAction:   h.URL(PathAccountLink),
		UnlinkAction: h.URL(PathAccountUnlink),
		SignOutURL:   h.opts.SignOutPath,
		Manage:       h.accountManageLinks(),
	}
	if n, ok := accountNotices()[r.URL.Query().Get(noticeParam)]; ok {
		if n.good {
			page.NoticeID = n.id
		} else {
			page.ErrorID = n.id
		}
	}
	var origins []string
	if fed := h.opts.Federation; fed != nil {
		links, err := fed.Identities(ctx, user.ID)
		if err != nil {
			h.serverError(w, r, "reading linked accounts", err)
			return
		}
		linked := make(map[string]bool, len(links))
		for _, l := range links {
			linked[l.Provider] = true
			can := fed.CanUnlink(user, links, l.Provider)
			page.LastMethod = page.LastMethod || !can
			page.Identities = append(page.Identities, AccountIdentity{Provider: l.Provider, Name: l.Name, Email: l.Email, CanUnlink: can})
		}
		for _, p := range fed.Providers() {
			if !linked[p.ID] {
				page.Available = append(page.Available, ProviderButton{ID: p.ID, Name: p.Name})
			}
		}
		origins = fed.AuthOrigins()
	}
	page.SecondFactor = user.MFA
	if err := h.accountMFAFields(r, &page, user.ID); err != nil {
		h.serverError(w, r, "reading second factors", err)
		return
	}
	if h.opts.Passkeys != nil {
		page.PasskeysURL = h.URL(PathAccountPasskeys)
	}
	lang := h.language(w, r, "")
	csrf := h.opts.Sessions.CSRFToken(w, r, accountCSRFPurpose)
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "account", lang, csrf, page, origins...)
}

// accountSession returns the browser's session, or sends the browser to
// the account's sign-in page and reports false.
func (h *Handler) accountSession(w http.ResponseWriter, r *http.Request) (storage.BrowserSession, bool) {
	bs, err := h.opts.Sessions.Current(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, h.URL(PathAccountLogin), http.StatusSeeOther)
		return bs, false
	}
	if err != nil {
		h.serverError(w, r, "reading session", err)
		return bs, false
	}
	return bs, true
}

// accountLogin is the account page's sign-in: the sign-in page without an
// app, after which the browser goes to the account page.
func (h *Handler) accountLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	reauth := r.Form.Get(reauthParam) != ""
	if r.Method == http.MethodGet && r.Form.Get(linkParam) == "" && !reauth && r.Form.Get(passkeyFailedParam) == "" {
		if _, err := h.opts.Sessions.Current(ctx, r); err == nil {
			http.Redirect(w, r, h.URL(PathAccount), http.StatusSeeOther)
			return
		}
	}
	lang := h.language(w, r, "")
	page := LoginPage{Action: h.URL(PathAccountLogin)}
	h.federationLogin(w, r, &page)
	h.passkeyLogin(r, &page)
	if reauth && page.ErrorID == "" {
		page.ErrorID = "login.reauth"
	}
	csrf := h.opts.Sessions.CSRFToken(w, r, loginCSRFPurpose)
	actions := h.loginFormActions("")
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "login", lang, csrf, page, actions...)
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
		h.render(w, r, http.StatusBadRequest, "login", lang, csrf, page, actions...)
		return
	}
	user, ok := h.checkPassword(w, r, passwordForm{
		email: email, password: password,
		page: &page, lang: lang, csrf: csrf, actions: actions,
	})
	if !ok {
		return
	}
	in := signin.FirstFactor{User: &user, Method: signin.Password, LinkToken: linkToken(page.Link)}
	if !h.verifiedFirst(w, r, &in, lang, actions) {
		return
	}
	next, err := h.opts.SignIn.FirstFactor(ctx, h.browser(w, r), in)
	h.goNext(w, r, next, err)
}

// accountLink sends the signed-in customer to a provider to link their
// account there.
func (h *Handler) accountLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, fed, provider, ok := h.accountChange(w, r, true)
	if !ok {
		return
	}
	target, err := fed.Begin(accounts.Actor(ctx, bs.UserID), federation.BeginRequest{
		Provider:       provider,
		Purpose:        storage.FederationLink,
		BrowserBinding: h.opts.Sessions.Device(w, r),
		UserID:         bs.UserID,
	})
	if errors.Is(err, federation.ErrUpstream) {
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "link_failed")
		return
	}
	if err != nil {
		h.serverError(w, r, "starting to link an account", err, "provider", provider)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// accountUnlink removes a link, unless it is the last way to sign in.
func (h *Handler) accountUnlink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bs, fed, provider, ok := h.accountChange(w, r, false)
	if !ok {
		return
	}
	err := fed.Unlink(accounts.Actor(ctx, bs.UserID), bs.UserID, provider)
	switch {
	case err == nil:
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "unlinked")
	case errors.Is(err, federation.ErrLastMethod):
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "last_method")
	case errors.Is(err, storage.ErrNotFound):
		// Unlinked already, perhaps in another tab.
		http.Redirect(w, r, h.URL(PathAccount), http.StatusSeeOther)
	default:
		h.serverError(w, r, "unlinking an account", err, "provider", provider)
	}
}

// accountChange checks what every change on the account page needs: a
// session, the form's CSRF token, and a provider field. For linking the
// provider must be enabled (enabled); to unlink it may be one that no
// longer is.
func (h *Handler) accountChange(w http.ResponseWriter, r *http.Request, enabled bool) (storage.BrowserSession, *federation.Service, string, bool) {
	bs, ok := h.accountForm(w, r)
	if !ok {
		return bs, nil, "", false
	}
	fed := h.opts.Federation
	provider := r.PostForm.Get("provider")
	if fed == nil || provider == "" {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return bs, nil, "", false
	}
	if _, ok := fed.Provider(provider); enabled && !ok {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return bs, nil, "", false
	}
	return bs, fed, provider, true
}
