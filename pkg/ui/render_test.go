package ui_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/templates"
)

const csrf = "csrf-token-7f3a9c"

func newRenderer(t testing.TB) (*ui.Renderer, *i18n.Bundle) {
	t.Helper()
	b, err := i18n.New(templates.FS())
	if err != nil {
		t.Fatalf("i18n.New: %v", err)
	}
	r, err := ui.NewRenderer(templates.FS(), b)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r, b
}

// englishIDs are the message IDs, none of which may show on a page.
func englishIDs(t *testing.T) []string {
	t.Helper()
	data, err := fs.ReadFile(templates.FS(), "locales/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}

type pageCase struct {
	name   string
	page   string
	status int
	data   any
}

func pageCases() []pageCase {
	return []pageCase{
		{"login", "login", http.StatusOK, ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_01JX3Q", ClientName: "Acme Travel",
			ForgotPasswordURL: "/password/forgot", RegisterURL: "/register",
		}},
		{"login with error", "login", http.StatusUnauthorized, &ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_01JX3Q", Email: "ana.souza@example.com",
			ErrorID: "login.error.invalid", ClientName: "Acme Travel",
			ForgotPasswordURL: "/password/forgot", RegisterURL: "/register",
		}},
		{"login bare", "login", http.StatusBadRequest, ui.LoginPage{
			Action: "/login", AuthRequestID: "ar_2", ErrorID: "login.error.required",
		}},
		{"consent", "consent", http.StatusOK, ui.ConsentPage{
			Action: "/consent", AuthRequestID: "ar_01JX3Q", ClientName: "Acme Travel",
			LogoURI: "https://cdn.acme.example/logo.png", UserEmail: "ana.souza@example.com",
			Scopes: []ui.ScopeItem{
				{Scope: "openid", MessageID: "scope.openid"},
				{Scope: "profile", MessageID: "scope.profile"},
				{Scope: "email", MessageID: "scope.email"},
				{Scope: "address", MessageID: "scope.address"},
				{Scope: "phone", MessageID: "scope.phone"},
				{Scope: "offline_access", MessageID: "scope.offline_access"},
				{Scope: "payments:read", MessageID: "scope.other"},
			},
		}},
		{"consent without logo", "consent", http.StatusOK, ui.ConsentPage{
			Action: "/consent", AuthRequestID: "ar_3", ClientName: "<script>alert(1)</script>",
			Scopes: []ui.ScopeItem{{Scope: "openid", MessageID: "scope.openid"}},
		}},
		{"error", "error", http.StatusBadRequest, ui.ErrorPage{TitleID: "error.title", MessageID: "error.invalid_request"}},
		{"error expired", "error", http.StatusBadRequest, ui.ErrorPage{TitleID: "error.title", MessageID: "error.expired_request"}},
		{"error csrf", "error", http.StatusForbidden, ui.ErrorPage{TitleID: "error.title", MessageID: "error.csrf"}},
		{"error not found", "error", http.StatusNotFound, ui.ErrorPage{TitleID: "error.title", MessageID: "error.not_found"}},
		{"error server", "error", http.StatusInternalServerError, ui.ErrorPage{TitleID: "error.title", MessageID: "error.server"}},
		{"error defaults", "error", http.StatusBadRequest, ui.ErrorPage{}},
		{"logout confirm", "logout_confirm", http.StatusOK, ui.LogoutConfirmPage{
			Action: "/oauth2/logout", ClientName: "Acme Travel",
			Hidden: map[string]string{"state": "s-42", "id_token_hint": "eyJhbGciOi.x.y", "csrf": "forged"},
		}},
		{"logout confirm bare", "logout_confirm", http.StatusOK, ui.LogoutConfirmPage{Action: "/oauth2/logout"}},
		{"logged out", "logged_out", http.StatusOK, ui.LoggedOutPage{}},
	}
}

