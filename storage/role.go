package storage

import (
	"context"
	"time"
)

// Role is a name an operator gives customers, which apps read from the
// roles claim (docs/roles.md). A global role (ClientID "") is seen by every
// client; a client's role only by that client. A client's role never has
// the name of a global role, nor a global role the name of any client's,
// so the claim's names are never ambiguous.
type Role struct {
	// ID is random and never changes; names may be reused after a delete.
	ID string
	// Name is what the roles claim carries.
	Name string
	// ClientID is the client the role belongs to, "" for a global role.
	ClientID string
	// Description says what the role is for, for operators.
	Description string
	// Default marks a role every new customer gets when they are created
	// one by one (sign-up, first social sign-in, admin API, command line).
	Default bool
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// RoleStore keeps roles and which customers have them.
type RoleStore interface {
	// CreateRole stores a new role. A name taken within its client (or
	// among the global roles), a client role named like a global one and a
	// global role named like any client's are ErrAlreadyExists.
	CreateRole(ctx context.Context, r Role) error
	// GetRole returns the role with the ID, or ErrNotFound.
	GetRole(ctx context.Context, id string) (Role, error)
	// FindRole returns the role with the name belonging to the client
	// ("" for a global role), or ErrNotFound.
	FindRole(ctx context.Context, name, clientID string) (Role, error)
	// ListRoles returns roles ordered by ID; a non-empty clientID keeps
	// only that client's roles.
	ListRoles(ctx context.Context, clientID string, page Page) ([]Role, error)
	// DeleteRole removes the role and every assignment of it, atomically;
	// ErrNotFound when there is no such role.
	DeleteRole(ctx context.Context, id string) error
	// AssignRole gives the customer the role; false when they had it
	// already. ErrNotFound when the customer or the role does not exist.
	AssignRole(ctx context.Context, userID, roleID string) (bool, error)
	// UnassignRole takes the role from the customer; ErrNotFound when they
	// did not have it.
	UnassignRole(ctx context.Context, userID, roleID string) error
	// AssignDefaultRoles gives the customer every role marked Default and
	// returns their names, sorted.
	AssignDefaultRoles(ctx context.Context, userID string) ([]string, error)
	// ListUserRoles returns the customer's roles, global and of every
	// client, ordered by client ID and name.
	ListUserRoles(ctx context.Context, userID string) ([]Role, error)
	// RoleNames returns the names of the customer's roles that the client
	// sees: the global ones and the client's own, sorted; empty, not nil,
	// for none. It is one indexed query: it runs on every token issued with
	// the roles scope.
	RoleNames(ctx context.Context, userID, clientID string) ([]string, error)
	// ListUsersByRole returns the customers who have the role, ordered by
	// ID, one page at a time (Page.After is a customer ID).
	ListUsersByRole(ctx context.Context, roleID string, page Page) ([]User, error)
}
