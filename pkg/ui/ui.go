// Package ui serves Gatehouse's hosted pages: sign-in, consent, and the
// pages the protocol shows a person (errors, sign-out). Handlers parse the
// form, call identity, session and the store, and render a template; the
// protocol decisions stay in pkg/oidc.
package ui

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse-id/gatehouse/internal/outage"
	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/federation"
	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/pkg/mfa"
	"github.com/gatehouse-id/gatehouse/pkg/passkey"
	"github.com/gatehouse-id/gatehouse/pkg/ratelimit"
	"github.com/gatehouse-id/gatehouse/pkg/selfservice"
	"github.com/gatehouse-id/gatehouse/pkg/session"
	"github.com/gatehouse-id/gatehouse/pkg/signin"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Paths of the pages, relative to the issuer.
const (
	PathLogin   = "/login"
	PathConsent = "/consent"
	PathStatic  = "/static/"
)

// Options configure a Handler.
type Options struct {
	Store    storage.Store
	Identity *identity.Service
	Sessions *session.Manager
	Renderer *Renderer
	Bundle   *i18n.Bundle
	// Static serves /static/.
	Static fs.FS
	// BasePath is the issuer's path ("" for none).
	BasePath string
	// ResumePath is where a finished page sends the browser back to the
	// authorization endpoint; "?auth=ID" is appended.
	ResumePath string
	// SignOutPath is the end-session endpoint the account page links to.
	SignOutPath string
	Logger      *slog.Logger
	// Federation signs customers in with upstream identity providers and
	// keeps their links (the sign-in buttons, the account page); nil for
	// none.
	Federation *federation.Service
	// Throttle limits password guessing; nil for none.
	Throttle *ratelimit.Limiter
	// Outage counts and logs the pages answered "try again in a moment"
	// because the store could not answer; nil for none.
	Outage *outage.Reporter
	// Accounts records sign-ins and consents with their events (and ends
	// sessions, through Sessions).
	Accounts *accounts.Service
	// SignIn is the sign-in pipeline every way in ends in: it decides the
	// factors still needed and starts the session.
	SignIn *signin.Service
	// MFA manages the customer's second factors from the account page.
	MFA *mfa.Service
	// SelfService runs sign-up, email verification, password reset and
	// email codes; nil mounts none of their pages.
	SelfService         *selfservice.Service
	SelfServiceSettings SelfService
	// Issuer is the issuer's absolute URL, which the links in mails start
	// with.
	Issuer string
	// EmailChangeTTL is how long the link that confirms a new email
	// address works.
	EmailChangeTTL time.Duration
	// Passkeys registers passkeys and checks them, as a first or second
	// factor; nil when passkeys are off.
	Passkeys *passkey.Service
	// HintNamesOther reports whether a pending authorization request's
	// id_token_hint names another customer than userID (pkg/oidc's
	// Provider.HintNamesOther): the sign-in page then asks for a sign-in
	// instead of stepping up the browser's session. nil checks nothing.
	HintNamesOther func(ctx context.Context, ar storage.AuthRequest, userID string) bool
	// Places names the approximate place of a session's address on the
	// account page (pkg/geoip); nil shows only the address.
	Places Places
}

// Places names where an address is, roughly ("City, Country"), in the
// page's language; "" when unknown.
type Places interface {
	Place(ip, lang string) string
}

// Handler serves the hosted pages.
type Handler struct {
	opts Options
	log  *slog.Logger
}

// New returns a Handler.
func New(opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: opts, log: log}
}

// Register mounts the pages on the router.
func (h *Handler) Register(r *mux.Router) {
	b := h.opts.BasePath
	r.HandleFunc(b+PathLogin, h.login).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc(b+PathConsent, h.consent).Methods(http.MethodGet, http.MethodPost)
	h.registerMFA(r)
	h.registerFederation(r)
	h.registerSelfService(r)
	h.registerAccountSelfService(r)
	h.registerPasskeys(r)
	if theme := h.opts.Renderer.Theme(); theme != nil {
		r.Handle(b+PathStatic+themeName, serveTheme(theme)).Methods(http.MethodGet, http.MethodHead)
	}
	r.PathPrefix(b + PathStatic).Handler(http.StripPrefix(b+PathStatic, staticHandler(h.opts.Static)))
}