func TestRenderEveryPageInEveryLanguage(t *testing.T) {
	r, b := newRenderer(t)
	ids := englishIDs(t)
	leak := regexp.MustCompile(`\b(login|consent|scope|error|info|logout|logged_out|language)\.[a-z_.]+\b`)
	current, err := url.Parse("/oauth2/auth?client_id=acme&ui_locales=fr")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range b.Languages() {
		for _, pc := range pageCases() {
			t.Run(l.Tag+"/"+pc.name, func(t *testing.T) {
				v := ui.View{
					Lang:      l.Tag,
					Languages: r.LanguageLinks(current, l.Tag),
					CSRF:      csrf,
					RequestID: "req-0192a7",
					Page:      pc.data,
				}
				rec := httptest.NewRecorder()
				if err := r.Render(rec, pc.status, pc.page, v); err != nil {
					t.Fatalf("Render: %v", err)
				}
				if rec.Code != pc.status {
					t.Errorf("status %d, want %d", rec.Code, pc.status)
				}
				checkHeaders(t, rec.Header())
				body := rec.Body.String()
				for _, id := range ids {
					if strings.Contains(body, id) {
						t.Errorf("message ID %q leaks into the page", id)
					}
				}
				if m := leak.FindString(body); m != "" {
					t.Errorf("untranslated message ID %q in the page", m)
				}
				for _, bad := range []string{"<no value>", "%!", "<script>"} {
					if strings.Contains(body, bad) {
						t.Errorf("page contains %q", bad)
					}
				}
				doc, err := html.Parse(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				checkDocument(t, doc, l.Tag, len(b.Languages()))
				if pc.page == "error" && !strings.Contains(body, "req-0192a7") {
					t.Error("the error page does not show the request id")
				}
				if !strings.Contains(body, b.Translate(l.Tag, "language.name", nil)) {
					t.Error("the switcher does not name the page language")
				}
			})
		}
	}
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	// Scripts from the server itself only (static/passkeys.js): never
	// inline, never another origin.
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows scripts other than the server's own", csp)
	}
}

// checkDocument checks what every page must have.
func checkDocument(t *testing.T, doc *html.Node, lang string, languages int) {
	t.Helper()
	for _, s := range find(doc, "script") {
		if !strings.HasPrefix(attr(s, "src"), "/static/") || strings.TrimSpace(text(s)) != "" {
			t.Errorf("a script not from the server's static files, or inline: src=%q", attr(s, "src"))
		}
	}
	if got := attr(find(doc, "html")[0], "lang"); got != lang {
		t.Errorf(`<html lang=%q>, want %q`, got, lang)
	}
	titles := find(doc, "title")
	if len(titles) != 1 || strings.TrimSpace(text(titles[0])) == "" {
		t.Error("no page title")
	}
	if len(find(doc, "h1")) != 1 {
		t.Error("want exactly one h1")
	}
	// The one script of a page without passkeys is the show-password
	// button's, on a page with a password field.
	for _, s := range find(doc, "script") {
		if !strings.HasPrefix(attr(s, "src"), "/static/reveal.js?v=") || !hasPasswordField(doc) {
			t.Errorf("page has a script: %s", attr(s, "src"))
		}
	}
	for _, link := range find(doc, "link") {
		if href := attr(link, "href"); !strings.HasPrefix(href, "/static/") {
			t.Errorf("link to %q: only same-origin static files", href)
		}
	}
	var stylesheet bool
	for _, link := range find(doc, "link") {
		stylesheet = stylesheet || attr(link, "rel") == "stylesheet" && strings.HasPrefix(attr(link, "href"), "/static/gatehouse.css?v=")
	}
	if !stylesheet {
		t.Error("no versioned /static/gatehouse.css")
	}
	for _, n := range all(doc) {
		if n.Type == html.ElementNode && attr(n, "style") != "" {
			t.Errorf("inline style on <%s>: the CSP forbids it", n.Data)
		}
	}

	// Every form posts the CSRF token.
	for _, form := range find(doc, "form") {
		if attr(form, "method") != "post" {
			t.Errorf("form method %q", attr(form, "method"))
		}
		var tokens int
		for _, in := range find(form, "input") {
			if attr(in, "name") == "csrf" {
				tokens++
				if attr(in, "type") != "hidden" || attr(in, "value") != csrf {
					t.Errorf("csrf field %v", in.Attr)
				}
			}
		}
		if tokens != 1 {
			t.Errorf("form has %d csrf fields, want 1", tokens)
		}
	}

	// Every visible input has a label.
	labels := map[string]bool{}
	for _, l := range find(doc, "label") {
		if strings.TrimSpace(text(l)) == "" {
			t.Error("empty label")
		}
		labels[attr(l, "for")] = true
	}
	for _, in := range find(doc, "input") {
		if attr(in, "type") == "hidden" {
			continue
		}
		if id := attr(in, "id"); id == "" || !labels[id] {
			t.Errorf("input %q has no label", attr(in, "name"))
		}
	}
	for _, img := range find(doc, "img") {
		if strings.TrimSpace(attr(img, "alt")) == "" {
			t.Error("img without alt text")
		}
	}

	// The language switcher.
	navs := find(doc, "nav")
	if len(navs) != 1 || attr(navs[0], "aria-label") == "" {
		t.Fatal("want one labelled nav, the language switcher")
	}
	links := find(navs[0], "a")
	if len(links) != languages {
		t.Errorf("switcher has %d links, want %d", len(links), languages)
	}
	var current []string
	for _, a := range links {
		if attr(a, "aria-current") != "" {
			current = append(current, attr(a, "hreflang"))
		}
	}
	if len(current) != 1 || current[0] != lang {
		t.Errorf("switcher marks %v current, want [%s]", current, lang)
	}
}

