package ui

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
)

// attributeFieldPrefix begins the form field of each customer attribute:
// "attr.NAME".
const attributeFieldPrefix = "attr."

// AttributeField is one customer attribute on a form (the
// "attribute-fields" template of layout.html): sign-up and the account
// page show the customer-editable ones.
type AttributeField struct {
	// Field is the form field's name ("attr.NAME"), ID its element ID.
	Field, ID string
	// Label is the declaration's label in the page's language.
	Label string
	// Type is the attribute's type (attributes.Type*).
	Type string
	// Options are the choices of a one-of or a boolean attribute, the
	// first one "none".
	Options []AttributeOption
	// Value is the current value, stored or as posted.
	Value string
	// Required marks a field the form cannot be sent without.
	Required bool
	// Invalid marks the field an error is about.
	Invalid bool
}

// AttributeOption is one choice of a select: Label shown as it is, or
// LabelID translated when set.
type AttributeOption struct {
	Value, Label, LabelID string
	Selected              bool
}

// attributeFields returns the customer-editable attributes as form
// fields with their values, labelled in lang; required marks those
// required at sign-up (on the sign-up form only), invalid names the
// attribute an error is about.
func attributeFields(set *attributes.Set, values map[string]string, lang string, signUp bool, invalid string) []AttributeField {
	var out []AttributeField
	for _, d := range set.EditableByCustomer() {
		f := AttributeField{
			Field: attributeFieldPrefix + d.Name, ID: "attr-" + d.Name, Label: d.LabelIn(lang), Type: d.Type,
			Value: values[d.Name], Required: signUp && d.RequiredAtSignUp, Invalid: invalid == d.Name,
		}
		switch d.Type {
		case attributes.TypeBoolean:
			f.Options = []AttributeOption{
				{Value: "", LabelID: "attribute.none", Selected: f.Value == ""},
				{Value: "true", LabelID: "attribute.yes", Selected: f.Value == "true"},
				{Value: "false", LabelID: "attribute.no", Selected: f.Value == "false"},
			}
		case attributes.TypeOneOf:
			f.Options = []AttributeOption{{Value: "", LabelID: "attribute.none", Selected: f.Value == ""}}
			for _, v := range d.Values {
				f.Options = append(f.Options, AttributeOption{Value: v, Label: v, Selected: f.Value == v})
			}
		}
		out = append(out, f)
	}
	return out
}

// postedAttributes returns the attribute fields of a posted form by
// attribute name, as text. Every "attr." field counts, shown or not, so
// that a forged field for an attribute the customer may not change is
// refused rather than ignored.
func postedAttributes(form url.Values) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if name, ok := strings.CutPrefix(k, attributeFieldPrefix); ok && len(v) > 0 {
			out[name] = v[0]
		}
	}
	return out
}

// attributeChange is the posted attributes as a change to make.
func attributeChange(posted map[string]string) attributes.Change {
	change := attributes.Change{}
	for name, v := range posted {
		change[name] = v
	}
	return change
}

// attributeError turns a refused attribute into the page's message and
// the attribute it is about; false when err is no such refusal.
func attributeError(err error, set *attributes.Set, lang string) (messageID string, data map[string]any, attr string, ok bool) {
	var ve *attributes.ValueError
	if !errors.As(err, &ve) {
		return "", nil, "", false
	}
	label := ve.Attribute
	if d, found := set.Lookup(ve.Attribute); found {
		label = d.LabelIn(lang)
	}
	id := "attribute.error.invalid"
	switch ve.Reason {
	case attributes.ReasonRequired:
		id = "attribute.error.required"
	case attributes.ReasonNotEditable, attributes.ReasonUnknown:
		id = "attribute.error.not_editable"
	}
	return id, map[string]any{"Label": label}, ve.Attribute, true
}
