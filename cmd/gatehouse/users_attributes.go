package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/storage"
)

// usersAttributes prints a customer's attributes, after changing them as
// --set and --unset say (as an operator: any declared attribute), which
// records user.updated with the names of those that changed.
func (a *app) usersAttributes(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users attributes")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	var set, unset stringList
	fs.Var(&set, "set", "set an attribute: `NAME=VALUE` (repeatable); the value as text, checked against its declaration")
	fs.Var(&unset, "unset", "remove an attribute's value: `NAME` (repeatable)")
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	change := attributes.Change{}
	for _, kv := range set {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return usagef("--set wants NAME=VALUE (got %q)", kv)
		}
		change[name] = value
	}
	for _, name := range unset {
		change[name] = nil
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	var u storage.User
	if len(change) > 0 {
		u, err = svc.Accounts.SetAttributes(ctx, id, change, attributes.EditorOperator)
	} else {
		u, err = store.GetUser(ctx, id)
	}
	var ve *attributes.ValueError
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("no user %q", id)
	case errors.As(err, &ve):
		return usagef("%v", ve)
	case err != nil:
		return err
	}
	values := svc.Accounts.Attributes().JSON(u.Attributes)
	if *output == "json" {
		return writeJSON(a.stdout, values)
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, name := range names {
		fmt.Fprintf(tw, "%s:\t%s\n", name, u.Attributes[name])
	}
	return tw.Flush()
}

// attributeFlags turns repeatable NAME=VALUE flags (named flag in
// messages) into a change of attributes, each value as text for its
// declaration to parse. A name given twice is a usage error.
func attributeFlags(flag string, kvs []string) (attributes.Change, error) {
	change := attributes.Change{}
	for _, kv := range kvs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usagef("%s wants NAME=VALUE (got %q)", flag, kv)
		}
		if _, dup := change[name]; dup {
			return nil, usagef("%s: %q is given twice", flag, name)
		}
		change[name] = value
	}
	return change, nil
}

// attributeFilter parses a --attribute NAME=VALUE flag of a listing into
// the stored value it searches for; "" is no filter.
func attributeFilter(cfg config.Config, flagValue string) (storage.AttributeValue, error) {
	if flagValue == "" {
		return storage.AttributeValue{}, nil
	}
	name, value, ok := strings.Cut(flagValue, "=")
	if !ok || name == "" {
		return storage.AttributeValue{}, usagef("--attribute wants NAME=VALUE (got %q)", flagValue)
	}
	set, err := cfg.AttributeSet()
	if err != nil {
		return storage.AttributeValue{}, err
	}
	stored, err := set.Normalize(name, value)
	if err != nil {
		return storage.AttributeValue{}, usagef("--attribute: %v", err)
	}
	if !slices.Contains(set.Searchable(), name) {
		return storage.AttributeValue{}, usagef("--attribute: %q is not searchable (declare it with searchable: true)", name)
	}
	return storage.AttributeValue{Name: name, Value: stored}, nil
}
