package mail_test

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
	"github.com/gatehouse-id/gatehouse/pkg/mail"
	"github.com/gatehouse-id/gatehouse/templates"
)

func newRenderer(t *testing.T) (*mail.Renderer, *i18n.Bundle) {
	t.Helper()
	bundle, err := i18n.New(templates.FS())
	if err != nil {
		t.Fatal(err)
	}
	r, err := mail.NewRenderer(templates.FS(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	return r, bundle
}

func TestEveryKindRendersInEveryLanguage(t *testing.T) {
	r, bundle := newRenderer(t)
	messageID := regexp.MustCompile(`mail\.[a-z]`) // a message id left untranslated
	if len(bundle.Languages()) < 6 {
		t.Fatalf("languages = %v", bundle.Languages())
	}
	data := mail.Data{
		Name: "Zoë <b>", Link: "https://id.example.com/reset?token=tok-123", Code: "482913",
		ExpiresIn: 90 * time.Second, Time: time.Date(2026, 12, 7, 8, 30, 0, 0, time.UTC),
		Device: "Safari on iOS", Address: "198.51.100.7", RecoveryCodesLeft: 4,
	}
	for _, l := range bundle.Languages() {
		for _, k := range mail.Kinds() {
			got, err := r.Render(mail.Message{Kind: k, To: "zoe@example.com", Language: l.Tag, Data: data})
			if err != nil {
				t.Fatalf("%s %s: %v", k, l.Tag, err)
			}
			want := bundle.Translate(l.Tag, "mail."+string(k)+".subject", nil)
			if got.Subject != want || strings.HasPrefix(got.Subject, "mail.") {
				t.Errorf("%s %s: subject %q, want %q", k, l.Tag, got.Subject, want)
			}
			if l.Tag != "en" && got.Subject == bundle.Translate("en", "mail."+string(k)+".subject", nil) {
				t.Errorf("%s %s: subject %q is English", k, l.Tag, got.Subject)
			}
			for part, body := range map[string]string{"text": got.Text, "html": got.HTML} {
				if messageID.MatchString(body) {
					t.Errorf("%s %s %s: an untranslated message id: %s", k, l.Tag, part, body)
				}
				switch k {
				case mail.EmailVerification, mail.PasswordReset:
					if !strings.Contains(body, data.Link) || !strings.Contains(body, "2") {
						t.Errorf("%s %s %s lacks the link or its 2 minutes:\n%s", k, l.Tag, part, body)
					}
				case mail.EmailCode:
					if !strings.Contains(body, data.Code) {
						t.Errorf("%s %s %s lacks the code:\n%s", k, l.Tag, part, body)
					}
				case mail.PasswordChanged, mail.RecoveryCodeUsed, mail.NewSignIn:
					if !strings.Contains(body, "2026-12-07 08:30 UTC") {
						t.Errorf("%s %s %s lacks the time:\n%s", k, l.Tag, part, body)
					}
				}
			}
			if !strings.Contains(got.HTML, "Zoë &lt;b&gt;") || strings.Contains(got.HTML, "<b>") {
				t.Errorf("%s %s: the name is not escaped in HTML", k, l.Tag)
			}
			if !strings.Contains(got.HTML, `lang="`+l.Tag+`"`) {
				t.Errorf("%s %s: no lang attribute", k, l.Tag)
			}
		}
	}
}

func TestLanguageFallsBackToTheClosestThenEnglish(t *testing.T) {
	r, _ := newRenderer(t)
	for in, want := range map[string]string{"fr": "fr", "pt-PT": "pt-BR", "de-AT": "de", "xx": "en", "": "en"} {
		if got := r.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
}

// copyFS copies the embedded templates into a map a test can break.
func copyFS(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(templates.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.FS(), p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMissingOrBrokenTemplatesStopStartUp(t *testing.T) {
	bundle, err := i18n.New(templates.FS())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		change func(fstest.MapFS)
		want   string
	}{
		"a missing text template": {func(m fstest.MapFS) { delete(m, "mail/password_reset.txt") }, "mail/password_reset.txt"},
		"a missing layout":        {func(m fstest.MapFS) { delete(m, "mail/layout.html") }, "mail/layout.html"},
		"a template that does not parse": {func(m fstest.MapFS) {
			m["mail/email_code.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Data.Code}`)}
		}, "mail/email_code.html"},
		"a template naming a field mails lack": {func(m fstest.MapFS) {
			m["mail/new_sign_in.txt"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{.Data.Browser}}{{end}}`)}
		}, "mail/new_sign_in.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := copyFS(t)
			tc.change(fsys)
			_, err := mail.NewRenderer(fsys, bundle)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewRenderer = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
