package attributes_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
)

func testSet(t *testing.T) *attributes.Set {
	t.Helper()
	s, err := attributes.New([]attributes.Declaration{
		{Name: "nickname_text", Type: attributes.TypeString, EditableBy: attributes.EditorCustomer, RequiredAtSignUp: true,
			Label: map[string]string{"en": "Display name", "de": "Anzeigename", "pt": "Nome"}},
		{Name: "points", Type: attributes.TypeNumber, Scope: "loyalty", Searchable: true},
		{Name: "vip", Type: attributes.TypeBoolean, Scope: "loyalty"},
		{Name: "member_since", Type: attributes.TypeDate},
		{Name: "tier", Type: attributes.TypeOneOf, Values: []string{"bronze", "silver", "gold"}, EditableBy: attributes.EditorCustomer, Scope: "tiers"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNormalizeByType(t *testing.T) {
	s := testSet(t)
	for _, tc := range []struct {
		name, attr, in, want string
		ok                   bool
	}{
		{"a string is trimmed", "nickname_text", "  Zoë ", "Zoë", true},
		{"a string with a control character is refused", "nickname_text", "a\x1bb", "", false},
		{"a string over the limit is refused", "nickname_text", strings.Repeat("x", attributes.MaxStringRunes+1), "", false},
		{"a number takes its shortest form", "points", "010.50", "10.5", true},
		{"a negative number", "points", "-3", "-3", true},
		{"text is not a number", "points", "ten", "", false},
		{"infinity is not a number", "points", "Inf", "", false},
		{"true", "vip", "true", "true", true},
		{"false", "vip", "false", "false", true},
		{"yes is not a boolean", "vip", "yes", "", false},
		{"a date", "member_since", "2024-02-29", "2024-02-29", true},
		{"no such day", "member_since", "2023-02-29", "", false},
		{"a date in another form", "member_since", "29/02/2024", "", false},
		{"one of the values", "tier", "gold", "gold", true},
		{"not one of the values", "tier", "platinum", "", false},
		{"one-of compares exactly", "tier", "Gold", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Normalize(tc.attr, tc.in)
			if tc.ok && (err != nil || got != tc.want) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want %q", tc.attr, tc.in, got, err, tc.want)
			}
			var ve *attributes.ValueError
			if !tc.ok && (!errors.As(err, &ve) || ve.Reason != attributes.ReasonInvalid || ve.Attribute != tc.attr) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want an invalid-value error", tc.attr, tc.in, got, err)
			}
		})
	}
	if _, err := s.Normalize("shoe_size", "42"); err == nil {
		t.Fatal("an undeclared attribute was accepted")
	}
}

func TestNormalizeJSONWantsTheType(t *testing.T) {
	s := testSet(t)
	if v, err := s.NormalizeJSON("points", float64(12)); err != nil || v != "12" {
		t.Fatalf("a JSON number: %q, %v", v, err)
	}
	if v, err := s.NormalizeJSON("vip", true); err != nil || v != "true" {
		t.Fatalf("a JSON boolean: %q, %v", v, err)
	}
	if _, err := s.NormalizeJSON("tier", true); err == nil {
		t.Fatal("a boolean was taken for a one-of")
	}
	if _, err := s.NormalizeJSON("vip", float64(1)); err == nil {
		t.Fatal("a number was taken for a boolean")
	}
	if _, err := s.NormalizeJSON("tier", []any{"gold"}); err == nil {
		t.Fatal("a list was taken")
	}
}

func TestDeclarationsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		decl attributes.Declaration
		want string
	}{
		{"a standard claim's name", attributes.Declaration{Name: "email", Type: "string"}, "registered claim"},
		{"a JWT registered claim's name", attributes.Declaration{Name: "sub", Type: "string"}, "registered claim"},
		{"a name with capitals", attributes.Declaration{Name: "Tier", Type: "string"}, "name:"},
		{"an unknown type", attributes.Declaration{Name: "tier", Type: "enum"}, "type:"},
		{"a one-of without values", attributes.Declaration{Name: "tier", Type: "one-of"}, "values:"},
		{"values on a string", attributes.Declaration{Name: "tier", Type: "string", Values: []string{"a"}}, "values:"},
		{"a value twice", attributes.Declaration{Name: "tier", Type: "one-of", Values: []string{"a", "a"}}, "twice"},
		{"required but operator-only", attributes.Declaration{Name: "tier", Type: "string", RequiredAtSignUp: true}, "required_at_signup"},
		{"a standard scope", attributes.Declaration{Name: "tier", Type: "string", Scope: "profile"}, "standard scope"},
		{"a scope with a space", attributes.Declaration{Name: "tier", Type: "string", Scope: "a b"}, "scope token"},
		{"an unknown editor", attributes.Declaration{Name: "tier", Type: "string", EditableBy: "anyone"}, "editable_by"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attributes.New([]attributes.Declaration{tc.decl})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v; want an error mentioning %q", err, tc.want)
			}
		})
	}
	_, err := attributes.New([]attributes.Declaration{{Name: "tier", Type: "string"}, {Name: "tier", Type: "number"}})
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("a name declared twice: %v", err)
	}
}

