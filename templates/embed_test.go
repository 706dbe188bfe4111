package templates_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/templates"
)

func TestFSHoldsEveryPageAndLocale(t *testing.T) {
	for _, name := range []string{
		"layout.html", "login.html", "consent.html", "error.html", "logout_confirm.html", "logged_out.html", "account.html",
		"static/gatehouse.css", "static/favicon.svg",
		"locales/en.json", "locales/es.json", "locales/fr.json", "locales/de.json", "locales/pt-BR.json", "locales/ja.json",
		"mail/layout.html", "mail/layout.txt", "mail/password_reset.html", "mail/password_reset.txt",
	} {
		if _, err := fs.Stat(templates.FS(), name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStaticFSServesTheStylesheetOnly(t *testing.T) {
	static, err := templates.StaticFS()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(templates.StaticPrefix, http.StripPrefix(templates.StaticPrefix, http.FileServerFS(static)))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, templates.StaticPrefix+"gatehouse.css", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("gatehouse.css: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, p := range []string{"login.html", "../login.html", "locales/en.json"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, templates.StaticPrefix+p, nil))
		if rec.Code == http.StatusOK {
			t.Errorf("%s is served", p)
		}
	}
}

func TestStylesheetNeedsNothingFromOutside(t *testing.T) {
	css, err := fs.ReadFile(templates.FS(), "static/gatehouse.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"@import", "url(", "http:", "https:", "@font-face"} {
		if strings.Contains(string(css), bad) {
			t.Errorf("gatehouse.css contains %q", bad)
		}
	}
	if len(css) > 24<<10 {
		t.Errorf("gatehouse.css is %d bytes; keep it small", len(css))
	}
}
