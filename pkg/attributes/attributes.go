// Package attributes holds the customer attributes an operator declares
// (docs/customers.md#attributes): their names, types, labels, who may
// change them, whether sign-up asks for them, and the scope that releases
// each as a claim. It checks values against the declarations and turns
// them into their one stored form (text) and their claim (typed JSON).
// It knows no storage, HTTP or configuration file.
package attributes

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/safetext"
)

// Types of attribute values.
const (
	// TypeString is free text on one line, at most MaxStringRunes characters.
	TypeString = "string"
	// TypeNumber is a finite decimal number, stored in its shortest form
	// ("10", "2.5"), released as a JSON number.
	TypeNumber = "number"
	// TypeBoolean is true or false, released as a JSON boolean.
	TypeBoolean = "boolean"
	// TypeDate is a calendar date, YYYY-MM-DD (ISO 8601's extended
	// form, as OpenID Connect Core §5.1 writes birthdate).
	TypeDate = "date"
	// TypeOneOf is one of the declaration's Values, exactly.
	TypeOneOf = "one-of"
)

// Who may change an attribute.
const (
	// EditorCustomer: the customer on the account page (and sign-up),
	// and operators.
	EditorCustomer = "customer"
	// EditorOperator: only operators (admin API, command line, imports).
	EditorOperator = "operator"
)

// Limits of declarations and values.
const (
	// MaxStringRunes bounds a string value, in characters.
	MaxStringRunes = 200
	// MaxAttributes bounds how many attributes may be declared.
	MaxAttributes = 50
	maxValues     = 100 // choices of a one-of attribute
	maxLabelRunes = 80
)

// Declaration is one attribute as the operator declares it in the
// configuration (YAML; docs/customers.md#attributes).
type Declaration struct {
	// Name is the attribute's name, also its claim's: lower-case letters,
	// digits and underscores, starting with a letter, at most 64
	// characters; not a registered claim name (ReservedClaims).
	Name string `yaml:"name" json:"name"`
	// Type is one of the Type* constants.
	Type string `yaml:"type" json:"type"`
	// Values are the choices of a one-of attribute, in the order the
	// pages show them.
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
	// RequiredAtSignUp makes the sign-up form ask for it and refuse to
	// go on without it; an operator creating a customer one by one must
	// give it too. Only a customer-editable attribute may be.
	RequiredAtSignUp bool `yaml:"required_at_signup,omitempty" json:"required_at_signup"`
	// EditableBy is EditorCustomer or EditorOperator (the default).
	EditableBy string `yaml:"editable_by,omitempty" json:"editable_by"`
	// Scope, when set, releases the attribute as a claim of its name to
	// clients granted that scope. It must be a scope of the operator's
	// own, not one of OpenID Connect's (StandardScopes).
	Scope string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// Searchable keeps an index of the attribute's values, so that
	// customers can be found by an exact value (storage cost:
	// docs/customers.md#attributes).
	Searchable bool `yaml:"searchable,omitempty" json:"searchable"`
	// Label is the name the pages show, by language tag ("en", "de",
	// "pt-BR"); see Declaration.LabelIn for the fallbacks.
	Label map[string]string `yaml:"label,omitempty" json:"label,omitempty"`
}

// ReservedClaims are the claim names no attribute may take: the JWT
// registered claims (RFC 7519 §4.1), the ID token's (OpenID Connect Core
// §2, plus at_hash and c_hash of §3), the standard claims (§5.1), and the
// ones Gatehouse itself issues (sid, idp, RFC 7800's cnf, RFC 8693's
// act, RFC 9068's client_id and scope, RFC 8176's amr).
var ReservedClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash", "s_hash", "sid", "idp",
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile",
	"picture", "website", "email", "email_verified", "gender", "birthdate", "zoneinfo", "locale",
	"phone_number", "phone_number_verified", "address", "updated_at",
	"cnf", "act", "client_id", "scope", "events", "sub_jwk", "_claim_names", "_claim_sources",
}

