package config

import (
	"strings"
	"testing"
)

func TestAttributesFromTheFile(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `
issuer: https://id.example.com
attributes:
  - name: loyalty_tier
    type: one-of
    values: [bronze, silver, gold]
    scope: loyalty
    searchable: true
    label: {en: Loyalty tier, de: Treuestufe}
  - name: newsletter
    type: boolean
    editable_by: customer
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	set, err := c.AttributeSet()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := set.Lookup("loyalty_tier")
	if !ok || d.Scope != "loyalty" || !d.Searchable || d.LabelIn("de") != "Treuestufe" || len(d.Values) != 3 {
		t.Fatalf("loyalty_tier = %+v", d)
	}
	if d, _ := set.Lookup("newsletter"); d.EditableBy != "customer" {
		t.Fatalf("newsletter = %+v", d)
	}
}

func TestAttributesFromTheirOwnFile(t *testing.T) {
	attrs := writeFile(t, "attributes.yaml", "- name: shoe_size\n  type: number\n")
	c, err := Load("", env(map[string]string{"GATEHOUSE_ATTRIBUTES_FILE": attrs}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Attributes) != 1 || c.Attributes[0].Name != "shoe_size" {
		t.Fatalf("attributes = %+v", c.Attributes)
	}
	both := writeFile(t, "gatehouse.yaml", "attributes:\n  - name: tier\n    type: string\n")
	if _, err := Load(both, env(map[string]string{"GATEHOUSE_ATTRIBUTES_FILE": attrs})); err == nil || !strings.Contains(err.Error(), "one place") {
		t.Fatalf("attributes in both places: %v", err)
	}
}

func TestAttributeDeclarationsAreRefused(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"a reserved claim name", "- name: email\n  type: string\n", `attributes: attribute 1 ("email"): name: "email" is a registered claim name`},
		{"an unknown member", "- name: tier\n  type: string\n  colour: red\n", "field colour not found"},
		{"a value instead of a list", "tier\n", "want a list"},
		{"an unknown type", "- name: tier\n  type: text\n", "type: want string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "gatehouse.yaml", "attributes:\n"+indent(tc.yaml))
			c, err := Load(path, nil)
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// indent indents each line by two spaces.
func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ") + "\n"
}