func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// URL returns the absolute path of a page.
func (h *Handler) URL(page string) string { return h.opts.BasePath + page }

// language picks the page language: an explicit choice from the switcher
// (remembered in a cookie), then ui_locales, then the cookie, then
// Accept-Language (OpenID Connect Core §3.1.2.1 for ui_locales).
func (h *Handler) language(w http.ResponseWriter, r *http.Request, uiLocales string) string {
	if choice := r.URL.Query().Get("lang"); choice != "" {
		lang := h.opts.Bundle.Negotiate(choice, "", "")
		h.opts.Sessions.SetLanguage(w, lang)
		return lang
	}
	return h.opts.Bundle.Negotiate(uiLocales, h.opts.Sessions.Language(r), r.Header.Get("Accept-Language"))
}

// render writes a page with the common view data. formActions are the
// origins a form's submission may end up at through redirects (the app's
// redirect URI after sign-in or consent): browsers apply the page's
// form-action policy to those redirects too.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, lang, csrf string, data any, formActions ...string) {
	h.renderApp(w, r, status, page, lang, csrf, data, nil, formActions...)
}

// renderApp is render for a page about an app: it shows the app's logo
// (View.App).
func (h *Handler) renderApp(w http.ResponseWriter, r *http.Request, status int, page, lang, csrf string, data any, app *App, formActions ...string) {
	v := View{
		Lang:        lang,
		Languages:   h.opts.Renderer.LanguageLinks(pageURL(r), lang),
		CSRF:        csrf,
		RequestID:   requestID(w),
		Page:        data,
		FormActions: formActions,
		App:         app,
	}
	if err := h.opts.Renderer.Render(w, status, page, v); err != nil {
		h.log.ErrorContext(r.Context(), "rendering page", "page", page, "error", err.Error())
	}
}

