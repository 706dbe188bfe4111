package accounts

import (
	"context"
	"maps"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Attributes returns the declared customer attributes (nil for none, and
// for a nil Service).
func (s *Service) Attributes() *attributes.Set {
	if s == nil {
		return nil
	}
	return s.attrs
}

// SetAttributes changes the customer's attributes as change says (a new
// value, or nil to remove one), checked against the declarations for the
// editor: attributes.EditorCustomer (the account page) may change only
// the customer-editable ones, attributes.EditorOperator (admin API,
// command line) any. It records user.updated with the names of the
// attributes that changed, never their values, in the same transaction
// (UpdateCustomer). A refused value is an *attributes.ValueError and
// changes nothing.
func (s *Service) SetAttributes(ctx context.Context, id string, change attributes.Change, editor string) (storage.User, error) {
	return s.UpdateCustomer(ctx, id, func(u storage.User) (storage.User, error) {
		updated, _, err := s.attrs.Apply(u.Attributes, change, editor)
		if err != nil {
			return u, err
		}
		u.Attributes = updated
		return u, nil
	})
}

// CheckSignUpAttributes checks the attribute values a sign-up form gave
// (as text, by name; empty for none) as the customer's: only
// customer-editable attributes, every value valid, and every attribute
// required at sign-up present. It returns the values in their stored
// form, or the first *attributes.ValueError.
func (s *Service) CheckSignUpAttributes(given map[string]string) (map[string]string, error) {
	change := attributes.Change{}
	for name, v := range given {
		change[name] = v
	}
	values, _, err := s.attrs.Apply(nil, change, attributes.EditorCustomer)
	if err != nil {
		return nil, err
	}
	if err := s.attrs.MissingAtSignUp(values); err != nil {
		return nil, err
	}
	return values, nil
}

// CheckNewCustomerAttributes checks the attribute values an operator gives
// a customer they create (admin API, command line): any declared
// attribute, each value valid (text or typed JSON, see
// attributes.Set.NormalizeJSON). Like an import, an operator is not held to
// required_at_signup, which is the sign-up form's rule. It returns the
// values in their stored form (nil for none), for
// identity.NewUser.Attributes, or the first *attributes.ValueError. Call it
// before CreateCustomer: a refused value creates nothing.
func (s *Service) CheckNewCustomerAttributes(given attributes.Change) (map[string]string, error) {
	values, _, err := s.attrs.Apply(nil, given, attributes.EditorOperator)
	if err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, nil
	}
	return values, nil
}

// attributeNames returns the names of the values, sorted; nil for none.
func attributeNames(values map[string]string) []string {
	if len(values) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(values))
}

// changedAttributes names the attributes whose values differ, sorted.
func changedAttributes(a, b storage.User) []string {
	var out []string
	for name, v := range a.Attributes {
		if w, ok := b.Attributes[name]; !ok || w != v {
			out = append(out, name)
		}
	}
	for name := range b.Attributes {
		if _, ok := a.Attributes[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// cloneAttributes returns u with a copy of its attributes, so that an
// update that changes them in place leaves the original alone.
func cloneAttributes(u storage.User) storage.User {
	u.Attributes = maps.Clone(u.Attributes)
	return u
}
