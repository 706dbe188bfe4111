package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the federated sign-in and account pages, relative to the issuer.
const (
	// PathFederated takes the sign-in pages' provider buttons (POST).
	PathFederated = "/login/federated"
	// PathAccount is the account page; PathAccountLogin its sign-in page.
	PathAccount      = "/account"
	PathAccountLogin = "/account/login"
	// PathAccountLink and PathAccountUnlink take the account page's forms
	// (POST).
	PathAccountLink   = "/account/link"
	PathAccountUnlink = "/account/unlink"
)

// Query parameters that carry the outcome of a sign-in at a provider back
// to a page. Their values are looked up in fixed tables, never shown.
const (
	fedParam    = "fed"
	linkParam   = "link"
	noticeParam = "notice"
)

// federationErrors maps the fed parameter to the sign-in page's message.
func federationErrors() map[string]string {
	return map[string]string{
		"cancelled": "login.federation.cancelled",
		"failed":    "login.federation.failed",
		"conflict":  "login.federation.conflict",
		"closed":    "login.federation.closed",
	}
}

// FederationCallbackPath returns the path, relative to the issuer, of a
// provider's callback: the redirect URI to register with the provider.
func FederationCallbackPath(provider string) string {
	return PathLogin + "/" + provider + "/callback"
}

// registerFederation mounts the federated sign-in and the account pages.
func (h *Handler) registerFederation(r *mux.Router) {
	b := h.opts.BasePath
	r.HandleFunc(b+PathFederated, h.federationBegin).Methods(http.MethodPost)
	r.HandleFunc(b+FederationCallbackPath("{provider}"), h.federationCallback).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccount, h.account).Methods(http.MethodGet)
	r.HandleFunc(b+PathAccountLogin, h.accountLogin).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathAccountLink, h.accountLink).Methods(http.MethodPost)
	r.HandleFunc(b+PathAccountUnlink, h.accountUnlink).Methods(http.MethodPost)
}

// federationLogin adds a sign-in page's federated parts: the providers'
// buttons, the link the customer is asked to confirm, and the message of a
// sign-in at a provider that did not work.
func (h *Handler) federationLogin(w http.ResponseWriter, r *http.Request, page *LoginPage) {
	fed := h.opts.Federation
	if fed == nil {
		return
	}
	linking := ""
	if token := r.Form.Get(linkParam); token != "" {
		l, err := fed.PendingLink(r.Context(), token, h.opts.Sessions.Device(w, r))
		switch {
		case err == nil:
			page.Link = &LinkPrompt{Token: token, Provider: l.Provider.Name, Email: l.Email}
			page.Email = l.Email
			linking = l.Provider.ID
		case errors.Is(err, federation.ErrState):
			page.ErrorID = "login.link.expired"
		default:
			h.log.ErrorContext(r.Context(), "reading a pending link", "error", err.Error())
		}
	}
	for _, p := range fed.Providers() {
		// The account being linked is no way to confirm the link.
		if p.ID != linking {
			page.Providers = append(page.Providers, ProviderButton{ID: p.ID, Name: p.Name})
		}
	}
	if len(page.Providers) > 0 {
		page.ProvidersAction = h.URL(PathFederated)
	}
	if id, ok := federationErrors()[r.URL.Query().Get(fedParam)]; ok && page.ErrorID == "" {
		page.ErrorID = id
	}
}

// loginFormActions are the origins a sign-in page's forms may lead to: the
// app's (after a password sign-in) and the providers' authorization
// endpoints (after a provider button).
func (h *Handler) loginFormActions(app string) []string {
	actions := []string{app}
	if h.opts.Federation != nil {
		actions = append(actions, h.opts.Federation.AuthOrigins()...)
	}
	return actions
}