// StandardScopes are OpenID Connect's scopes (Core §5.4, §11) and the
// admin API's: an attribute is released under a scope of the operator's
// own, never one of these.
var StandardScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access", "gatehouse:admin"}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Set is the checked declarations, in the order they were declared.
// The zero value and nil declare nothing.
type Set struct {
	list   []Declaration
	byName map[string]int
}

// New checks the declarations and returns them as a Set. The error names
// each attribute and the rule it breaks, for the operator at start-up.
func New(decls []Declaration) (*Set, error) {
	s := &Set{byName: map[string]int{}}
	var errs []error
	if len(decls) > MaxAttributes {
		errs = append(errs, fmt.Errorf("at most %d attributes may be declared (got %d)", MaxAttributes, len(decls)))
	}
	for i, d := range decls {
		if d.EditableBy == "" {
			d.EditableBy = EditorOperator
		}
		if err := checkDeclaration(d); err != nil {
			errs = append(errs, fmt.Errorf("attribute %d (%q): %w", i+1, d.Name, err))
			continue
		}
		if _, dup := s.byName[d.Name]; dup {
			errs = append(errs, fmt.Errorf("attribute %d (%q): declared twice", i+1, d.Name))
			continue
		}
		d.Values = slices.Clone(d.Values)
		s.byName[d.Name] = len(s.list)
		s.list = append(s.list, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// checkDeclaration applies the rules of one declaration.
func checkDeclaration(d Declaration) error {
	switch {
	case !namePattern.MatchString(d.Name):
		return errors.New("name: want lower-case letters, digits and _, starting with a letter, at most 64 characters")
	case slices.Contains(ReservedClaims, d.Name):
		return fmt.Errorf("name: %q is a registered claim name (OpenID Connect Core §5.1, RFC 7519 §4.1) and cannot be an attribute", d.Name)
	case !slices.Contains([]string{TypeString, TypeNumber, TypeBoolean, TypeDate, TypeOneOf}, d.Type):
		return fmt.Errorf("type: want string, number, boolean, date or one-of (got %q)", d.Type)
	case d.Type == TypeOneOf && len(d.Values) == 0:
		return errors.New("values: a one-of attribute needs its list of values")
	case d.Type != TypeOneOf && len(d.Values) > 0:
		return errors.New("values: only a one-of attribute has a list of values")
	case len(d.Values) > maxValues:
		return fmt.Errorf("values: at most %d", maxValues)
	case d.EditableBy != EditorCustomer && d.EditableBy != EditorOperator:
		return fmt.Errorf("editable_by: want customer or operator (got %q)", d.EditableBy)
	case d.RequiredAtSignUp && d.EditableBy != EditorCustomer:
		return errors.New("required_at_signup: only an attribute the customer may edit (editable_by: customer) can be asked at sign-up")
	case d.Scope != "" && !validScope(d.Scope):
		return fmt.Errorf("scope: %q is not a scope token (RFC 6749 §3.3)", d.Scope)
	case slices.Contains(StandardScopes, d.Scope):
		return fmt.Errorf("scope: %q is a standard scope; release attributes under a scope of your own", d.Scope)
	}
	seen := map[string]bool{}
	for _, v := range d.Values {
		if v == "" || strings.TrimSpace(v) != v || safetext.Check(v, MaxStringRunes, false) != nil {
			return fmt.Errorf("values: %q is empty, padded, too long or has a control character", v)
		}
		if seen[v] {
			return fmt.Errorf("values: %q is listed twice", v)
		}
		seen[v] = true
	}
	for lang, l := range d.Label {
		if lang == "" || l == "" || safetext.Check(l, maxLabelRunes, false) != nil {
			return fmt.Errorf("label %q: want a language tag and a label of at most %d characters on one line", lang, maxLabelRunes)
		}
	}
	return nil
}

// validScope checks RFC 6749 §3.3's scope-token grammar: %x21 / %x23-5B
// / %x5D-7E, at least one.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// All returns the declarations in their order.
func (s *Set) All() []Declaration {
	if s == nil {
		return nil
	}
	return slices.Clone(s.list)
}

// Lookup returns the declaration of the name.
func (s *Set) Lookup(name string) (Declaration, bool) {
	if s == nil {
		return Declaration{}, false
	}
	i, ok := s.byName[name]
	if !ok {
		return Declaration{}, false
	}
	return s.list[i], true
}

// Searchable returns the names of the searchable attributes.
func (s *Set) Searchable() []string {
	var out []string
	for _, d := range s.All() {
		if d.Searchable {
			out = append(out, d.Name)
		}
	}
	return out
}

// EditableByCustomer returns the declarations the customer may change,
// in their order: what sign-up and the account page show.
func (s *Set) EditableByCustomer() []Declaration {
	var out []Declaration
	for _, d := range s.All() {
		if d.EditableBy == EditorCustomer {
			out = append(out, d)
		}
	}
	return out
}

// Scopes returns the scopes that release attributes, each once, in the
// order of the first attribute that names it.
func (s *Set) Scopes() []string {
	var out []string
	for _, d := range s.All() {
		if d.Scope != "" && !slices.Contains(out, d.Scope) {
			out = append(out, d.Scope)
		}
	}
	return out
}

// Claims returns the names of the attributes released under some scope:
// the claims they add to discovery's claims_supported.
func (s *Set) Claims() []string {
	var out []string
	for _, d := range s.All() {
		if d.Scope != "" {
			out = append(out, d.Name)
		}
	}
	return out
}

// LabelIn is the attribute's label in the language: the declaration's label
// for the tag, else for its primary language ("pt" for "pt-BR"), else the
// English one, else the attribute's name.
func (d Declaration) LabelIn(lang string) string {
	if l, ok := d.Label[lang]; ok {
		return l
	}
	if base, _, found := strings.Cut(lang, "-"); found {
		if l, ok := d.Label[base]; ok {
			return l
		}
	}
	if l, ok := d.Label["en"]; ok {
		return l
	}
	return d.Name
}

// ValueError is a value its declaration refuses, or a change the editor
// may not make. Reason is a stable word for pages and problems:
// "unknown", "required", "invalid", "not_editable".
type ValueError struct {
	Attribute string
	Reason    string
	Detail    string
}

// Reasons of a ValueError.
const (
	ReasonUnknown     = "unknown"
	ReasonRequired    = "required"
	ReasonInvalid     = "invalid"
	ReasonNotEditable = "not_editable"
)

func (e *ValueError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("attribute %q: %s", e.Attribute, e.Reason)
	}
	return fmt.Sprintf("attribute %q: %s", e.Attribute, e.Detail)
}

// Normalize checks a value given as text against the attribute's
// declaration and returns its stored form: a string trimmed; a number in
// its shortest decimal form; a boolean "true" or "false"; a date
// YYYY-MM-DD; a one-of value exactly as declared.
func (s *Set) Normalize(name, text string) (string, error) {
	d, ok := s.Lookup(name)
	if !ok {
		return "", &ValueError{Attribute: name, Reason: ReasonUnknown, Detail: "no such attribute is declared"}
	}
	invalid := func(detail string) error {
		return &ValueError{Attribute: name, Reason: ReasonInvalid, Detail: detail}
	}
	text = strings.TrimSpace(text)
	switch d.Type {
	case TypeString:
		if err := safetext.Check(text, MaxStringRunes, false); err != nil {
			return "", invalid("the value " + err.Error())
		}
		return text, nil
	case TypeNumber:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", invalid(fmt.Sprintf("want a number (got %q)", text))
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case TypeBoolean:
		switch text {
		case "true":
			return "true", nil
		case "false":
			return "false", nil
		}
		return "", invalid(fmt.Sprintf("want true or false (got %q)", text))
	case TypeDate:
		t, err := time.Parse(time.DateOnly, text)
		if err != nil {
			return "", invalid(fmt.Sprintf("want a date as YYYY-MM-DD (got %q)", text))
		}
		return t.Format(time.DateOnly), nil
	case TypeOneOf:
		if !slices.Contains(d.Values, text) {
			return "", invalid(fmt.Sprintf("want one of %s (got %q)", strings.Join(d.Values, ", "), text))
		}
		return text, nil
	}
	return "", invalid("unknown type " + d.Type)
}

// NormalizeJSON checks a value given as decoded JSON (a string, a
// float64 or a bool) and returns its stored form. A number attribute
// takes a JSON number, a boolean one a JSON boolean, the others a string;
// the text forms are accepted too.
func (s *Set) NormalizeJSON(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return s.Normalize(name, x)
	case float64:
		if d, ok := s.Lookup(name); ok && d.Type != TypeNumber {
			return "", &ValueError{Attribute: name, Reason: ReasonInvalid, Detail: "want a " + d.Type + ", got a number"}
		}
		return s.Normalize(name, strconv.FormatFloat(x, 'f', -1, 64))
	case bool:
		if d, ok := s.Lookup(name); ok && d.Type != TypeBoolean {
			return "", &ValueError{Attribute: name, Reason: ReasonInvalid, Detail: "want a " + d.Type + ", got a boolean"}
		}
		return s.Normalize(name, strconv.FormatBool(x))
	}
	if _, ok := s.Lookup(name); !ok {
		return "", &ValueError{Attribute: name, Reason: ReasonUnknown, Detail: "no such attribute is declared"}
	}
	return "", &ValueError{Attribute: name, Reason: ReasonInvalid, Detail: fmt.Sprintf("want a string, number or boolean (got %T)", v)}
}

// Claim returns the stored value as its claim: a JSON number for a
// number, a JSON boolean for a boolean, the text otherwise.
func (d Declaration) Claim(stored string) any {
	switch d.Type {
	case TypeNumber:
		if f, err := strconv.ParseFloat(stored, 64); err == nil {
			return f
		}
	case TypeBoolean:
		return stored == "true"
	}
	return stored
}

// JSON returns the stored values as JSON values (Claim of each), for the
// admin API and the command line; values of attributes no longer
// declared are kept as text.
func (s *Set) JSON(values map[string]string) map[string]any {
	out := make(map[string]any, len(values))
	for name, v := range values {
		if d, ok := s.Lookup(name); ok {
			out[name] = d.Claim(v)
		} else {
			out[name] = v
		}
	}
	return out
}

// Change is a set of changes to a customer's attributes: a name mapped
// to its new value (text or JSON, see NormalizeJSON), or to nil to remove
// the value.
type Change map[string]any

// Apply returns current with the change made, checked against the
// declarations for the editor (EditorCustomer or EditorOperator), and the
// names whose stored value changed, sorted. current is not modified. A
// customer may change only the attributes editable by customers; an
// operator any.
func (s *Set) Apply(current map[string]string, change Change, editor string) (map[string]string, []string, error) {
	out := make(map[string]string, len(current)+len(change))
	for k, v := range current {
		out[k] = v
	}
	var changed []string
	names := make([]string, 0, len(change))
	for name := range change {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		d, ok := s.Lookup(name)
		if !ok {
			return nil, nil, &ValueError{Attribute: name, Reason: ReasonUnknown, Detail: "no such attribute is declared"}
		}
		if editor != EditorOperator && d.EditableBy != EditorCustomer {
			return nil, nil, &ValueError{Attribute: name, Reason: ReasonNotEditable, Detail: "only an operator may change it"}
		}
		v := change[name]
		if txt, isText := v.(string); v == nil || (isText && strings.TrimSpace(txt) == "" && d.Type != TypeString) {
			v = nil
		}
		old, had := out[name]
		if v == nil {
			if had {
				delete(out, name)
				changed = append(changed, name)
			}
			continue
		}
		stored, err := s.NormalizeJSON(name, v)
		if err != nil {
			return nil, nil, err
		}
		if stored == "" {
			if had {
				delete(out, name)
				changed = append(changed, name)
			}
			continue
		}
		if !had || old != stored {
			out[name] = stored
			changed = append(changed, name)
		}
	}
	return out, changed, nil
}

// MissingAtSignUp returns the first attribute required at sign-up that
// values lacks, as a *ValueError with ReasonRequired; nil when none is
// missing.
func (s *Set) MissingAtSignUp(values map[string]string) error {
	for _, d := range s.All() {
		if d.RequiredAtSignUp && values[d.Name] == "" {
			return &ValueError{Attribute: d.Name, Reason: ReasonRequired, Detail: "is required at sign-up"}
		}
	}
	return nil
}