// pageURL is the address that shows the page again: the request's, plus,
// when a form was posted (a sign-in with a wrong password), the form's
// parameters that name what the page is for, so that switching language
// keeps the sign-in going.
func pageURL(r *http.Request) *url.URL {
	if r.Method != http.MethodPost {
		return r.URL
	}
	u := *r.URL
	q := u.Query()
	for _, name := range []string{"auth", linkParam} {
		if v := r.PostForm.Get(name); v != "" && !q.Has(name) {
			q.Set(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return &u
}

// requestID reads the id the server's middleware put on the response.
func requestID(w http.ResponseWriter) string { return w.Header().Get("X-Request-Id") }

// Error shows a friendly error page (oidc.Pages).
func (h *Handler) Error(w http.ResponseWriter, r *http.Request, status int, messageID string) {
	lang := h.language(w, r, r.URL.Query().Get("ui_locales"))
	h.render(w, r, status, "error", lang, "", ErrorPage{TitleID: "error.title", MessageID: messageID})
}

// RequestRefused explains why an authorization request is refused here
// rather than at the app (oidc.Pages): messageID's words filled with data,
// and the redirect URI the request sent ("RedirectURI" in data), as text.
func (h *Handler) RequestRefused(w http.ResponseWriter, r *http.Request, messageID string, data map[string]string) {
	lang := h.language(w, r, r.Form.Get("ui_locales"))
	page := ErrorPage{TitleID: "error.title", MessageID: messageID, MessageData: map[string]any{}, RedirectURI: data["RedirectURI"]}
	for k, v := range data {
		page.MessageData[k] = v
	}
	h.render(w, r, http.StatusBadRequest, "error", lang, "", page)
}

// LogoutConfirm asks whether to sign out (oidc.Pages).
func (h *Handler) LogoutConfirm(w http.ResponseWriter, r *http.Request, clientName string, hidden map[string]string, formActions ...string) {
	lang := h.language(w, r, r.Form.Get("ui_locales"))
	csrf := hidden["csrf"]
	rest := map[string]string{}
	for k, v := range hidden {
		if k != "csrf" {
			rest[k] = v
		}
	}
	if l := r.Form.Get("ui_locales"); l != "" {
		rest["ui_locales"] = l
	}
	page := LogoutConfirmPage{Action: r.URL.Path, ClientName: clientName, Hidden: rest}
	var app *App
	if id := hidden["client_id"]; id != "" {
		// The app that asked: its logo, and Cancel back to its client_uri.
		if c, err := h.opts.Store.LookupClient(r.Context(), id); err == nil {
			app = appOf(c, clientName)
			page.CancelURL = c.ClientURI
		}
	}
	h.renderApp(w, r, http.StatusOK, "logout_confirm", lang, csrf, page, app, formActions...)
}

// appOf is the App of a client, named name (its name in the page's
// language).
func appOf(c storage.Client, name string) *App {
	return &App{Name: name, LogoURI: c.LogoURI, URI: c.ClientURI}
}

// LoggedOut says the customer is signed out (oidc.Pages).
func (h *Handler) LoggedOut(w http.ResponseWriter, r *http.Request) {
	lang := h.language(w, r, r.Form.Get("ui_locales"))
	h.render(w, r, http.StatusOK, "logged_out", lang, "", LoggedOutPage{})
}

// pendingRequest loads the authorization request a page works on, checking
// that this browser started it.
func (h *Handler) pendingRequest(w http.ResponseWriter, r *http.Request, id string) (storage.AuthRequest, url.Values, error) {
	a, err := h.opts.Store.GetAuthRequest(r.Context(), id)
	if err != nil {
		return a, nil, err
	}
	if a.BrowserBinding != h.opts.Sessions.Device(w, r) {
		return a, nil, storage.ErrNotFound
	}
	form, err := url.ParseQuery(a.Form)
	if err != nil {
		return a, nil, err
	}
	return a, form, nil
}

// redirectOrigin returns the origin of the app's redirect URI for a pending
// request: the one it named, or its client's only registered one.
func redirectOrigin(client storage.Client, form url.Values) string {
	raw := form.Get("redirect_uri")
	if raw == "" && len(client.RedirectURIs) == 1 {
		raw = client.RedirectURIs[0]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// resumeURL is where the browser goes back to the authorization endpoint.
func (h *Handler) resumeURL(authID string, extra url.Values) string {
	q := url.Values{"auth": {authID}}
	for k, v := range extra {
		q[k] = v
	}
	return h.opts.ResumePath + "?" + q.Encode()
}

// serverError answers a page whose work failed on err. When the store could
// not answer (storage.ErrUnavailable) the customer sees the localized "try
// again in a moment" page with 503 and Retry-After, counted and logged once
// per burst by the outage reporter; any other failure is logged with msg
// and attrs and shown as the server-error page (500).
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, msg string, err error, attrs ...any) {
	if outage.Is(err) {
		h.opts.Outage.Report(r.Context(), h.pageName(r), err)
		outage.SetRetryAfter(w)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	h.log.ErrorContext(r.Context(), msg, append(attrs, "error", err.Error())...)
	h.Error(w, r, http.StatusInternalServerError, "error.server")
}

// pageName names the page of a request for the outage metric: login
// (including the providers' sign-in), consent or account.
func (h *Handler) pageName(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, h.opts.BasePath)
	switch {
	case strings.HasPrefix(p, PathAccount):
		return "account"
	case strings.HasPrefix(p, PathConsent):
		return "consent"
	default:
		return "login"
	}
}

func (h *Handler) expired(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, storage.ErrNotFound) {
		h.serverError(w, r, "reading authorization request", err)
		return
	}
	h.Error(w, r, http.StatusBadRequest, "error.expired_request")
}
