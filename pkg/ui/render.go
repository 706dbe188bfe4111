package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/templates"
)

// requiredPages are the pages every deployment must have; NewRenderer fails
// without any of them.
func requiredPages() []string {
	return []string{"login", "consent", "error", "logout_confirm", "logged_out", "account", "mfa", "mfa_enrol", "recovery_codes",
		"signup", "check_email", "verify_email", "reset_request", "reset_password", "email_code",
		"account_profile", "account_password", "account_sessions", "account_apps", "account_data", "account_message", "passkeys"}
}

// layoutFile holds the shared frame; each page file fills its blocks.
const layoutFile = "layout.html"

// rootTemplate is the template Render executes: the frame, which calls the
// page's "title" and "content".
const rootTemplate = "layout"

// LangParam is the query parameter the language switcher's links set.
const LangParam = "lang"

// View is what every page template gets.
type View struct {
	// Lang is the page language (a BCP 47 tag the bundle supports; Render
	// falls back to English for any other).
	Lang string
	// Languages is the language switcher (see Renderer.LanguageLinks).
	Languages []LangLink
	// CSRF is the form token, posted back as the hidden field "csrf".
	CSRF string
	// RequestID is shown on the error page for support.
	RequestID string
	// Title is an already translated page title, if the page wants one; by
	// default each template titles itself.
	Title string
	// Page is one of the *Page structs of views.go.
	Page any
	// FormActions are extra origins ("https://app.example.com") the page's
	// forms may lead to. Browsers apply the CSP form-action directive to the
	// redirect that follows a form post too, so a page whose form ends in a
	// redirect to a client (login, consent, logout) must list the client's
	// redirect origin here. Entries that are not plain http(s) origins are
	// dropped.
	FormActions []string
	// Brand is the deployment's branding; Render sets it.
	Brand Brand
	// App is the app the page is for, nil for none. Its logo's origin is
	// added to the page's img-src, so the page may show it.
	App *App
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	// Tag is the BCP 47 tag, Name the language's name in that language.
	Tag, Name string
	// URL is the current page with the language set.
	URL string
	// Current marks the language of the page.
	Current bool
}

// RendererOption configures NewRenderer.
type RendererOption func(*rendererConfig)

type rendererConfig struct {
	staticPrefix string
	branding     Branding
}

// WithStaticPrefix sets the URL path under which the server serves
// templates.StaticFS(), e.g. "/auth/static/" for an issuer at
// https://id.example.com/auth. The default is templates.StaticPrefix.
func WithStaticPrefix(prefix string) RendererOption {
	return func(c *rendererConfig) {
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		c.staticPrefix = prefix
	}
}

// Renderer renders the hosted pages. It is safe for concurrent use.
type Renderer struct {
	bundle *i18n.Bundle
	// pages holds, per language, each page's template set with "t" bound to
	// that language; it is only read after NewRenderer.
	pages map[string]map[string]*template.Template
	bufs  sync.Pool
	// brand is every page's View.Brand; imageOrigins the origins of its
	// logo and icon, for img-src.
	brand        Brand
	imageOrigins []string
	// theme is the generated stylesheet, nil for none.
	theme []byte
}

