package storage

import (
	"context"
	"encoding/json"
	"time"
)

// Actor kinds: who made a change.
const (
	ActorCustomer = "customer" // the customer, on the hosted pages
	ActorClient   = "client"   // an OAuth client: the admin API, a client managing itself (RFC 7592)
	ActorOperator = "operator" // the command line
	ActorSystem   = "system"   // the server itself (expiry, a provider's word)
)

// Actor is who made a change.
type Actor struct {
	// Type is one of the Actor* kinds.
	Type string `json:"type"`
	// ID is the customer's or the client's ID; empty for the operator and
	// the system.
	ID string `json:"id,omitempty"`
}

// Event is one change to a customer, a client or a key, as the audit log
// keeps it and webhooks deliver it. Its data never holds a secret.
type Event struct {
	// ID is unique and sorts by creation (a UUIDv7).
	ID string
	// Type is the event type, e.g. "user.created".
	Type string
	// Time is when the change was made.
	Time time.Time
	// Subject is what changed: a customer ID, a client ID, a key ID.
	Subject string
	// Actor is who changed it.
	Actor Actor
	// RequestID is the HTTP request's id, when one caused the change.
	RequestID string
	// Data is the type's JSON object.
	Data json.RawMessage
}

// EventFilter selects events of the audit log. Zero members select all.
type EventFilter struct {
	Subject string
	Type    string
	// From and To bound Time: From included, To excluded.
	From, To time.Time
}

// EventStore keeps the events of every committed change, and the durable
// jobs that act on them.
type EventStore interface {
	// AppendEvents stores events. It joins the transaction in ctx (see
	// Transactor), so an event commits or rolls back with its change.
	AppendEvents(ctx context.Context, events ...Event) error
	// ListEvents returns events in ID order (creation order), after the
	// page's cursor.
	ListEvents(ctx context.Context, filter EventFilter, page Page) ([]Event, error)
	// DeleteEventsBefore removes events older than the cut-off, at most
	// limit of them, and returns how many it removed.
	DeleteEventsBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Transactor runs a function in one database transaction.
type Transactor interface {
	// InTx runs fn with a context that carries a transaction: every store
	// method called with that context joins it. The transaction commits
	// when fn returns nil and rolls back otherwise (or when fn panics); a
	// nested InTx joins the outer transaction.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}