func TestLoginForm(t *testing.T) {
	r, _ := newRenderer(t)
	render := func(p ui.LoginPage) *html.Node {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := r.Render(rec, http.StatusOK, "login", ui.View{Lang: "en", CSRF: csrf, Page: p}); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	inputs := func(doc *html.Node) map[string]*html.Node {
		m := map[string]*html.Node{}
		for _, in := range find(doc, "input") {
			m[attr(in, "name")] = in
		}
		return m
	}

	doc := render(ui.LoginPage{Action: "/login", AuthRequestID: "ar_9", ClientName: "Acme"})
	in := inputs(doc)
	email, password := in["email"], in["password"]
	if email == nil || password == nil || in["auth"] == nil {
		t.Fatalf("login form fields: %v", in)
	}
	if attr(email, "type") != "email" || attr(email, "autocomplete") != "email" || !has(email, "autofocus") || !has(email, "required") {
		t.Errorf("email field %v", email.Attr)
	}
	if attr(password, "type") != "password" || attr(password, "autocomplete") != "current-password" || has(password, "autofocus") {
		t.Errorf("password field %v", password.Attr)
	}
	if attr(in["auth"], "value") != "ar_9" || attr(in["auth"], "type") != "hidden" {
		t.Errorf("auth field %v", in["auth"].Attr)
	}
	if attr(find(doc, "form")[0], "action") != "/login" {
		t.Error("form action")
	}
	if got := text(find(doc, "main")[0]); !strings.Contains(got, "to continue to Acme") {
		t.Errorf("no client name in %q", got)
	}
	if len(find(doc, "[role=alert]")) != 0 || has(email, "aria-describedby") {
		t.Error("an error shows without ErrorID")
	}

	doc = render(ui.LoginPage{
		Action: "/login", Email: "ana@example.com", ErrorID: "login.error.invalid",
		ForgotPasswordURL: "/forgot", RegisterURL: "/register",
	})
	in = inputs(doc)
	if attr(in["email"], "value") != "ana@example.com" || has(in["email"], "autofocus") || !has(in["password"], "autofocus") {
		t.Errorf("pre-filled email: email %v password %v", in["email"].Attr, in["password"].Attr)
	}
	alerts := find(doc, "[role=alert]")
	if len(alerts) != 1 || !strings.Contains(text(alerts[0]), "Incorrect email or password") {
		t.Fatal("no error alert")
	}
	for _, name := range []string{"email", "password"} {
		if attr(in[name], "aria-describedby") != attr(alerts[0], "id") || attr(in[name], "aria-invalid") != "true" {
			t.Errorf("%s is not linked to the error: %v", name, in[name].Attr)
		}
	}
	hrefs := map[string]bool{}
	for _, a := range find(doc, "a") {
		hrefs[attr(a, "href")] = true
	}
	if !hrefs["/forgot"] || !hrefs["/register"] {
		t.Errorf("self-service links missing: %v", hrefs)
	}
}

func TestConsentForm(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	err := r.Render(rec, http.StatusOK, "consent", ui.View{Lang: "en", CSRF: csrf, Page: ui.ConsentPage{
		Action: "/consent", AuthRequestID: "ar_1", ClientName: "Acme", LogoURI: "https://acme.example/l.png",
		UserEmail: "ana@example.com",
		Scopes:    []ui.ScopeItem{{Scope: "email", MessageID: "scope.email"}, {Scope: "orders", MessageID: "scope.other"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := text(doc)
	for _, want := range []string{"Acme wants to:", "See your email address", "Use the “orders” permission", "ana@example.com", "Remember my choice"} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	img := find(doc, "img")
	if len(img) != 1 || attr(img[0], "src") != "https://acme.example/l.png" || attr(img[0], "alt") != "Acme logo" {
		t.Errorf("logo %v", img)
	}
	var scopes []*html.Node
	for _, ul := range find(doc, "ul") {
		if attr(ul, "class") == "scopes" {
			scopes = find(ul, "li")
		}
	}
	if len(scopes) != 2 {
		t.Errorf("%d scope items, want 2", len(scopes))
	}
	forms := find(doc, "form")
	if len(forms) != 1 {
		t.Fatalf("%d forms", len(forms))
	}
	decisions := map[string]bool{}
	for _, b := range find(forms[0], "button") {
		if attr(b, "name") == "decision" && attr(b, "type") == "submit" {
			decisions[attr(b, "value")] = true
		}
	}
	if !decisions["allow"] || !decisions["deny"] || len(decisions) != 2 {
		t.Errorf("decision buttons %v", decisions)
	}
	var remember *html.Node
	for _, in := range find(forms[0], "input") {
		if attr(in, "name") == "remember" {
			remember = in
		}
	}
	if remember == nil || attr(remember, "type") != "checkbox" || attr(remember, "value") != "1" || !has(remember, "checked") {
		t.Errorf("remember checkbox %v", remember)
	}
}

func TestLogoutConfirmForm(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	err := r.Render(rec, http.StatusOK, "logout_confirm", ui.View{Lang: "de", CSRF: csrf, Page: &ui.LogoutConfirmPage{
		Action: "/oauth2/logout", ClientName: "Acme",
		Hidden: map[string]string{"state": `a"b<c`, "post_logout_redirect_uri": "https://acme.example/bye"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range find(doc, "input") {
		got[attr(in, "name")] = attr(in, "value")
	}
	if got["state"] != `a"b<c` || got["post_logout_redirect_uri"] != "https://acme.example/bye" || got["csrf"] != csrf {
		t.Errorf("hidden fields %v", got)
	}
	buttons := find(doc, "button")
	if len(buttons) != 1 || attr(buttons[0], "name") != "confirm" || attr(buttons[0], "value") != "yes" {
		t.Errorf("confirm button %v", buttons)
	}
	if !strings.Contains(text(doc), "Acme möchte Sie abmelden") {
		t.Error("no German message naming the client")
	}
}

func TestRenderUnsupportedLanguageFallsBackToEnglish(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	if err := r.Render(rec, http.StatusOK, "logged_out", ui.View{Lang: "xx", Page: ui.LoggedOutPage{}}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "You’re signed out") {
		t.Errorf("not English:\n%s", body)
	}
}

func TestRenderUnknownPage(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	if err := r.Render(rec, http.StatusOK, "nope", ui.View{Lang: "fr"}); err == nil {
		t.Fatal("no error")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "Un problème est survenu de notre côté") {
		t.Errorf("500 page not in French: %s", rec.Body.String())
	}
}

// copyFS returns the real templates as a MapFS, to break one file.
func copyFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(templates.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS(), p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRendererFailsWithoutARequiredTemplate(t *testing.T) {
	_, b := newRenderer(t)
	for _, file := range []string{"login.html", "consent.html", "error.html", "logout_confirm.html", "logged_out.html", "account.html", "layout.html"} {
		t.Run(file, func(t *testing.T) {
			fsys := copyFS(t)
			delete(fsys, file)
			_, err := ui.NewRenderer(fsys, b)
			if err == nil {
				t.Fatal("NewRenderer succeeded")
			}
			if !strings.Contains(err.Error(), strings.TrimSuffix(file, ".html")) {
				t.Errorf("error %q does not name %s", err, file)
			}
		})
	}
}

func TestNewRendererFailsOnABadTemplate(t *testing.T) {
	_, b := newRenderer(t)
	for name, src := range map[string]string{
		"syntax":     `{{define "title"}}x{{end}}{{define "content"}}{{if}}{{end}}`,
		"no content": `{{define "title"}}x{{end}}`,
		"no func":    `{{define "title"}}x{{end}}{{define "content"}}{{nosuchfunc}}{{end}}`,
		"no field":   `{{define "title"}}x{{end}}{{define "content"}}{{.Page.NoSuchField}}{{end}}`,
		"bad escape": `{{define "title"}}x{{end}}{{define "content"}}<a href="{{if .Page.ClientName}}x{{else}}"{{end}}>{{end}}`,
	} {
		t.Run(name, func(t *testing.T) {
			fsys := copyFS(t)
			fsys["consent.html"] = &fstest.MapFile{Data: []byte(src)}
			if _, err := ui.NewRenderer(fsys, b); err == nil || !strings.Contains(err.Error(), "consent") {
				t.Errorf("NewRenderer error %v", err)
			}
		})
	}
}

func TestRenderTemplateErrorSendsNoHalfPage(t *testing.T) {
	_, b := newRenderer(t)
	fsys := copyFS(t)
	fsys["error.html"] = &fstest.MapFile{Data: []byte(`{{define "title"}}x{{end}}{{define "content"}}<p>half</p>{{if eq .Page.TitleID "boom"}}{{.Page.NoSuchField}}{{end}}{{end}}`)}
	r, err := ui.NewRenderer(fsys, b)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = r.Render(rec, http.StatusOK, "error", ui.View{Lang: "es", RequestID: "req-9", Page: ui.ErrorPage{TitleID: "boom"}})
	if err == nil {
		t.Fatal("no error")
	}
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || strings.Contains(body, "half") {
		t.Errorf("status %d body %q", rec.Code, body)
	}
	if !strings.Contains(body, `lang="es"`) || !strings.Contains(body, "req-9") {
		t.Errorf("500 page %q", body)
	}
	checkHeaders(t, rec.Header())
}

func TestFormActionOrigins(t *testing.T) {
	r, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	err := r.Render(rec, http.StatusOK, "logged_out", ui.View{Lang: "en", Page: ui.LoggedOutPage{}, FormActions: []string{
		"https://App.Example.com/callback?code=1",
		"https://app.example.com/other",
		"http://localhost:8080/cb",
		"javascript:alert(1)",
		"https://evil.example; script-src *",
		"https://user:pw@evil2.example/",
		"/relative",
	}})
	if err != nil {
		t.Fatal(err)
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' https://app.example.com http://localhost:8080;") {
		t.Errorf("CSP %q", csp)
	}
	for _, bad := range []string{"evil", "javascript", "relative"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q contains %q", csp, bad)
		}
	}
}

func TestWithStaticPrefix(t *testing.T) {
	_, b := newRenderer(t)
	r, err := ui.NewRenderer(templates.FS(), b, ui.WithStaticPrefix("/auth/static"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := r.Render(rec, http.StatusOK, "logged_out", ui.View{Lang: "en", Page: ui.LoggedOutPage{}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Body.String(), `href="/auth/static/gatehouse.css?v=`) {
		t.Errorf("stylesheet not under /auth/static/:\n%s", rec.Body.String())
	}
}

func TestLanguageLinks(t *testing.T) {
	r, b := newRenderer(t)
	u, err := url.Parse("https://id.example.com/oauth2/auth?client_id=acme&scope=openid+email&lang=de")
	if err != nil {
		t.Fatal(err)
	}
	links := r.LanguageLinks(u, "de")
	if len(links) != len(b.Languages()) {
		t.Fatalf("%d links", len(links))
	}
	for i, l := range links {
		if l.Tag != b.Languages()[i].Tag || l.Name != b.Languages()[i].Name {
			t.Errorf("link %d: %+v", i, l)
		}
		if l.Current != (l.Tag == "de") {
			t.Errorf("link %s current=%v", l.Tag, l.Current)
		}
		got, err := url.Parse(l.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got.Host != "" || got.Path != "/oauth2/auth" {
			t.Errorf("link %q leaves the page", l.URL)
		}
		q := got.Query()
		if q.Get("lang") != l.Tag || q.Get("client_id") != "acme" || q.Get("scope") != "openid email" || len(q["lang"]) != 1 {
			t.Errorf("link %q query %v", l.URL, q)
		}
	}
	if links[0].URL != "/oauth2/auth?client_id=acme&lang=en&scope=openid+email" {
		t.Errorf("English link %q", links[0].URL)
	}

	for _, raw := range []string{"//evil.example/x", `/\evil.example/x`} {
		u := &url.URL{Path: raw}
		for _, l := range r.LanguageLinks(u, "en") {
			if strings.HasPrefix(l.URL, "//") || strings.HasPrefix(l.URL, `/\`) || strings.HasPrefix(l.URL, "/%5C") {
				t.Errorf("LanguageLinks(%q) gives %q", raw, l.URL)
			}
		}
	}
	if got := r.LanguageLinks(nil, "fr")[3]; got.URL != "?lang=fr" || !got.Current {
		t.Errorf("nil URL: %+v", got)
	}
}

func TestRenderConcurrently(t *testing.T) {
	r, b := newRenderer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for j, l := range b.Languages() {
				for _, pc := range pageCases() {
					rec := httptest.NewRecorder()
					if err := r.Render(rec, pc.status, pc.page, ui.View{Lang: l.Tag, CSRF: csrf, Page: pc.data}); err != nil {
						errs <- err
						return
					}
					if want := `<html lang="` + l.Tag + `">`; !strings.Contains(rec.Body.String(), want) {
						errs <- errors.New("worker " + string(rune('0'+i)) + " lang " + string(rune('0'+j)) + ": wrong language")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPreview writes every page in every language as a static HTML file, for
// looking at the design in a browser:
//
//	GATEHOUSE_PREVIEW_DIR=/tmp/preview go test -run TestPreview ./pkg/ui
//
// The stylesheet is copied next to the pages and linked relatively.
func TestPreview(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_PREVIEW_DIR")
	if dir == "" {
		t.Skip("set GATEHOUSE_PREVIEW_DIR to write the pages")
	}
	r, b := newRenderer(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	static, err := templates.StaticFS()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "static"), static); err != nil && !errors.Is(err, fs.ErrExist) {
		t.Fatal(err)
	}
	href := regexp.MustCompile(`"/static/([^"?]+)\?v=[0-9a-f]+"`)
	current, err := url.Parse("/oauth2/auth")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range b.Languages() {
		for _, pc := range pageCases() {
			rec := httptest.NewRecorder()
			v := ui.View{Lang: l.Tag, Languages: r.LanguageLinks(current, l.Tag), CSRF: csrf, RequestID: "01J9ZK4M7Q2W8E5R3T6Y", Page: pc.data}
			if err := r.Render(rec, pc.status, pc.page, v); err != nil {
				t.Fatal(err)
			}
			page := href.ReplaceAllString(rec.Body.String(), `"static/$1"`)
			name := strings.ReplaceAll(pc.name, " ", "_") + "." + l.Tag + ".html"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func BenchmarkRenderConsent(b *testing.B) {
	r, _ := newRenderer(b)
	var page any
	for _, pc := range pageCases() {
		if pc.name == "consent" {
			page = pc.data
		}
	}
	v := ui.View{Lang: "fr", CSRF: csrf, Page: page}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if err := r.Render(rec, http.StatusOK, "consent", v); err != nil {
			b.Fatal(err)
		}
	}
}

// HTML helpers.

func all(n *html.Node) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		out = append(out, c)
	}
	return out
}

// find returns the elements below n named tag, or, for "[role=alert]", with
// that role.
func find(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for _, c := range all(n) {
		if c.Type != html.ElementNode {
			continue
		}
		if tag == "[role=alert]" && attr(c, "role") == "alert" || c.Data == tag {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func has(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	for _, c := range append([]*html.Node{n}, all(n)...) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// hasPasswordField reports whether the document has an input of type
// password.
func hasPasswordField(doc *html.Node) bool {
	for _, in := range find(doc, "input") {
		if attr(in, "type") == "password" {
			return true
		}
	}
	return false
}
