package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/templates"
)

func newBrandedRenderer(t *testing.T, b ui.Branding) *ui.Renderer {
	t.Helper()
	bundle, err := i18n.New(templates.FS())
	if err != nil {
		t.Fatal(err)
	}
	r, err := ui.NewRenderer(templates.FS(), bundle, ui.WithBranding(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// imgSrc returns the img-src directive of a page's CSP.
func imgSrc(h http.Header) string {
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "img-src ") {
			return d
		}
	}
	return ""
}

func TestBrandingOnEveryPage(t *testing.T) {
	r := newBrandedRenderer(t, ui.Branding{
		ProductName: "Acme ID", LogoURL: "https://cdn.acme.example/brand/logo.svg", FaviconURL: "/static/acme.ico",
		PrimaryColor: "#0b7a4b", CustomCSS: []byte(".card { border-radius: 4px; }"),
		PrivacyURL: "https://acme.example/privacy", TermsURL: "https://acme.example/terms",
	})
	rec := httptest.NewRecorder()
	if err := r.Render(rec, http.StatusOK, "logged_out", ui.View{Lang: "de", Page: ui.LoggedOutPage{}}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	for _, want := range []string{
		` · Acme ID</title>`,
		`<link rel="icon" href="/static/acme.ico">`,
		`<img class="brand-logo" src="https://cdn.acme.example/brand/logo.svg" alt="" height="40"`,
		`<span class="brand-name">Acme ID</span>`,
		`<a href="https://acme.example/privacy" rel="noopener noreferrer" target="_blank">Datenschutz</a>`,
		`<a href="https://acme.example/terms" rel="noopener noreferrer" target="_blank">Nutzungsbedingungen</a>`,
		`<link rel="stylesheet" href="/static/theme.css?v=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if got := imgSrc(rec.Header()); got != "img-src 'self' https://cdn.acme.example" {
		t.Errorf("%s, want the logo's origin and nothing broader", got)
	}

	css := string(r.Theme())
	for _, want := range []string{"--accent: #0b7a4b;", "@media (prefers-color-scheme: dark)", ".card { border-radius: 4px; }"} {
		if !strings.Contains(css, want) {
			t.Errorf("theme.css lacks %q:\n%s", want, css)
		}
	}
}

func TestAppPagesShowTheAppsLogoAndAllowOnlyItsOrigin(t *testing.T) {
	r := newBrandedRenderer(t, ui.Branding{LogoURL: "/static/logo.svg"})
	app := &ui.App{Name: "Photo Album", LogoURI: "https://photos.example/logo.png", URI: "https://photos.example"}
	for _, tc := range []struct {
		name    string
		app     *ui.App
		img     string
		logo    string
		generic bool
	}{
		{"an app with a logo", app, "img-src 'self' https://photos.example", `src="https://photos.example/logo.png"`, false},
		{"an app without one: the deployment's logo heads the page", &ui.App{Name: "Bare"}, "img-src 'self'", `src="/static/logo.svg"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := r.Render(rec, http.StatusOK, "login", ui.View{Lang: "en", App: tc.app, Page: ui.LoginPage{Action: "/login", ClientName: tc.app.Name}})
			if err != nil {
				t.Fatal(err)
			}
			body := rec.Body.String()
			if got := imgSrc(rec.Header()); got != tc.img {
				t.Errorf("%s, want %s", got, tc.img)
			}
			if !strings.Contains(body, tc.logo) {
				t.Errorf("no %s", tc.logo)
			}
			if strings.Contains(body, `class="glyph"`) != tc.generic {
				t.Errorf("generic icon shown: %v, want %v", !tc.generic, tc.generic)
			}
		})
	}

	plain, _ := newRenderer(t)
	rec := httptest.NewRecorder()
	if err := plain.Render(rec, http.StatusOK, "login", ui.View{Lang: "en", Page: ui.LoginPage{Action: "/login"}}); err != nil {
		t.Fatal(err)
	}
	if body := rec.Body.String(); !strings.Contains(body, `class="glyph"`) || strings.Contains(body, `class="brand`) {
		t.Error("with nothing configured, the page shows the generic icon and no brand")
	}
	if plain.Theme() != nil {
		t.Error("a theme without branding")
	}
}

func TestThemeKeepsButtonsAndLinksReadable(t *testing.T) {
	for _, tc := range []struct{ color, lightAccent, onAccent string }{
		{"#1d4ed8", "--accent: #1d4ed8;", "--on-accent: #ffffff;"},
		// Too pale for links on white: darkened until they read, with
		// white text on buttons; kept as it is on the dark scheme.
		{"#ffd400", "--accent: #887100;", "--on-accent: #ffffff;"},
	} {
		r := newBrandedRenderer(t, ui.Branding{PrimaryColor: tc.color})
		css := string(r.Theme())
		if !strings.Contains(css, tc.lightAccent) {
			t.Errorf("%s: %s", tc.color, css)
		}
		light, dark, _ := strings.Cut(css, "@media")
		if tc.color == "#ffd400" && !strings.Contains(dark, "--accent: #ffd400;") {
			t.Errorf("%s is changed on the dark surface, where it reads:\n%s", tc.color, dark)
		}
		if !strings.Contains(light, tc.onAccent) {
			t.Errorf("%s: button text: %s", tc.color, light)
		}
	}
}
