package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/i18n"
)

// Dir is the folder of the mail templates in the templates' file system.
const Dir = "mail"

// layout is the template each kind's file fills: its "content".
const layout = "layout"

// Rendered is a mail ready to send.
type Rendered struct {
	Subject string
	// Text is the text/plain part, HTML the text/html part.
	Text, HTML string
}

// view is what a mail template gets.
type view struct {
	// Lang is the mail's language.
	Lang string
	// Subject is the translated subject.
	Subject string
	Data    Data
	// Minutes is Data.ExpiresIn in whole minutes, rounded up.
	Minutes int
	// When is Data.Time written for people: "2026-12-07 07:39 UTC".
	When string
}

// Renderer renders mails from the templates under Dir: for each kind,
// KIND.html (html/template) and KIND.txt (text/template), each filling
// the "content" of layout.html or layout.txt; the function t translates
// ({{t "id"}}, {{t "id" (dict "Key" value)}}) in the mail's language, and
// the subject is the message mail.KIND.subject. It is safe for concurrent
// use.
type Renderer struct {
	bundle *i18n.Bundle
	// html and text hold, per language and kind, the template with t
	// bound to that language; they are only read after NewRenderer.
	html map[string]map[Kind]*htmltemplate.Template
	text map[string]map[Kind]*texttemplate.Template
}

// NewRenderer parses the mail templates of fsys (templates.FS(), or a
// deployment's own tree with the same layout) and renders every kind in
// every language of bundle once with sample data. It fails, naming the
// file, if a template is missing, does not parse or fails on the sample,
// or if a subject is missing from the messages, so that a broken template
// stops the server at start-up rather than a mail later.
func NewRenderer(fsys fs.FS, bundle *i18n.Bundle) (*Renderer, error) {
	if bundle == nil {
		return nil, errors.New("mail: NewRenderer: nil bundle")
	}
	r := &Renderer{
		bundle: bundle,
		html:   make(map[string]map[Kind]*htmltemplate.Template),
		text:   make(map[string]map[Kind]*texttemplate.Template),
	}
	parseT := func(string, ...map[string]any) string { return "" }
	funcs := map[string]any{"t": parseT, "dict": dict}
	baseHTML := make(map[Kind]*htmltemplate.Template)
	baseText := make(map[Kind]*texttemplate.Template)
	for _, k := range Kinds() {
		if !bundle.Has(subjectID(k)) {
			return nil, fmt.Errorf("mail: no message %s in the locales", subjectID(k))
		}
		for _, name := range []string{layout + ".html", layout + ".txt", string(k) + ".html", string(k) + ".txt"} {
			if _, err := fs.Stat(fsys, Dir+"/"+name); err != nil {
				return nil, fmt.Errorf("mail: template %s/%s: %w", Dir, name, err)
			}
		}
		h, err := htmltemplate.New(string(k)).Funcs(funcs).ParseFS(fsys, Dir+"/"+layout+".html", Dir+"/"+string(k)+".html")
		if err != nil {
			return nil, fmt.Errorf("mail: template %s/%s.html: %w", Dir, k, err)
		}
		t, err := texttemplate.New(string(k)).Funcs(funcs).ParseFS(fsys, Dir+"/"+layout+".txt", Dir+"/"+string(k)+".txt")
		if err != nil {
			return nil, fmt.Errorf("mail: template %s/%s.txt: %w", Dir, k, err)
		}
		baseHTML[k], baseText[k] = h, t
	}
	for _, l := range bundle.Languages() {
		bound := map[string]any{"t": translate(bundle, l.Tag)}
		r.html[l.Tag] = make(map[Kind]*htmltemplate.Template)
		r.text[l.Tag] = make(map[Kind]*texttemplate.Template)
		for _, k := range Kinds() {
			h, err := baseHTML[k].Clone()
			if err != nil {
				return nil, fmt.Errorf("mail: template %s/%s.html (%s): %w", Dir, k, l.Tag, err)
			}
			t, err := baseText[k].Clone()
			if err != nil {
				return nil, fmt.Errorf("mail: template %s/%s.txt (%s): %w", Dir, k, l.Tag, err)
			}
			r.html[l.Tag][k], r.text[l.Tag][k] = h.Funcs(bound), t.Funcs(bound)
			if _, err := r.Render(sample(k, l.Tag)); err != nil {
				return nil, fmt.Errorf("mail: %w (checked with sample data at start-up)", err)
			}
		}
	}
	return r, nil
}

// Language returns the supported language a mail in lang is written in:
// lang itself, the closest supported one, or English.
func (r *Renderer) Language(lang string) string {
	if r.bundle.Supported(lang) {
		return lang
	}
	return r.bundle.Negotiate(lang, "", "")
}

// Render renders a message in its language (English when unsupported).
func (r *Renderer) Render(m Message) (Rendered, error) {
	lang := r.Language(m.Language)
	h, t := r.html[lang][m.Kind], r.text[lang][m.Kind]
	if h == nil || t == nil {
		return Rendered{}, fmt.Errorf("mail: no template for kind %q", m.Kind)
	}
	v := view{Lang: lang, Subject: r.bundle.Translate(lang, subjectID(m.Kind), nil), Data: m.Data}
	if m.Data.ExpiresIn > 0 {
		v.Minutes = int((m.Data.ExpiresIn + time.Minute - 1) / time.Minute)
	}
	if !m.Data.Time.IsZero() {
		v.When = m.Data.Time.UTC().Format("2006-01-02 15:04 UTC")
	}
	var hb, tb bytes.Buffer
	if err := h.ExecuteTemplate(&hb, layout, v); err != nil {
		return Rendered{}, fmt.Errorf("template %s/%s.html (%s): %w", Dir, m.Kind, lang, err)
	}
	if err := t.ExecuteTemplate(&tb, layout, v); err != nil {
		return Rendered{}, fmt.Errorf("template %s/%s.txt (%s): %w", Dir, m.Kind, lang, err)
	}
	return Rendered{Subject: v.Subject, HTML: hb.String(), Text: strings.TrimSpace(tb.String()) + "\n"}, nil
}

func subjectID(k Kind) string { return "mail." + string(k) + ".subject" }

// translate returns the function t of one language.
func translate(bundle *i18n.Bundle, lang string) func(string, ...map[string]any) string {
	return func(id string, data ...map[string]any) string {
		var d map[string]any
		if len(data) > 0 {
			d = data[0]
		}
		return bundle.Translate(lang, id, d)
	}
}

// dict makes a map of its key and value arguments, for t's data.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// sample is a message of kind k with every field set, for the start-up
// check.
func sample(k Kind, lang string) Message {
	return Message{Kind: k, To: "sample@example.com", Language: lang, Data: Data{
		Name: "Sample", Link: "https://id.example.com/sample?token=sample", Code: "123456",
		ExpiresIn: 30 * time.Minute, Time: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Device: "Firefox on Linux", Address: "192.0.2.1", RecoveryCodesLeft: 7,
	}}
}