// NewRenderer parses every page template from fsys (templates.FS()) and
// binds the function "t" (translate: {{t "id"}} or
// {{t "id" (dict "Scope" .Scope)}}) to each language of bundle, once. It
// fails at once if a required page (login, consent, error, logout_confirm,
// logged_out, info) or the layout is missing or does not parse. Pages link
// the static files (the stylesheet) under templates.StaticPrefix unless
// WithStaticPrefix says otherwise.
func NewRenderer(fsys fs.FS, bundle *i18n.Bundle, opts ...RendererOption) (*Renderer, error) {
	if bundle == nil {
		return nil, errors.New("ui: NewRenderer: nil bundle")
	}
	cfg := rendererConfig{staticPrefix: templates.StaticPrefix}
	for _, o := range opts {
		o(&cfg)
	}
	assets, err := assetURLs(fsys, cfg.staticPrefix)
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		// "t" is rebound per language below; this one only lets pages parse.
		"t":       func(id string, _ ...map[string]any) string { return id },
		"dict":    dictFunc,
		"initial": initialFunc,
		"asset": func(name string) string {
			if u, ok := assets[name]; ok {
				return u
			}
			return cfg.staticPrefix + name
		},
	}
	if _, err := fs.Stat(fsys, layoutFile); err != nil {
		return nil, fmt.Errorf("ui: layout template: %w", err)
	}
	pages := requiredPages()
	base := make(map[string]*template.Template, len(pages))
	for _, page := range pages {
		t, err := parsePage(fsys, page, funcs)
		if err != nil {
			return nil, err
		}
		base[page] = t
	}

	theme, themeURL, err := newTheme(cfg.branding, cfg.staticPrefix)
	if err != nil {
		return nil, err
	}
	b := cfg.branding
	r := &Renderer{
		bundle: bundle,
		pages:  make(map[string]map[string]*template.Template, len(bundle.Languages())),
		bufs:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
		brand: Brand{
			ProductName: b.ProductName, LogoURL: b.LogoURL, FaviconURL: b.FaviconURL,
			PrivacyURL: b.PrivacyURL, TermsURL: b.TermsURL, ThemeURL: themeURL,
		},
		imageOrigins: []string{b.LogoURL, b.FaviconURL},
		theme:        theme,
	}
	for _, l := range bundle.Languages() {
		bound := template.FuncMap{"t": translateFunc(bundle, l.Tag)}
		set := make(map[string]*template.Template, len(base))
		for page, t := range base {
			c, err := t.Clone()
			if err != nil {
				return nil, fmt.Errorf("ui: template %s for %s: %w", page, l.Tag, err)
			}
			c = c.Funcs(bound)
			// Execute once with sample data: this escapes the template now
			// rather than on the first request, and catches a template that
			// names a field its page struct lacks.
			for i, sample := range samplePages(page) {
				// The empty sample goes with no branding and no app, the
				// filled one with both.
				sampleBrand, sampleApp := Brand{}, (*App)(nil)
				if i > 0 {
					sampleBrand = Brand{ProductName: "Acme", LogoURL: "/static/logo.svg", FaviconURL: "/static/icon.png",
						PrivacyURL: "https://acme.example/privacy", TermsURL: "https://acme.example/terms", ThemeURL: "/static/theme.css"}
					sampleApp = &App{Name: "App", LogoURI: "https://app.example/logo.png", URI: "https://app.example"}
				}
				if err := c.ExecuteTemplate(io.Discard, rootTemplate, View{Lang: l.Tag, Page: sample, Brand: sampleBrand, App: sampleApp}); err != nil {
					return nil, fmt.Errorf("ui: page %q (%s) fails on sample data: %w", page, l.Tag, err)
				}
			}
			set[page] = c
		}
		r.pages[l.Tag] = set
	}
	if _, ok := r.pages[i18n.English]; !ok {
		return nil, errors.New("ui: the bundle has no English")
	}
	return r, nil
}

// samplePages returns an empty and a filled page struct for page, to try a
// template on at start-up.
func samplePages(page string) []any {
	switch page {
	case "login":
		return []any{LoginPage{}, LoginPage{
			Action: "/login", AuthRequestID: "a", Email: "a@example.com", ErrorID: "login.error.throttled", ErrorData: map[string]any{"Minutes": 2},
			ClientName: "App", ForgotPasswordURL: "/forgot", RegisterURL: "/register",
			ProvidersAction: "/login/federated", Providers: []ProviderButton{{ID: "google", Name: "Google"}},
			Link:    &LinkPrompt{Token: "t", Provider: "Google", Email: "a@example.com"},
			Passkey: &PasskeyForm{Begin: "/login/passkey/begin", Action: "/login/passkey"},
		}}
	case "consent":
		return []any{ConsentPage{}, ConsentPage{
			Action: "/consent", AuthRequestID: "a", ClientName: "App", LogoURI: "https://app.example/logo.png",
			UserEmail: "a@example.com", Scopes: []ScopeItem{{Scope: "openid", MessageID: "scope.openid"}},
			PolicyURI: "https://app.example/privacy", TOSURI: "https://app.example/terms",
		}}
	case "error":
		return []any{ErrorPage{}, ErrorPage{TitleID: "error.title", MessageID: "error.generic"}, ErrorPage{
			TitleID: "error.title", MessageID: "error.request.unregistered_redirect_uri",
			MessageData: map[string]any{"ClientName": "App"}, RedirectURI: "https://app.example/cb",
		}}
	case "logout_confirm":
		return []any{LogoutConfirmPage{}, LogoutConfirmPage{Action: "/logout", ClientName: "App", Hidden: map[string]string{"state": "s"}}}
	case "account":
		return []any{AccountPage{}, AccountPage{
			Name: "A", Email: "a@example.com", HasPassword: true, LastMethod: true, NoticeID: "account.notice.linked", ErrorID: "account.error.link_failed",
			Identities: []AccountIdentity{{Provider: "google", Name: "Google", Email: "a@gmail.example", CanUnlink: true}},
			Available:  []ProviderButton{{ID: "github", Name: "GitHub"}}, LinkAction: "/account/link", UnlinkAction: "/account/unlink",
			MFA: true, RecoveryCodesLeft: 3, EnrolURL: "/account/mfa", RemoveMFAAction: "/account/mfa/remove", RecoveryAction: "/account/mfa/recovery",
			PasskeysURL: "/account/passkeys", SecondFactor: true,
		}, AccountPage{SecondFactor: true, RecoveryCodesLeft: 10, EnrolURL: "/account/mfa", RecoveryAction: "/account/mfa/recovery"}}
	case "logged_out":
		return []any{LoggedOutPage{}}
	case "mfa":
		return []any{MFAPage{}, MFAPage{Action: "/login/mfa", Pending: "p", ErrorID: "login.error.throttled", ErrorData: map[string]any{"Minutes": 2}, Recovery: true, StepUp: true,
			Passkey: &PasskeyForm{Begin: "/login/mfa/passkey/begin", Action: "/login/mfa"}, RememberDays: 30, Remember: true}}
	case "mfa_enrol":
		return []any{EnrolPage{}, EnrolPage{Action: "/login/mfa/enrol", Pending: "p", QRURL: "/login/mfa/enrol/qr?pending=p", Secret: "ABCD EFGH", Required: true,
			ErrorID: "mfa.error.invalid", CancelURL: "/account"}}
	case "passkeys":
		return []any{PasskeysPage{}, PasskeysPage{
			Passkeys: []PasskeyRow{{ID: "c1", Name: "Laptop", Created: "2026-01-02", LastUsed: "2026-02-03", Synced: true}, {ID: "c2", Name: "Key", Created: "2026-01-02"}},
			Register: PasskeyForm{Begin: "/account/passkeys/begin", Action: "/account/passkeys"}, RenameAction: "/account/passkeys/rename",
			RemoveAction: "/account/passkeys/remove", BackURL: "/account", NoticeID: "passkeys.notice.added", ErrorID: "passkeys.error.failed",
		}}
	case "recovery_codes":
		return []any{RecoveryCodesPage{}, RecoveryCodesPage{Codes: []string{"abcd-efgh-jkmn"}, ContinueURL: "/account"}}
	}
	if samples := selfServiceSamples(page); samples != nil {
		return samples
	}
	return accountSamplePages(page)
}

