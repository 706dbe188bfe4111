package storage

import "context"

// UserFilter narrows a listing of customers. Prefixes are compared
// case-insensitively; empty ones match everyone.
type UserFilter struct {
	// EmailPrefix keeps customers whose email begins with it.
	EmailPrefix string
	// NamePrefix keeps customers whose name begins with it.
	NamePrefix string
	// Attribute, when its Name is set, keeps customers whose attribute of
	// that name has exactly the stored Value. Only a searchable attribute
	// can be searched (ErrNotSearchable otherwise), and not together with
	// the prefixes.
	Attribute AttributeValue
}

// AttributeValue names one value of a customer attribute, in its stored
// form.
type AttributeValue struct {
	Name  string
	Value string
}

// AdminStore is what the admin API and the command line need beyond the
// stores the protocol uses: listing and deleting customers, and a customer's
// sessions and consents.
type AdminStore interface {
	// ListUsers returns the customers that match filter, ordered by ID,
	// one page at a time. A filter by an attribute the store does not
	// index is ErrNotSearchable.
	ListUsers(ctx context.Context, filter UserFilter, page Page) ([]User, error)
	// DeleteUser removes the customer and, in the same transaction, their
	// browser sessions, consents, linked identities, tokens (access
	// tokens deleted, refresh tokens and codes too) and role assignments.
	// ErrNotFound when there
	// is no such customer. It does NOT queue back-channel logouts.
	DeleteUser(ctx context.Context, id string) error
	// ListSessionsByUser returns the customer's browser sessions, expired
	// ones included, newest first.
	ListSessionsByUser(ctx context.Context, userID string) ([]BrowserSession, error)
	// ListConsents returns the customer's consents ordered by client ID.
	ListConsents(ctx context.Context, userID string) ([]Consent, error)
	// DeleteConsent removes the customer's consent for the client;
	// ErrNotFound when there is none. It does not revoke tokens: callers
	// do that with RevokeTokensOf.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}
