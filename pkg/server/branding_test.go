package server_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/server"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
	"github.com/gatehouse-id/gatehouse/templates"
)

// brandedApp is a client with the RFC 7591 metadata the pages show.
func brandedApp() clients.Spec {
	spec := webClient(false)
	spec.LogoURI, spec.ClientURI = "https://photos.example/logo.png", "https://photos.example/"
	spec.PolicyURI, spec.TOSURI = "https://photos.example/privacy", "https://photos.example/terms"
	return spec
}

// withBranding sets every branding setting; the custom stylesheet is
// written to a temporary file.
func withBranding(t *testing.T) func(*config.Config) {
	css := filepath.Join(t.TempDir(), "acme.css")
	if err := os.WriteFile(css, []byte(".card { border-radius: 6px; }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.BrandingProductName, c.BrandingLogoURL, c.BrandingPrimaryColor = "Acme ID", "https://cdn.acme.example/logo.svg", "#0b7a4b"
		c.BrandingCustomCSSFile, c.BrandingPrivacyURL, c.TermsURL = css, "https://acme.example/privacy", "https://acme.example/terms"
	}
}

// cspDirective returns one directive of a page's CSP.
func cspDirective(h http.Header, name string) string {
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, name+" ") {
			return d
		}
	}
	return ""
}

func TestBrandedPages(t *testing.T) {
	s := startServerWith(t, gormstoretest.SQLiteURL(t), withBranding(t))
	createAlice(t, s)
	rp := newRelyingParty(t, s, brandedApp())

	login := rp.start(newFlow())
	if got := cspDirective(login.Header, "img-src"); got != "img-src 'self' https://cdn.acme.example https://photos.example" {
		t.Errorf("login %s: want the configured and the registered logos' origins only", got)
	}
	for _, want := range []string{
		`<span class="brand-name">Acme ID</span>`, `src="https://photos.example/logo.png"`,
		`href="https://acme.example/privacy"`, `href="https://acme.example/terms"`, `data-reveal="password"`,
	} {
		if !strings.Contains(login.Body, want) {
			t.Errorf("the sign-in page lacks %s", want)
		}
	}

	consent := rp.login(login, "alice@example.com", alicePassword)
	for _, want := range []string{`href="https://photos.example/privacy"`, `href="https://photos.example/terms"`, `src="https://photos.example/logo.png"`} {
		if !strings.Contains(consent.Body, want) {
			t.Errorf("the consent page lacks %s", want)
		}
	}

	theme := regexpFind(t, login.Body, `href="(/static/theme\.css\?v=[0-9a-f]+)"`)
	res, err := http.Get(s.URL + theme)
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(string(css), "--accent: #0b7a4b;") || !strings.Contains(string(css), ".card { border-radius: 6px; }") {
		t.Errorf("theme.css: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), css)
	}

	confirm, err := rp.browser.Get(s.URL + "/oauth2/logout?client_id=" + url.QueryEscape(rp.reg.Client.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(confirm.Body, `<a class="btn btn-secondary" id="logout-cancel" href="https://photos.example/">`) {
		t.Errorf("the sign-out confirmation has no Cancel back to the app's client_uri: %.2000s", confirm.Body)
	}
}

func TestClientsStoredWithHTTPPageURLsStillLoad(t *testing.T) {
	s := startServer(t, gormstoretest.SQLiteURL(t))
	createAlice(t, s)
	spec := webClient(false)
	spec.LogoURI = "http://photos.example/logo.png"
	if _, err := s.Services().Clients.Create(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "logo_uri") {
		t.Fatalf("a new client with an http logo_uri: %v", err)
	}
	// Stored before the rule: as the development switch lets it in.
	old, err := clients.NewService(s.Store(), s.Secrets(), clients.Options{AllowHTTPPageURLs: true}).Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	rp := newRelyingParty(t, s, webClient(false))
	rp.reg, rp.oauth.ClientID, rp.oauth.ClientSecret = old, old.Client.ID, old.Secret
	page := rp.start(newFlow())
	if page.Status != http.StatusOK {
		t.Fatalf("the old client's sign-in page: %d", page.Status)
	}
	if got := rp.signIn(newFlow()); got.Get("code") == "" {
		t.Fatalf("no code for the old client: %v", got)
	}
}

// overrideDir writes a template override folder: files are slash paths.
func overrideDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		where := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(where), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(where, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// embedded returns an embedded template file with old replaced by new.
func embedded(t *testing.T, name, old, new string) string {
	t.Helper()
	b, err := fs.ReadFile(templates.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", name, old)
	}
	return strings.Replace(string(b), old, new, 1)
}

func TestTemplatesDir(t *testing.T) {
	t.Run("overrides pages, mails and messages", func(t *testing.T) {
		dir := overrideDir(t, map[string]string{
			"login.html":      embedded(t, "login.html", "<h1>", `<p id="acme-banner">Acme</p><h1>`),
			"locales/en.json": embedded(t, "locales/en.json", `"login.title": "Sign in"`, `"login.title": "Sign in to Acme"`),
			"static/acme.svg": `<svg xmlns="http://www.w3.org/2000/svg"/>`,
		})
		s := startServerWith(t, gormstoretest.SQLiteURL(t), func(c *config.Config) { c.TemplatesDir = dir })
		rp := newRelyingParty(t, s, webClient(true))
		page := rp.start(newFlow())
		if !strings.Contains(page.Body, `<p id="acme-banner">Acme</p>`) || !strings.Contains(page.Body, "Sign in to Acme") {
			t.Errorf("the override is not shown: %.1500s", page.Body)
		}
		res, err := http.Get(s.URL + "/static/acme.svg")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("a new static file: %d", res.StatusCode)
		}
	})

	for name, tc := range map[string]struct {
		files map[string]string
		want  []string
	}{
		"a page that does not parse":     {map[string]string{"consent.html": `{{define "content"}}{{if}}{{end}}`}, []string{"consent.html"}},
		"a page naming a field it lacks": {map[string]string{"logged_out.html": embedded(t, "logged_out.html", "{{define \"content\" -}}", "{{define \"content\" -}}{{.Page.Nope}}")}, []string{"logged_out"}},
		"a mail that does not parse":     {map[string]string{"mail/password_reset.html": "{{define \"content\"}}{{end"}, []string{"mail/password_reset.html"}},
		"a locale missing a message":     {map[string]string{"locales/de.json": `{"language.name": "Deutsch"}`}, []string{"de"}},
		"a file that replaces nothing":   {map[string]string{"logon.html": "x"}, []string{"logon.html"}},
	} {
		t.Run("stops the start on "+name, func(t *testing.T) {
			dir := overrideDir(t, tc.files)
			cfg := config.Default()
			cfg.DatabaseURL, cfg.Secret, cfg.TemplatesDir = gormstoretest.SQLiteURL(t), "test-secret-test-secret-test-secret-0123", dir
			srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = srv.Close()
				t.Fatal("the server started")
			}
			for _, want := range append(tc.want, "GATEHOUSE_TEMPLATES_DIR") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error %q does not name %s", err, want)
				}
			}
		})
	}
}

// regexpFind returns the first group of pattern in body.
func regexpFind(t *testing.T, body, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %.1500s", pattern, body)
	}
	return m[1]
}
