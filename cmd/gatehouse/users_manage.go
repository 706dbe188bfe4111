package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// usersList prints every customer, or those whose email or name begins
// with the given prefixes.
func (a *app) usersList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users list")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	emailPrefix := fs.String("email-prefix", "", "only customers whose email begins with `P` (case-insensitive)")
	namePrefix := fs.String("name-prefix", "", "only customers whose name begins with `P` (case-insensitive)")
	byRole := addRoleFilterFlags(fs)
	attribute := fs.String("attribute", "", "only customers whose searchable attribute has exactly this value: `NAME=VALUE`")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	cfg, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	filter := storage.UserFilter{EmailPrefix: *emailPrefix, NamePrefix: *namePrefix}
	if filter.Attribute, err = attributeFilter(cfg, *attribute); err != nil {
		return err
	}
	list, err := byRole.lister(ctx, store, filter)
	if err != nil {
		return err
	}
	all, err := everyPage(list, func(u storage.User) string { return u.ID }, toUserJSON)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, all)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tVERIFIED\tNAME")
	for _, u := range all {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", u.ID, u.Email, u.EmailVerified, u.Name)
	}
	return tw.Flush()
}

// usersGet prints one customer.
func (a *app) usersGet(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users get")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	cfg, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	attrs, err := cfg.AttributeSet()
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	u, err := store.GetUser(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q", id)
	}
	if err != nil {
		return err
	}
	j := toUserJSON(u)
	if len(u.Attributes) > 0 {
		j.Attributes = attrs.JSON(u.Attributes)
	}
	if *output == "json" {
		return writeJSON(a.stdout, j)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", j.ID}, {"email", j.Email}, {"email_verified", fmt.Sprint(j.EmailVerified)},
		{"name", j.Name}, {"created_at", j.CreatedAt.Format(time.RFC3339)}, {"disabled", fmt.Sprint(j.Disabled)},
	}
	for _, name := range slices.Sorted(maps.Keys(u.Attributes)) {
		rows = append(rows, [2]string{"attribute " + name, u.Attributes[name]})
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// usersDelete removes a customer with their sessions, consents, linked
// identities and tokens.
func (a *app) usersDelete(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users delete")
	cfgPath := configFlag(fs)
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	cfg, log, store, secrets, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	// One transaction: the sessions end (their clients told by back-channel
	// logout), the customer goes, and the events are recorded.
	svc, err := a.services(cfg, store, secrets, log)
	if err != nil {
		return err
	}
	if err := svc.Accounts.DeleteCustomer(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted user %s with their sessions, consents and tokens\n", id)
	return nil
}

// usersMFAReset removes every second factor of a customer who lost them,
// recording user.mfa.removed (reason reset) with the operator as actor.
func (a *app) usersMFAReset(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users mfa-reset")
	cfgPath := configFlag(fs)
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := svc.MFA.Reset(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "removed the second factors of user %s; their next sign-in asks only the first factor, or enrolment where a second is required\n", id)
	return nil
}
