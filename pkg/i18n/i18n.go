// Package i18n loads the hosted pages' message files and picks the language
// each page is shown in.
//
// Message files are go-i18n JSON files named after their BCP 47 language tag
// (locales/en.json, locales/pt-BR.json, ...). English is the reference: every
// other locale must define exactly the keys English defines, so a page never
// shows a half-translated mix because a translator missed a string.
package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// English is the reference language and the last fallback.
const English = "en"

// nameID is the message every locale uses to name itself in the language
// switcher, in its own language.
const nameID = "language.name"

// Negotiation limits keep a hostile header or parameter from costing much.
const (
	maxEntries  = 32
	maxTagBytes = 64
)

// Language is one supported page language.
type Language struct {
	// Tag is the BCP 47 tag, as in the file name ("pt-BR").
	Tag string
	// Name is the language's name in that language ("Português (Brasil)").
	Name string
}

// Bundle holds every locale's messages. It is safe for concurrent use once
// New has returned.
type Bundle struct {
	bundle     *goi18n.Bundle
	languages  []Language
	matcher    language.Matcher
	localizers map[string]*goi18n.Localizer
	english    map[string]struct{}
}

// New loads every locales/*.json file of fsys. It fails if a locale lacks a
// key that English has (or has a key English lacks, which is a typo that would
// never be shown), if a message is empty or is not a valid template, if there
// is no English file, or if a file does not parse.
func New(fsys fs.FS) (*Bundle, error) {
	names, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, fmt.Errorf("i18n: list locales: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("i18n: no locales/*.json message files")
	}
	slices.Sort(names)

	b := &Bundle{
		bundle:     goi18n.NewBundle(language.English),
		localizers: make(map[string]*goi18n.Localizer, len(names)),
	}
	keys := make(map[string]map[string]struct{}, len(names))
	tags := make(map[string]language.Tag, len(names))
	for _, name := range names {
		tag, ids, err := b.load(fsys, name)
		if err != nil {
			return nil, err
		}
		if _, dup := keys[tag.String()]; dup {
			return nil, fmt.Errorf("i18n: %s: a second file for language %s", name, tag)
		}
		keys[tag.String()] = ids
		tags[tag.String()] = tag
	}

	english, ok := keys[English]
	if !ok {
		return nil, errors.New("i18n: no English message file (locales/en.json)")
	}
	if err := checkKeys(english, keys); err != nil {
		return nil, err
	}
	b.english = english

	order := make([]string, 0, len(keys))
	for tag := range keys {
		if tag != English {
			order = append(order, tag)
		}
	}
	slices.Sort(order)
	order = slices.Insert(order, 0, English)

	matchTags := make([]language.Tag, 0, len(order))
	for _, tag := range order {
		b.localizers[tag] = goi18n.NewLocalizer(b.bundle, tag)
		matchTags = append(matchTags, tags[tag])
	}
	b.matcher = language.NewMatcher(matchTags)
	for _, tag := range order {
		name := tag
		if _, ok := english[nameID]; ok {
			name = b.Translate(tag, nameID, nil)
		}
		b.languages = append(b.languages, Language{Tag: tag, Name: name})
	}
	return b, nil
}

// load parses one message file into the bundle and returns its language and
// message IDs.
func (b *Bundle) load(fsys fs.FS, name string) (language.Tag, map[string]struct{}, error) {
	base := strings.TrimSuffix(path.Base(name), ".json")
	tag, err := language.Parse(base)
	if err != nil {
		return language.Und, nil, fmt.Errorf("i18n: %s: file name is not a language tag: %w", name, err)
	}
	buf, err := fs.ReadFile(fsys, name)
	if err != nil {
		return language.Und, nil, fmt.Errorf("i18n: read %s: %w", name, err)
	}
	file, err := goi18n.ParseMessageFileBytes(buf, name, nil)
	if err != nil {
		return language.Und, nil, fmt.Errorf("i18n: parse %s: %w", name, err)
	}
	ids := make(map[string]struct{}, len(file.Messages))
	for _, m := range file.Messages {
		if strings.TrimSpace(m.Other) == "" {
			return language.Und, nil, fmt.Errorf("i18n: %s: message %q is empty", name, m.ID)
		}
		if _, err := texttemplate.New(m.ID).Parse(m.Other); err != nil {
			return language.Und, nil, fmt.Errorf("i18n: %s: message %q: %w", name, m.ID, err)
		}
		ids[m.ID] = struct{}{}
	}
	if err := b.bundle.AddMessages(tag, file.Messages...); err != nil {
		return language.Und, nil, fmt.Errorf("i18n: add %s: %w", name, err)
	}
	return tag, ids, nil
}

// checkKeys reports every locale whose keys differ from English's.
func checkKeys(english map[string]struct{}, keys map[string]map[string]struct{}) error {
	locales := make([]string, 0, len(keys))
	for tag := range keys {
		locales = append(locales, tag)
	}
	slices.Sort(locales)
	var errs []error
	for _, tag := range locales {
		if missing := difference(english, keys[tag]); len(missing) > 0 {
			errs = append(errs, fmt.Errorf("i18n: locale %s lacks %d key(s) that English has: %s",
				tag, len(missing), strings.Join(missing, ", ")))
		}
		if extra := difference(keys[tag], english); len(extra) > 0 {
			errs = append(errs, fmt.Errorf("i18n: locale %s has %d key(s) that English lacks: %s",
				tag, len(extra), strings.Join(extra, ", ")))
		}
	}
	return errors.Join(errs...)
}

// difference returns the sorted keys of a that b lacks.
func difference(a, b map[string]struct{}) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Languages returns the supported languages: English first, then the rest
// ordered by tag. The caller may not modify the slice.
func (b *Bundle) Languages() []Language {
	return b.languages
}

// Supported reports whether lang is exactly one of the bundle's tags.
func (b *Bundle) Supported(lang string) bool {
	_, ok := b.localizers[lang]
	return ok
}

// Negotiate picks the page language: the first supported entry of uiLocales
// (a space-separated list of BCP 47 tags, OpenID Connect Core §3.1.2.1), then
// cookie (one tag), then the Accept-Language header (by quality value), then
// English. A tag matches a supported language of the same base language even
// across regions ("pt-PT" gives "pt-BR", "es-MX" gives "es"). Malformed and
// unsupported entries are skipped.
func (b *Bundle) Negotiate(uiLocales, cookie, acceptLanguage string) string {
	for i, entry := range strings.Fields(uiLocales) {
		if i == maxEntries {
			break
		}
		if tag, ok := b.match(entry); ok {
			return tag
		}
	}
	if tag, ok := b.match(strings.TrimSpace(cookie)); ok {
		return tag
	}
	for _, entry := range parseAcceptLanguage(acceptLanguage) {
		if tag, ok := b.match(entry); ok {
			return tag
		}
	}
	return English
}

// match returns the supported language that s (one BCP 47 tag) asks for.
func (b *Bundle) match(s string) (string, bool) {
	if s == "" || len(s) > maxTagBytes {
		return "", false
	}
	want, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	_, i, confidence := b.matcher.Match(want)
	if confidence < language.High {
		return "", false
	}
	return b.languages[i].Tag, true
}

// parseAcceptLanguage returns the language ranges of an Accept-Language
// header (RFC 9110 §12.5.4), most preferred first. Unlike
// language.ParseAcceptLanguage it skips a bad entry instead of failing whole,
// and it drops "*" and entries with q=0.
func parseAcceptLanguage(header string) []string {
	type entry struct {
		tag string
		q   float64
	}
	var entries []entry
	for i, part := range strings.Split(header, ",") {
		if i == maxEntries {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q, ok := quality(params)
		if !ok || q <= 0 {
			continue
		}
		entries = append(entries, entry{tag: tag, q: q})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.tag
	}
	return out
}

// quality reads the q parameter of one Accept-Language entry's parameters
// ("q=0.8"), 1 when absent. It reports false when q is malformed.
func quality(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		name, value, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0, false
		}
		return q, true
	}
	return 1, true
}

// Translate returns message id in lang (falling back to English when lang is
// not supported or lacks the message), executed with data. An unknown id is
// returned as is, so a mistake shows up on the page rather than as a blank.
func (b *Bundle) Translate(lang, id string, data map[string]any) string {
	loc, ok := b.localizers[lang]
	if !ok {
		loc = b.localizers[English]
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if data != nil {
		cfg.TemplateData = data
	}
	msg, err := loc.Localize(cfg)
	if err != nil && msg == "" {
		return id
	}
	return msg
}

// Has reports whether English defines id.
func (b *Bundle) Has(id string) bool {
	_, ok := b.english[id]
	return ok
}
