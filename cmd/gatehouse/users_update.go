package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

// usersUpdate changes a customer's profile members and, with --password or
// --password-stdin, their password (under the password policy), through
// pkg/accounts: the events and the "password changed" mail are the admin
// API's. Only the flags given change anything; an empty value clears a
// member.
func (a *app) usersUpdate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users update")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	name := fs.String("name", "", "the customer's full `NAME` (\"\" clears it)")
	givenName := fs.String("given-name", "", "the customer's given `NAME`")
	familyName := fs.String("family-name", "", "the customer's family `NAME`")
	locale := fs.String("locale", "", "the customer's `LOCALE` (BCP 47: de, pt-BR), which mails and pages use")
	email := fs.String("email", "", "a new `EMAIL` address, unverified unless --email-verified is given too")
	verified := fs.Bool("email-verified", false, "mark the email address as verified (--email-verified=false: unverified)")
	password := fs.String("password", "", "a new `PASSWORD` under the password policy (prefer --password-stdin: arguments show in the process list)")
	passwordStdin := fs.Bool("password-stdin", false, "read the new password from the first line of standard input")
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["password"] && *passwordStdin {
		return usagef("users update takes --password or --password-stdin, not both")
	}
	newPassword, hasPassword := *password, given["password"]
	if *passwordStdin {
		if newPassword, err = a.readPasswordLine(); err != nil {
			return err
		}
		hasPassword = true
	}
	profile := []string{"name", "given-name", "family-name", "locale", "email", "email-verified"}
	if !hasPassword && !slices.ContainsFunc(profile, func(n string) bool { return given[n] }) {
		return usagef("users update needs something to change: --%s, --password or --password-stdin", strings.Join(profile, ", --"))
	}
	update := func(u storage.User) (storage.User, error) {
		if given["email"] {
			e, err := identity.NormalizeEmail(*email)
			if err != nil {
				return u, err
			}
			if e != u.Email {
				u.Email, u.EmailVerified = e, false
			}
		}
		for _, m := range []struct {
			flag          string
			value, member *string
		}{{"name", name, &u.Name}, {"given-name", givenName, &u.GivenName}, {"family-name", familyName, &u.FamilyName}, {"locale", locale, &u.Locale}} {
			if given[m.flag] {
				*m.member = strings.TrimSpace(*m.value)
			}
		}
		if given["email-verified"] {
			u.EmailVerified = *verified
		}
		return u, identity.CheckProfile(u)
	}

	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	var u storage.User
	if hasPassword {
		u, err = svc.Accounts.UpdateCustomerAndPassword(ctx, id, update, newPassword)
	} else {
		u, err = svc.Accounts.UpdateCustomer(ctx, id, update)
	}
	var pe *identity.PasswordError
	switch {
	case errors.As(err, &pe):
		return usagef("the password %s (rule %s); nothing was changed", pe.Error(), pe.Rule)
	case identity.IsInvalid(err):
		return usagef("%v", err)
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("no user %q", id)
	case err != nil:
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, toUserJSON(u))
	}
	fmt.Fprintf(a.stdout, "id:    %s\nemail: %s\n", u.ID, u.Email)
	if hasPassword {
		fmt.Fprintln(a.stdout, "The password was changed.")
	}
	return nil
}

// readPasswordLine reads a password from the first line of standard input,
// without its line ending.
func (a *app) readPasswordLine() (string, error) {
	if a.stdin == nil {
		return "", usagef("--password-stdin: there is no standard input")
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-stdin: standard input holds no password")
	}
	return line, nil
}