// federationBegin sends the browser to a provider: for a pending
// authorization request when the form names one, otherwise to sign in to
// the account page.
func (h *Handler) federationBegin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fed := h.opts.Federation
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	if !h.opts.Sessions.CheckCSRF(w, r, loginCSRFPurpose, r.PostForm.Get("csrf")) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	provider := r.PostForm.Get("provider")
	if fed == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, ok := fed.Provider(provider); !ok {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	req := federation.BeginRequest{
		Provider:       provider,
		Purpose:        storage.FederationAccount,
		BrowserBinding: h.opts.Sessions.Device(w, r),
		LinkToken:      r.PostForm.Get(linkParam),
	}
	back := h.URL(PathAccountLogin)
	if authID := r.PostForm.Get("auth"); authID != "" {
		pending, _, err := h.pendingRequest(w, r, authID)
		if err != nil {
			h.expired(w, r, err)
			return
		}
		req.Purpose, req.AuthRequestID = storage.FederationLogin, pending.ID
		req.Reauthenticate, req.MaxAge = freshnessAsked(pending.Form)
		back = h.URL(PathLogin) + "?auth=" + url.QueryEscape(pending.ID)
	}
	target, err := fed.Begin(ctx, req)
	if errors.Is(err, federation.ErrUpstream) {
		h.redirectWith(w, r, back, fedParam, "failed")
		return
	}
	if err != nil {
		h.serverError(w, r, "starting a federated sign-in", err, "provider", provider)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// federationCallback is where a provider sends the browser back.
//
// A callback posted cross-site (response_mode=form_post, Apple's) comes
// without the browser's SameSite=Lax cookies, so it cannot be tied to the
// browser yet: its parameters are kept on the sign-in its state names, and
// the browser is sent back to this URL with a GET, a top-level navigation
// that carries the cookies, where the sign-in is finished.
func (h *Handler) federationCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fed := h.opts.Federation
	provider := mux.Vars(r)["provider"]
	if fed == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, ok := fed.Provider(provider); !ok {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_request")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		state, err := fed.StashCallback(ctx, r.PostForm)
		if err != nil {
			h.federationFailed(w, r, federation.Result{}, err)
			return
		}
		back := h.URL(FederationCallbackPath(provider)) + "?" + url.Values{"state": {state}}.Encode()
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	req := federation.CallbackRequest{
		Provider:       provider,
		Params:         r.URL.Query(),
		BrowserBinding: h.opts.Sessions.Device(w, r),
	}
	bs, err := h.opts.Sessions.Current(ctx, r)
	switch {
	case err == nil:
		req.SessionUserID = bs.UserID
	case !errors.Is(err, session.ErrNoSession):
		h.serverError(w, r, "reading session", err)
		return
	}
	// What the sign-in changes (a new customer, a link) is the customer's
	// doing: the one signed in, or someone not yet known.
	res, err := fed.Finish(accounts.Actor(ctx, req.SessionUserID), req)
	if err != nil {
		h.federationFailed(w, r, res, err)
		return
	}
	switch res.Outcome {
	case federation.SignedIn:
		h.federatedSignIn(w, r, res)
	case federation.NeedsConfirmation:
		if res.Purpose == storage.FederationLogin {
			http.Redirect(w, r, h.URL(PathLogin)+"?"+url.Values{"auth": {res.AuthRequestID}, linkParam: {res.LinkToken}}.Encode(), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, h.URL(PathAccountLogin)+"?"+url.Values{linkParam: {res.LinkToken}}.Encode(), http.StatusSeeOther)
	case federation.Linked:
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "linked")
	default:
		h.log.ErrorContext(ctx, "a federated sign-in ended without an outcome", "provider", provider)
		h.Error(w, r, http.StatusInternalServerError, "error.server")
	}
}

// federatedSignIn hands the customer a provider signed in to the sign-in
// pipeline, which asks for a second factor when one is needed and says
// where the browser goes: the authorization request, like a password
// sign-in, or the account page.
func (h *Handler) federatedSignIn(w http.ResponseWriter, r *http.Request, res federation.Result) {
	in := signin.FirstFactor{UserID: res.UserID, Method: signin.Federated, IDP: res.Provider.ID}
	if res.Purpose == storage.FederationLogin {
		in.AuthRequestID = res.AuthRequestID
	}
	// A provider that vouched for the customer's email marked it verified
	// already (federation.Service's rules); any other customer whose email
	// is unconfirmed confirms it first, as after a password.
	if !h.verifiedFirst(w, r, &in, h.language(w, r, ""), h.appActions(r.Context(), in.AuthRequestID)) {
		return
	}
	next, err := h.opts.SignIn.FirstFactor(r.Context(), h.browser(w, r), in)
	if err == nil && next.Step == signin.Done && res.Purpose != storage.FederationLogin && res.ConfirmedLink != "" {
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "linked")
		return
	}
	h.goNext(w, r, next, err)
}

// federationFailed sends the customer back where they started with a
// friendly message: a cancel or a provider's failure is never a server
// error. A callback that matches no sign-in of this browser gets an error
// page, since there is nowhere safe to go back to.
func (h *Handler) federationFailed(w http.ResponseWriter, r *http.Request, res federation.Result, err error) {
	var why, reason string
	switch {
	case errors.Is(err, federation.ErrCancelled):
		why, reason = "cancelled", "cancelled"
	case errors.Is(err, federation.ErrUpstream):
		why, reason = "failed", "upstream_failed"
	case errors.Is(err, federation.ErrLinkedElsewhere):
		why, reason = "conflict", "linked_elsewhere"
	case errors.Is(err, federation.ErrSignUpClosed):
		why, reason = "closed", "signup_closed"
	case errors.Is(err, federation.ErrState):
		h.log.InfoContext(r.Context(), "a provider's callback matched no sign-in of this browser")
		h.Error(w, r, http.StatusBadRequest, "error.federation_state")
		return
	default:
		h.serverError(w, r, "finishing a federated sign-in", err)
		return
	}
	if res.Purpose != storage.FederationLink {
		h.signInFailed(r.Context(), res.UserID, "", reason, accounts.SignIn{
			Method: accounts.MethodFederated, Provider: res.Provider.ID, ClientID: h.clientOf(r.Context(), res.AuthRequestID),
		})
	}
	switch res.Purpose {
	case storage.FederationLogin:
		h.redirectWith(w, r, h.URL(PathLogin)+"?"+url.Values{"auth": {res.AuthRequestID}}.Encode(), fedParam, why)
	case storage.FederationLink:
		h.redirectWith(w, r, h.URL(PathAccount), noticeParam, "link_"+why)
	default:
		h.redirectWith(w, r, h.URL(PathAccountLogin), fedParam, why)
	}
}

// clientOf returns the client of the pending authorization request, for
// the sign-in's event; "" for none (the account page) or one gone.
func (h *Handler) clientOf(ctx context.Context, authID string) string {
	if authID == "" {
		return ""
	}
	ar, err := h.opts.Store.GetAuthRequest(ctx, authID)
	if err != nil {
		return ""
	}
	return ar.ClientID
}

// redirectWith redirects to target (a path, perhaps with a query) with one
// more query parameter.
func (h *Handler) redirectWith(w http.ResponseWriter, r *http.Request, target, name, value string) {
	sep := "?"
	if u, err := url.Parse(target); err == nil && u.RawQuery != "" {
		sep = "&"
	}
	http.Redirect(w, r, target+sep+url.Values{name: {value}}.Encode(), http.StatusSeeOther)
}

// freshnessAsked reads the app's prompt=login and max_age from a pending
// authorization request's form, to pass them on to the provider the
// customer signs in with (OpenID Connect Core §3.1.2.1): Gatehouse's
// auth_time is the time of this sign-in, so the provider must not answer
// from an older session of its own where it can be told not to.
func freshnessAsked(form string) (reauthenticate bool, maxAge string) {
	v, err := url.ParseQuery(form)
	if err != nil {
		return false, ""
	}
	reauthenticate = slices.Contains(strings.Fields(v.Get("prompt")), "login")
	if n, err := strconv.ParseUint(v.Get("max_age"), 10, 32); err == nil {
		maxAge = strconv.FormatUint(n, 10)
	}
	return reauthenticate, maxAge
}
