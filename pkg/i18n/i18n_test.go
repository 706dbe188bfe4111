package i18n_test

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/templates"
)

// readLocales reads every shipped message file as plain JSON, independently
// of the package under test.
func readLocales(t *testing.T) map[string]map[string]string {
	t.Helper()
	fsys := templates.FS()
	names, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]map[string]string, len(names))
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[strings.TrimSuffix(path.Base(name), ".json")] = m
	}
	return out
}

func TestEveryLocaleHasEveryEnglishKey(t *testing.T) {
	locales := readLocales(t)
	en, ok := locales["en"]
	if !ok {
		t.Fatal("no locales/en.json")
	}
	for _, want := range []string{"es", "fr", "de", "pt-BR", "ja"} {
		if _, ok := locales[want]; !ok {
			t.Errorf("locale %s is missing", want)
		}
	}
	for tag, msgs := range locales {
		for id := range en {
			if _, ok := msgs[id]; !ok {
				t.Errorf("locale %s lacks %q, which English has", tag, id)
			}
		}
		for id := range msgs {
			if _, ok := en[id]; !ok {
				t.Errorf("locale %s has %q, which English lacks", tag, id)
			}
		}
	}
}

func TestTranslationsUseEnglishPlaceholders(t *testing.T) {
	field := regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)
	fields := func(s string) []string {
		var out []string
		for _, m := range field.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	locales := readLocales(t)
	for tag, msgs := range locales {
		for id, en := range locales["en"] {
			if got, want := fields(msgs[id]), fields(en); !slices.Equal(got, want) {
				t.Errorf("%s %q uses %v, English uses %v", tag, id, got, want)
			}
		}
	}
}

func TestGoCodeMessageIDs(t *testing.T) {
	b := newBundle(t)
	for _, id := range []string{
		"login.error.invalid", "login.error.required",
		"error.title", "error.generic", "error.invalid_request", "error.not_found",
		"error.expired_request", "error.csrf", "error.server",
		"scope.openid", "scope.profile", "scope.email", "scope.address", "scope.phone",
		"scope.offline_access", "scope.other",
	} {
		if !b.Has(id) {
			t.Errorf("English lacks %q", id)
		}
	}
	if b.Has("no.such.message") {
		t.Error(`Has("no.such.message") = true`)
	}
}

