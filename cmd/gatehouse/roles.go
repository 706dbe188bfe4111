package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/accounts"
	"github.com/gatehouse-id/gatehouse/pkg/identity"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

const rolesUsage = `Usage:
  gatehouse roles create --name NAME [--client CLIENT_ID] [--description TEXT] [--default] [--output json|text]
  gatehouse roles list   [--client CLIENT_ID] [--output json|text]
  gatehouse roles delete ROLE_ID   (also takes it from every customer)
Roles are global, or a client's own with --client (docs/roles.md).
`

// roles runs "gatehouse roles …".
func (a *app) roles(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("roles needs a subcommand\n\n%s", rolesUsage)
	}
	switch args[0] {
	case "create":
		return a.rolesCreate(ctx, args[1:])
	case "list":
		return a.rolesList(ctx, args[1:])
	case "delete":
		return a.rolesDelete(ctx, args[1:])
	default:
		return usagef("unknown roles subcommand %q\n\n%s", args[0], rolesUsage)
	}
}

// roleJSON is a role as the command line prints it.
type roleJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ClientID    string    `json:"client_id,omitempty"`
	Description string    `json:"description,omitempty"`
	Default     bool      `json:"default"`
	CreatedAt   time.Time `json:"created_at"`
}

func toRoleJSON(r storage.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, ClientID: r.ClientID, Description: r.Description, Default: r.Default, CreatedAt: r.CreatedAt}
}

func (a *app) rolesCreate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("roles create")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	name := fs.String("name", "", "the role's `NAME`, as the roles claim carries it: letters, digits and . _ : - /")
	client := fs.String("client", "", "make the role the client `CLIENT_ID`'s own (default: a global role)")
	description := fs.String("description", "", "what the role is for")
	isDefault := fs.Bool("default", false, "give the role to every customer created from now on (sign-up, first social sign-in, admin API, users create)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if *name == "" {
		return usagef("roles create needs --name")
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	r, err := svc.Accounts.CreateRole(ctx, accounts.NewRole{Name: *name, ClientID: *client, Description: *description, Default: *isDefault})
	switch {
	case identity.IsInvalid(err):
		return usagef("%v", err)
	case errors.Is(err, storage.ErrAlreadyExists):
		return fmt.Errorf("the name %q is taken (by a role of the same client, or a global role and a client's cannot share it)", *name)
	case err != nil:
		return err
	}
	if *output == "json" {
		return writeJSON(a.stdout, toRoleJSON(r))
	}
	fmt.Fprintf(a.stdout, "id:   %s\nname: %s\n", r.ID, r.Name)
	return nil
}

func (a *app) rolesList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("roles list")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	client := fs.String("client", "", "only the client `CLIENT_ID`'s roles")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	all, err := everyPage(func(p storage.Page) ([]storage.Role, error) { return store.ListRoles(ctx, *client, p) },
		func(r storage.Role) string { return r.ID }, toRoleJSON)
	if err != nil {
		return err
	}
	return a.printRoles(all, *output)
}

// printRoles prints roles as JSON or a table.
func (a *app) printRoles(roles []roleJSON, output string) error {
	if output == "json" {
		return writeJSON(a.stdout, roles)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCLIENT\tDEFAULT\tDESCRIPTION")
	for _, r := range roles {
		client := r.ClientID
		if client == "" {
			client = "(global)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.ID, r.Name, client, r.Default, r.Description)
	}
	return tw.Flush()
}

func (a *app) rolesDelete(ctx context.Context, args []string) error {
	fs := a.newFlagSet("roles delete")
	cfgPath := configFlag(fs)
	id, err := parseOneID(fs, args, "ROLE_ID")
	if err != nil {
		return err
	}
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := svc.Accounts.DeleteRole(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no role %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "deleted role %s; tokens issued before keep it until they are refreshed\n", id)
	return nil
}

// usersRolesChange gives a customer a role ("users add-role") or takes
// it away ("users remove-role").
func (a *app) usersRolesChange(ctx context.Context, verb string, args []string) error {
	fs := a.newFlagSet("users " + verb)
	cfgPath := configFlag(fs)
	client := fs.String("client", "", "the role is the client `CLIENT_ID`'s (default: a global role)")
	positional, err := parseFlagsAndIDs(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 2 {
		return usagef("users %s takes USER_ID and ROLE_NAME (got %q)\n\n%s", verb, positional, usersUsage)
	}
	userID, name := positional[0], positional[1]
	store, svc, err := a.openServices(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	role, err := store.FindRole(ctx, name, *client)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no role %q%s", name, clientSuffix(*client))
	} else if err != nil {
		return err
	}
	change, done := svc.Accounts.AssignRole, "gave"
	if verb == "remove-role" {
		change, done = svc.Accounts.UnassignRole, "took"
	}
	if err := change(ctx, userID, role.ID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q, or (remove) they do not have the role", userID)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s role %s%s (%s) for user %s; it shows from their next token\n", done, name, clientSuffix(*client), role.ID, userID)
	return nil
}

func clientSuffix(clientID string) string {
	if clientID == "" {
		return ""
	}
	return " of client " + clientID
}

func (a *app) usersRolesList(ctx context.Context, args []string) error {
	fs := a.newFlagSet("users roles")
	cfgPath := configFlag(fs)
	output := outputFlag(fs)
	id, err := parseOneID(fs, args, "USER_ID")
	if err != nil {
		return err
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	_, _, store, _, err := a.openCommandStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.GetUser(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q", id)
	} else if err != nil {
		return err
	}
	roles, err := store.ListUserRoles(ctx, id)
	if err != nil {
		return err
	}
	out := make([]roleJSON, 0, len(roles))
	for _, r := range roles {
		out = append(out, toRoleJSON(r))
	}
	return a.printRoles(out, *output)
}

// usersSetDisabled runs "gatehouse users disable ID" and "enable ID".
func (a *app) usersSetDisabled(ctx context.Context, verb string, args []string) error {
	fs := a.newFlagSet("users " + verb)
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
	change, done := svc.Accounts.DisableCustomer, "disabled user %s: sign-in refused, sessions ended, tokens revoked\n"
	if verb == "enable" {
		change, done = svc.Accounts.EnableCustomer, "enabled user %s: they can sign in again\n"
	}
	if _, err := change(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %q", id)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, done, id)
	return nil
}

// roleFilterFlags are users list's --role and --client.
type roleFilterFlags struct {
	role, client *string
}

func addRoleFilterFlags(fs *flag.FlagSet) roleFilterFlags {
	return roleFilterFlags{
		role:   fs.String("role", "", "only customers who have the role `NAME` (combines with no prefix)"),
		client: fs.String("client", "", "with --role: the role is the client `CLIENT_ID`'s"),
	}
}

// lister returns the listing users list pages through: by role when
// --role is set, else the prefix filter's.
func (f roleFilterFlags) lister(ctx context.Context, store *gormstore.Store, filter storage.UserFilter) (func(storage.Page) ([]storage.User, error), error) {
	if *f.role == "" {
		if *f.client != "" {
			return nil, usagef("users list: --client goes with --role")
		}
		return func(p storage.Page) ([]storage.User, error) { return store.ListUsers(ctx, filter, p) }, nil
	}
	if filter != (storage.UserFilter{}) {
		return nil, usagef("users list: --role does not combine with a prefix or --attribute")
	}
	role, err := store.FindRole(ctx, *f.role, *f.client)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("no role %q%s", *f.role, clientSuffix(*f.client))
	} else if err != nil {
		return nil, err
	}
	return func(p storage.Page) ([]storage.User, error) { return store.ListUsersByRole(ctx, role.ID, p) }, nil
}
