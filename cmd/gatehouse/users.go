package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/attributes"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
)

const usersUsage = `Usage:
  gatehouse users create --email EMAIL --password PASSWORD [--name NAME] [--email-verified]
                         [--attribute NAME=VALUE]... [--output json|text]
  gatehouse users list   [--email-prefix P] [--name-prefix P] [--attribute NAME=VALUE] [--output json|text]
  gatehouse users get    USER_ID [--output json|text]
  gatehouse users update USER_ID [--name NAME] [--given-name NAME] [--family-name NAME] [--locale LOCALE]
                         [--email EMAIL] [--email-verified] [--password PASSWORD | --password-stdin] [--output json|text]
  gatehouse users delete USER_ID   (also ends their sessions and revokes their tokens)
  gatehouse users sessions USER_ID [--revoke-all] [--output json|text]
  gatehouse users consents USER_ID [--revoke CLIENT_ID] [--output json|text]
  gatehouse users mfa-reset USER_ID   (removes their authenticator app and recovery codes)
  gatehouse users list   --role NAME [--client CLIENT_ID] [--output json|text]   (the customers who have the role)
  gatehouse users roles  USER_ID [--output json|text]   (their roles, global and of every client)
  gatehouse users add-role    USER_ID ROLE_NAME [--client CLIENT_ID]   (--client: a client's role; else global)
  gatehouse users remove-role USER_ID ROLE_NAME [--client CLIENT_ID]
  gatehouse users disable USER_ID   (refuses their sign-in, ends their sessions, revokes their tokens)
  gatehouse users enable  USER_ID
  gatehouse users attributes USER_ID [--set NAME=VALUE]... [--unset NAME]... [--output json|text]
  gatehouse users import FILE.jsonl [--on-conflict skip|update|fail] [--dry-run] [--batch-size N] [--create-roles] [--output json|text]
  gatehouse users export [--include-password-hashes] [--output FILE]   (JSON Lines, the import's format)
`

func (a *app) users(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("users needs a subcommand\n\n%s", usersUsage)
	}
	switch args[0] {
	case "create":
		return a.usersCreate(ctx, args)
	case "list":
		return a.usersList(ctx, args[1:])
	case "get":
		return a.usersGet(ctx, args[1:])
	case "delete":
		return a.usersDelete(ctx, args[1:])
	case "sessions":
		return a.usersSessions(ctx, args[1:])
	case "consents":
		return a.usersConsents(ctx, args[1:])
	case "mfa-reset":
		return a.usersMFAReset(ctx, args[1:])
	case "roles":
		return a.usersRolesList(ctx, args[1:])
	case "add-role", "remove-role":
		return a.usersRolesChange(ctx, args[0], args[1:])
	case "disable", "enable":
		return a.usersSetDisabled(ctx, args[0], args[1:])
	case "attributes":
		return a.usersAttributes(ctx, args[1:])
	case "update":
		return a.usersUpdate(ctx, args[1:])
	case "import":
		return a.usersImport(ctx, args[1:])
	case "export":
		return a.usersExport(ctx, args[1:])
	default:
		return usagef("unknown users subcommand %q\n\n%s", args[0], usersUsage)
	}
}

func (a *app) usersCreate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users create")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	email := fs.String("email", "", "the customer's email address (their sign-in name)")
	password := fs.String("password", "", "the customer's password: at least password_min_length characters (default 8), at most 256, neither common nor containing the email")
	name := fs.String("name", "", "the customer's full name")
	verified := fs.Bool("email-verified", false, "mark the email address as verified")
	var attrFlags stringList
	fs.Var(&attrFlags, "attribute", "give the customer an attribute: `NAME=VALUE` (repeatable); the value as text, checked against its declaration")
	if err := parseNoArgs(fs, args[1:]); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if *email == "" || *password == "" {
		return usagef("users create needs --email and --password")
	}
	change, err := attributeFlags("--attribute", attrFlags)
	if err != nil {
		return err
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	// The attributes are checked before the customer is created: a
	// refused value creates nothing.
	attrs, err := svc.Accounts.CheckNewCustomerAttributes(change)
	var ve *attributes.ValueError
	if errors.As(err, &ve) {
		return usagef("--attribute: %v", ve)
	}
	if err != nil {
		return err
	}
	u, err := svc.Accounts.CreateCustomer(ctx, identity.NewUser{Email: *email, Password: *password, Name: *name, EmailVerified: *verified, Attributes: attrs})
	var pe *identity.PasswordError
	if errors.As(err, &pe) {
		return usagef("the password %s (rule %s)", pe.Error(), pe.Rule)
	}
	if identity.IsInvalid(err) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	if *output == "json" {
		j := toUserJSON(u)
		if len(u.Attributes) > 0 {
			j.Attributes = svc.Accounts.Attributes().JSON(u.Attributes)
		}
		return writeJSON(a.stdout, j)
	}
	fmt.Fprintf(a.stdout, "id:    %s\nemail: %s\n", u.ID, u.Email)
	return nil
}

type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	Disabled      bool      `json:"disabled,omitempty"`
	// Attributes are the customer's attribute values, typed by their
	// declarations; users create and users get fill them in (users
	// attributes reads and changes them), users list leaves them out.
	Attributes map[string]any `json:"attributes,omitempty"`
}

func toUserJSON(u storage.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name, CreatedAt: u.CreatedAt, Disabled: u.Disabled}
}