// parsePage parses the layout and one page's file into a template set.
func parsePage(fsys fs.FS, page string, funcs template.FuncMap) (*template.Template, error) {
	file := page + ".html"
	if _, err := fs.Stat(fsys, file); err != nil {
		return nil, fmt.Errorf("ui: page %q: %w", page, err)
	}
	t, err := template.New(page).Funcs(funcs).ParseFS(fsys, layoutFile, file)
	if err != nil {
		return nil, fmt.Errorf("ui: parse page %q: %w", page, err)
	}
	for _, name := range []string{rootTemplate, "title", "content"} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("ui: page %q: no template %q defined", page, name)
		}
	}
	return t, nil
}

// assetURLs maps each file of fsys's static/ directory to its URL under
// prefix with a content hash, so the server may let browsers cache it for
// long.
func assetURLs(fsys fs.FS, prefix string) (map[string]string, error) {
	urls := make(map[string]string)
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == "static" {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		urls[name] = prefix + name + "?v=" + hex.EncodeToString(sum[:5])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: static files: %w", err)
	}
	return urls, nil
}

// translateFunc returns the "t" template function for lang.
func translateFunc(bundle *i18n.Bundle, lang string) func(string, ...map[string]any) string {
	return func(id string, data ...map[string]any) string {
		var d map[string]any
		if len(data) > 0 {
			d = data[0]
		}
		return bundle.Translate(lang, id, d)
	}
}

// dictFunc builds the data map of a message: dict "Key" value "Key2" value2.
func dictFunc(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments (%d)", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %d is %T, not a string", i/2, pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// initialFunc returns the first letter of s, upper-cased, for an avatar.
func initialFunc(s string) string {
	for _, c := range strings.TrimSpace(s) {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return string(unicode.ToUpper(c))
		}
	}
	if c, _ := utf8.DecodeRuneInString(s); c != utf8.RuneError {
		return string(c)
	}
	return "?"
}

// Render executes page ("login", "consent", ...) into a buffer first, so a
// template error never sends half a page, then writes it with status, the
// HTML content type, Cache-Control: no-store and a Content-Security-Policy
// that allows only same-origin styles and scripts, images from the page's
// own origin, the configured logo's and icon's and v.App's logo's, forms
// to the page's origin and v.FormActions, and no framing. On a template error it writes a
// minimal 500 page and returns the error.
func (r *Renderer) Render(w http.ResponseWriter, status int, page string, v View) error {
	set, ok := r.pages[v.Lang]
	if !ok {
		v.Lang = i18n.English
		set = r.pages[i18n.English]
	}
	t, ok := set[page]
	if !ok {
		err := fmt.Errorf("ui: render: unknown page %q", page)
		r.fail(w, v)
		return err
	}
	v.Brand = r.brand
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, rootTemplate, v); err != nil {
		r.fail(w, v)
		return fmt.Errorf("ui: render %s (%s): %w", page, v.Lang, err)
	}
	images := r.imageOrigins
	if v.App != nil && v.App.LogoURI != "" {
		images = append(slices.Clip(images), v.App.LogoURI)
	}
	setPageHeaders(w.Header(), v.FormActions, images)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("ui: write %s: %w", page, err)
	}
	return nil
}

