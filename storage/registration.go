package storage

import (
	"context"
	"time"
)

// RegistrationToken is an initial access token: it lets an integrator
// register clients at the registration endpoint (RFC 7591 §3).
type RegistrationToken struct {
	// ID is the keyed hash of the token; the token itself is never stored.
	ID string
	// UsesLeft is how many registrations it still allows; -1 is unlimited.
	UsesLeft  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// RegistrationTokenStore keeps initial access tokens.
type RegistrationTokenStore interface {
	// CreateRegistrationToken stores a new token.
	CreateRegistrationToken(ctx context.Context, t RegistrationToken) error
	// UseRegistrationToken spends one use of a live token, atomically; it
	// returns ErrNotFound for an unknown, expired or used-up token.
	UseRegistrationToken(ctx context.Context, id string, now time.Time) error
	// ListRegistrationTokens returns the live tokens, newest first.
	ListRegistrationTokens(ctx context.Context, now time.Time) ([]RegistrationToken, error)
	// DeleteRegistrationToken revokes a token.
	DeleteRegistrationToken(ctx context.Context, id string) error
}
