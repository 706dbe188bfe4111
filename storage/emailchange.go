package storage

import (
	"context"
	"encoding/json"
	"time"
)

// EmailChange is a customer's pending change of email address: the new
// address waits for the customer to open the link mailed to it.
type EmailChange struct {
	UserID string
	// NewEmail is the address that replaces the customer's once confirmed.
	NewEmail string
	// TokenHash is the SHA-256 (hex) of the link's token; the token itself
	// is never stored.
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EmailChangeStore keeps pending email changes, at most one per customer.
type EmailChangeStore interface {
	// PutEmailChange stores c, replacing the customer's pending change if
	// any (whose link then no longer works).
	PutEmailChange(ctx context.Context, c EmailChange) error
	// TakeEmailChange deletes and returns the pending change whose token
	// hashes to tokenHash, expired or not: a link works once. An unknown
	// hash is ErrNotFound.
	TakeEmailChange(ctx context.Context, tokenHash string) (EmailChange, error)
	// DeleteEmailChanges deletes the customer's pending change, if any.
	DeleteEmailChanges(ctx context.Context, userID string) error
}

// EventScrubber rewrites the data of the audit log's events about a
// subject, for a deleted customer.
type EventScrubber interface {
	// ScrubEvents replaces the data of every event whose subject is
	// subject with what scrub returns for it, in the transaction in ctx if
	// any.
	ScrubEvents(ctx context.Context, subject string, scrub func(json.RawMessage) (json.RawMessage, error)) error
}
