package templates_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/templates"
)

// writeTree writes files (slash paths) under a new folder.
func writeTree(t *testing.T, files map[string]string) string {
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

func TestOverlayReplacesAndAddsFiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"login.html":         "{{define \"title\"}}mine{{end}}",
		"mail/layout.txt":    "{{define \"layout\"}}my mail{{end}}",
		"static/acme.svg":    "<svg/>",
		"locales/it.json":    "{}",
		".DS_Store":          "ignored",
		"static/.hidden.swp": "ignored",
	})
	tree, err := templates.Overlay(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"login.html": "mine", "mail/layout.txt": "my mail", "static/acme.svg": "<svg/>"} {
		b, err := fs.ReadFile(tree, name)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v %q", name, err, b)
		}
	}
	consent, err := fs.ReadFile(tree, "consent.html")
	embedded, _ := fs.ReadFile(templates.FS(), "consent.html")
	if err != nil || string(consent) != string(embedded) {
		t.Errorf("consent.html is not the embedded one: %v", err)
	}
	locales, err := fs.Glob(tree, "locales/*.json")
	if err != nil || len(locales) != 7 || locales[3] != "locales/fr.json" || locales[4] != "locales/it.json" {
		t.Errorf("locales %v %v", locales, err)
	}
	if _, err := fs.Stat(tree, ".DS_Store"); err == nil {
		t.Error("a dot file is in the tree")
	}

	static, err := templates.StaticFSOf(tree)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServerFS(static))
	defer srv.Close()
	for _, name := range []string{"acme.svg", "gatehouse.css"} {
		res, err := http.Get(srv.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: %d %d bytes", name, res.StatusCode, len(body))
		}
	}
}

func TestOverlayRefusesFilesThatReplaceNothing(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"a misspelt page":            {"logn.html": "x"},
		"a page in a new folder":     {"pages/login.html": "x"},
		"a mail template nobody has": {"mail/welcome.html": "x"},
		"a locale that is not JSON":  {"locales/it.yaml": "x"},
		"a folder in static":         {"static/img/logo.svg": "x"},
		"a file where a folder is":   {"mail": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, files)
			_, err := templates.Overlay(dir)
			if err == nil {
				t.Fatal("accepted")
			}
			for p := range files {
				if !strings.Contains(err.Error(), filepath.FromSlash(p)) {
					t.Errorf("the error %q does not name %s", err, p)
				}
			}
		})
	}
	if _, err := templates.Overlay(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing folder is accepted")
	}
}