// fail writes the minimal 500 page, in the page's language.
func (r *Renderer) fail(w http.ResponseWriter, v View) {
	title := html.EscapeString(r.bundle.Translate(v.Lang, "error.title", nil))
	msg := html.EscapeString(r.bundle.Translate(v.Lang, "error.server", nil))
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="`)
	b.WriteString(html.EscapeString(v.Lang))
	b.WriteString(`"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>`)
	b.WriteString(title)
	b.WriteString(`</title><h1>`)
	b.WriteString(title)
	b.WriteString(`</h1><p>`)
	b.WriteString(msg)
	b.WriteString(`</p>`)
	if v.RequestID != "" {
		b.WriteString(`<p><small>`)
		b.WriteString(html.EscapeString(r.bundle.Translate(v.Lang, "error.reference",
			map[string]any{"RequestID": v.RequestID})))
		b.WriteString(`</small></p>`)
	}
	b.WriteString("\n")
	setPageHeaders(w.Header(), nil, nil)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte(b.String())) // the client is gone if this fails; the caller logs the render error
}

// setPageHeaders sets the headers of every rendered page.
func setPageHeaders(h http.Header, formActions, images []string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy(formActions, images))
	h.Set("X-Content-Type-Options", "nosniff")
}

// contentSecurityPolicy builds the pages' policy. With default-src 'none'
// and script-src 'self', only the server's own script files run (the
// passkey ceremonies, static/passkeys.js), never inline script; they may
// fetch from the server alone (connect-src 'self'). Images come from the
// server and from the origins of images (the configured logo and icon,
// the app's logo_uri) and nowhere else.
func contentSecurityPolicy(formActions, images []string) string {
	var b strings.Builder
	b.WriteString("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'")
	writeOrigins(&b, images)
	b.WriteString("; form-action 'self'")
	writeOrigins(&b, formActions)
	b.WriteString("; frame-ancestors 'none'; base-uri 'none'")
	return b.String()
}

// writeOrigins appends the distinct http(s) origins of urls, each after a
// space; anything else (a path on this server, "") adds nothing.
func writeOrigins(b *strings.Builder, urls []string) {
	seen := make(map[string]bool, len(urls))
	for _, a := range urls {
		o, ok := formOrigin(a)
		if !ok || seen[o] {
			continue
		}
		seen[o] = true
		b.WriteByte(' ')
		b.WriteString(o)
	}
}

// Theme returns the generated stylesheet (the primary colour and the
// custom CSS of WithBranding), served at View.Brand.ThemeURL; nil when
// the branding needs none.
func (r *Renderer) Theme() []byte { return r.theme }

// formOrigin returns the scheme://host[:port] of an http(s) URL, or false if s
// is anything else (so nothing can smuggle a directive into the policy).
func formOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	host := strings.ToLower(u.Host)
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return "", false
		}
	}
	return u.Scheme + "://" + host, true
}

// LanguageLinks builds the switcher for the current request URL: the same
// path and query with the query parameter "lang" set to each language. The
// links are relative to the host (path and query only). lang is the page
// language, marked Current.
func (r *Renderer) LanguageLinks(current *url.URL, lang string) []LangLink {
	langs := r.bundle.Languages()
	links := make([]LangLink, 0, len(langs))
	var base url.URL
	var q url.Values
	if current != nil {
		base = url.URL{Path: current.Path, RawPath: current.RawPath}
		q = current.Query()
	} else {
		q = url.Values{}
	}
	// Keep the links on this host: a path such as "//evil.example" would
	// otherwise make a scheme-relative link to another site.
	if base.Path != "" && (!strings.HasPrefix(base.Path, "/") || strings.HasPrefix(base.Path, "//") || strings.HasPrefix(base.Path, "/\\")) {
		base.Path = "/" + strings.TrimLeft(base.Path, "/\\")
		base.RawPath = ""
	}
	for _, l := range langs {
		q.Set(LangParam, l.Tag)
		u := base
		u.RawQuery = q.Encode()
		links = append(links, LangLink{Tag: l.Tag, Name: l.Name, URL: u.String(), Current: l.Tag == lang})
	}
	return links
}
