package storage

import "context"

// IdentityKey names an upstream account: a provider and its subject.
type IdentityKey struct {
	Provider string
	Subject  string
}

// RoleAssignment gives a customer a role.
type RoleAssignment struct {
	UserID string
	RoleID string
}

// ImportStore writes customers in bulk, for imports (pkg/accounts
// ImportCustomers). Its methods join the transaction in ctx (Transactor),
// so a batch of customers, their identities and the batch's event commit
// together.
type ImportStore interface {
	// FindUsersForImport returns the customers whose external ID is one of
	// externalIDs or whose email (compared lower-cased) is one of emails,
	// in no particular order. Empty keys match no one.
	FindUsersForImport(ctx context.Context, externalIDs, emails []string) ([]User, error)
	// FindIdentities returns the links of those of the upstream accounts
	// that are linked, in no particular order.
	FindIdentities(ctx context.Context, keys []IdentityKey) ([]Identity, error)
	// CreateUsers stores new customers and links, a few statements for the
	// lot (multi-row inserts). CreatedAt is kept when set, else now; a
	// link's CreatedAt and LastUsedAt are set as CreateIdentity sets them.
	// A taken ID, email, external ID or upstream account is
	// ErrAlreadyExists and, inside a transaction, leaves it unusable:
	// callers check first (FindUsersForImport, FindIdentities) and retry a
	// batch that lost a race.
	CreateUsers(ctx context.Context, users []User, identities []Identity) error
	// FindUsersByIDs returns the customers whose ID is one of ids, in no
	// particular order (an import line may keep the old system's subject).
	FindUsersByIDs(ctx context.Context, ids []string) ([]User, error)
	// ListIdentitiesOfUsers returns the links of the customers, ordered by
	// customer and provider (an export reads them a page at a time).
	ListIdentitiesOfUsers(ctx context.Context, userIDs []string) ([]Identity, error)
	// AssignRoles gives each customer the role the assignment names, a few
	// statements for the lot; an assignment the customer has already is
	// left as it is. It returns how many were new. Unlike AssignRole it
	// does not check that the customers and roles exist: an import
	// resolves both in the transaction it writes them in.
	AssignRoles(ctx context.Context, assignments []RoleAssignment) (int, error)
	// FindClientIDs returns those of ids that are clients' IDs: a kept
	// customer ID must not be one, since a client-credentials token's
	// subject is its client's ID.
	FindClientIDs(ctx context.Context, ids []string) ([]string, error)
	// InitialLoad runs load, then finish, in one write transaction when
	// the database holds no customers and the store gains by it, and
	// reports whether it did (SQLite: docs/import.md, "Initial load");
	// otherwise it calls neither and returns false. While load runs, the
	// customer tables' secondary indexes are gone: load only creates
	// customers whose keys no customer has (its caller makes sure), with
	// CreateUsers and AssignRoles, and must not look customers up. The
	// indexes are built once before finish runs, which may do anything.
	// An error from either rolls all of it back.
	InitialLoad(ctx context.Context, load, finish func(ctx context.Context) error) (bool, error)
}