func TestApplyByEditor(t *testing.T) {
	s := testSet(t)
	cur := map[string]string{"points": "10", "tier": "bronze"}
	out, changed, err := s.Apply(cur, attributes.Change{"tier": "gold", "points": float64(10), "vip": true}, attributes.EditorOperator)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"tier", "vip"}) || out["tier"] != "gold" || out["vip"] != "true" || out["points"] != "10" {
		t.Fatalf("operator change: %v, changed %v", out, changed)
	}
	if cur["tier"] != "bronze" {
		t.Fatal("Apply modified its input")
	}
	out, changed, err = s.Apply(out, attributes.Change{"vip": nil}, attributes.EditorOperator)
	if _, has := out["vip"]; err != nil || has || !slices.Equal(changed, []string{"vip"}) {
		t.Fatalf("removal: %v, %v, %v", out, changed, err)
	}
	var ve *attributes.ValueError
	if _, _, err := s.Apply(cur, attributes.Change{"points": "99"}, attributes.EditorCustomer); !errors.As(err, &ve) || ve.Reason != attributes.ReasonNotEditable {
		t.Fatalf("a customer changed an operator-only attribute: %v", err)
	}
	if _, _, err := s.Apply(cur, attributes.Change{"tier": "silver"}, attributes.EditorCustomer); err != nil {
		t.Fatalf("a customer could not change a customer-editable attribute: %v", err)
	}
}

func TestLabelsFallBack(t *testing.T) {
	d, _ := testSet(t).Lookup("nickname_text")
	for lang, want := range map[string]string{"de": "Anzeigename", "pt-BR": "Nome", "ja": "Display name", "": "Display name"} {
		if got := d.LabelIn(lang); got != want {
			t.Errorf("LabelIn(%q) = %q, want %q", lang, got, want)
		}
	}
	tier, _ := testSet(t).Lookup("tier")
	if got := tier.LabelIn("fr"); got != "tier" {
		t.Errorf("no label: %q, want the name", got)
	}
}

func TestScopesClaimsAndRequired(t *testing.T) {
	s := testSet(t)
	if got := s.Scopes(); !slices.Equal(got, []string{"loyalty", "tiers"}) {
		t.Errorf("Scopes = %v", got)
	}
	if got := s.Claims(); !slices.Equal(got, []string{"points", "vip", "tier"}) {
		t.Errorf("Claims = %v", got)
	}
	if got := s.Searchable(); !slices.Equal(got, []string{"points"}) {
		t.Errorf("Searchable = %v", got)
	}
	d, _ := s.Lookup("points")
	if v := d.Claim("2.5"); v != 2.5 {
		t.Errorf("number claim = %#v", v)
	}
	var ve *attributes.ValueError
	if err := s.MissingAtSignUp(map[string]string{"tier": "gold"}); !errors.As(err, &ve) || ve.Attribute != "nickname_text" || ve.Reason != attributes.ReasonRequired {
		t.Errorf("missing required: %v", err)
	}
	if err := s.MissingAtSignUp(map[string]string{"nickname_text": "Z"}); err != nil {
		t.Errorf("nothing missing: %v", err)
	}
}