func newBundle(t *testing.T) *i18n.Bundle {
	t.Helper()
	b, err := i18n.New(templates.FS())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestLanguages(t *testing.T) {
	got := newBundle(t).Languages()
	want := []i18n.Language{
		{Tag: "en", Name: "English"},
		{Tag: "de", Name: "Deutsch"},
		{Tag: "es", Name: "Español"},
		{Tag: "fr", Name: "Français"},
		{Tag: "ja", Name: "日本語"},
		{Tag: "pt-BR", Name: "Português (Brasil)"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Languages() = %v, want %v", got, want)
	}
}

func TestNegotiate(t *testing.T) {
	b := newBundle(t)
	tests := []struct {
		name                         string
		uiLocales, cookie, acceptLng string
		want                         string
	}{
		{"nothing", "", "", "", "en"},
		{"ui_locales wins over cookie and header", "fr", "de", "ja", "fr"},
		{"cookie wins over header", "", "de", "ja", "de"},
		{"header", "", "", "ja", "ja"},
		{"ui_locales list, first supported", "zh-Hant ja de", "", "", "ja"},
		{"unsupported ui_locales fall through to cookie", "zh nl", "es", "fr", "es"},
		{"unsupported ui_locales and cookie fall through to header", "zh", "it", "pt", "pt-BR"},
		{"q-values order the header", "", "", "de;q=0.5, fr;q=0.9, es;q=0.1", "fr"},
		{"q=0 means not acceptable", "", "", "fr;q=0, de;q=0.2", "de"},
		{"unsupported first, supported later", "", "", "zh-CN, nl;q=0.9, es;q=0.8", "es"},
		{"equal q keeps header order", "", "", "ja;q=0.7, de;q=0.7", "ja"},
		{"wildcard alone", "", "", "*", "en"},
		{"pt goes to pt-BR", "pt", "", "", "pt-BR"},
		{"pt-PT goes to pt-BR", "pt-PT", "", "", "pt-BR"},
		{"es-MX goes to es", "", "", "es-MX,es;q=0.9", "es"},
		{"ja-JP goes to ja", "", "ja-JP", "", "ja"},
		{"de-CH goes to de", "", "", "de-CH", "de"},
		{"fr-CA goes to fr", "", "", "fr-CA", "fr"},
		{"en-GB stays English", "", "", "en-GB, fr;q=0.5", "en"},
		{"case-insensitive", "PT-br", "", "", "pt-BR"},
		{"garbage ui_locales", "!!! $$$", "", "", "en"},
		{"garbage cookie", "", "<script>", "", "en"},
		{"garbage header", "", "", ";;;,,,q=abc", "en"},
		{"bad q skips the entry only", "", "", "fr;q=high, de;q=0.3", "de"},
		{"bad entry skips the entry only", "", "", "xx-!!, ja;q=0.4", "ja"},
		{"overlong tag", strings.Repeat("a", 200), "", "", "en"},
		{"Chrome header", "", "", "es-419,es;q=0.9,en;q=0.8", "es"},
		{"Safari header", "", "", "fr-FR", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.Negotiate(tt.uiLocales, tt.cookie, tt.acceptLng); got != tt.want {
				t.Errorf("Negotiate(%q, %q, %q) = %q, want %q", tt.uiLocales, tt.cookie, tt.acceptLng, got, tt.want)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	b := newBundle(t)
	tests := []struct {
		lang, id string
		data     map[string]any
		want     string
	}{
		{"en", "scope.other", map[string]any{"Scope": "payments:read"}, "Use the “payments:read” permission"},
		{"de", "scope.other", map[string]any{"Scope": "payments:read"}, "Die Berechtigung „payments:read“ nutzen"},
		{"es", "consent.title", map[string]any{"ClientName": "Acme"}, "Acme quiere acceder a tu cuenta"},
		{"ja", "login.subtitle", map[string]any{"ClientName": "Acme"}, "Acme に移動"},
		{"fr", "login.title", nil, "Connexion"},
		{"pt-BR", "login.submit", nil, "Entrar"},
		{"xx", "login.title", nil, "Sign in"},
		{"", "login.title", nil, "Sign in"},
		{"fr", "no.such.message", nil, "no.such.message"},
	}
	for _, tt := range tests {
		if got := b.Translate(tt.lang, tt.id, tt.data); got != tt.want {
			t.Errorf("Translate(%q, %q, %v) = %q, want %q", tt.lang, tt.id, tt.data, got, tt.want)
		}
	}
}

func TestTranslateDoesNotEscape(t *testing.T) {
	// Escaping is html/template's job where the message lands; the message
	// itself must carry the value unchanged.
	got := newBundle(t).Translate("en", "consent.title", map[string]any{"ClientName": `<b>"A&B"</b>`})
	if want := `<b>"A&B"</b> wants to access your account`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNegotiateResultIsAlwaysSupported(t *testing.T) {
	b := newBundle(t)
	for _, in := range []string{"", "en", "zh", "pt-PT", "de-AT", "*", "i-klingon", "x-private", "und", "sr-Latn-RS"} {
		got := b.Negotiate(in, in, in)
		if !b.Supported(got) {
			t.Errorf("Negotiate(%q) = %q, not supported", in, got)
		}
	}
}

// mapFS returns a message file tree for New's failure tests.
func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m["locales/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestNewFails(t *testing.T) {
	en := `{"language.name": "English", "a": "A", "b": "B {{.X}}"}`
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"locale lacks an English key", map[string]string{
			"en.json": en,
			"fr.json": `{"language.name": "Français", "a": "A"}`,
		}, "locale fr lacks 1 key(s) that English has: b"},
		{"locale has a key English lacks", map[string]string{
			"en.json": en,
			"de.json": `{"language.name": "Deutsch", "a": "A", "b": "B {{.X}}", "c": "C"}`,
		}, "locale de has 1 key(s) that English lacks: c"},
		{"file does not parse", map[string]string{
			"en.json": en,
			"es.json": `{"a": "A",`,
		}, "parse locales/es.json"},
		{"message is not a template", map[string]string{
			"en.json": `{"a": "A {{.X"}`,
		}, `message "a"`},
		{"empty message", map[string]string{
			"en.json": `{"a": ""}`,
		}, `message "a" is empty`},
		{"no English", map[string]string{
			"fr.json": `{"a": "A"}`,
		}, "no English"},
		{"file name is not a tag", map[string]string{
			"en.json":      en,
			"french!.json": `{"a": "A"}`,
		}, "not a language tag"},
		{"no files", map[string]string{}, "no locales"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := i18n.New(mapFS(tt.files))
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestNewOnMapFS(t *testing.T) {
	b, err := i18n.New(mapFS(map[string]string{
		"en.json":    `{"language.name": "English", "hi": "Hello, {{.Name}}"}`,
		"pt-BR.json": `{"language.name": "Português (Brasil)", "hi": "Olá, {{.Name}}"}`,
		"README.txt": "not a locale",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Translate("pt-BR", "hi", map[string]any{"Name": "Ana"}); got != "Olá, Ana" {
		t.Errorf("Translate = %q", got)
	}
	if got := b.Negotiate("", "", "pt-PT"); got != "pt-BR" {
		t.Errorf("Negotiate = %q", got)
	}
}
