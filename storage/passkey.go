package storage

import (
	"context"
	"time"
)

// Passkey is a customer's WebAuthn credential (a passkey, discoverable or
// not). A passkey is both a first factor (a sign-in on its own) and a
// second factor: while a customer has one, the users table's MFA flag is
// set, as for a confirmed TOTP credential.
type Passkey struct {
	// ID is the credential ID (WebAuthn §4 "Credential ID"), base64url
	// without padding; unique across customers.
	ID string
	// UserID is the customer.
	UserID string
	// Name is the customer's label ("Work laptop").
	Name string
	// Credential is the credential as pkg/passkey encodes it (public key,
	// flags, transports, attestation): opaque to the store.
	Credential []byte
	// SignCount is the last signature counter seen (WebAuthn §6.1.1).
	SignCount uint32
	// BackupEligible is the credential's BE flag (WebAuthn §6.1): a synced
	// passkey.
	BackupEligible bool
	// CreatedAt is set by the store; LastUsedAt is the zero time until the
	// first sign-in with it.
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// WebAuthnChallenge is the server-side state of one WebAuthn ceremony
// (its challenge and options), kept until the browser answers; it is
// taken once.
type WebAuthnChallenge struct {
	// ID is a random handle the browser carries back.
	ID string
	// Device is the hash of the browser's device cookie the ceremony is
	// bound to.
	Device string
	// UserID is the customer a registration or a second-factor ceremony is
	// for; "" for a sign-in with a discoverable credential.
	UserID string
	// Kind names the ceremony ("register", "login", "second").
	Kind string
	// Data is the ceremony's session data, opaque to the store.
	Data      []byte
	ExpiresAt time.Time
}

// PasskeyStore keeps customers' passkeys and the state of WebAuthn
// ceremonies under way. Creating a passkey sets the customer's MFA flag;
// deleting one recomputes it (set while a confirmed TOTP credential or a
// passkey remains), in the same transaction.
type PasskeyStore interface {
	// CreatePasskey stores a new passkey and sets the customer's MFA flag;
	// ErrAlreadyExists when the credential ID is taken.
	CreatePasskey(ctx context.Context, p Passkey) error
	// GetPasskey returns a passkey by credential ID, or ErrNotFound.
	GetPasskey(ctx context.Context, id string) (Passkey, error)
	// ListPasskeys returns the customer's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// UsePasskey records a sign-in with the passkey: its new counter,
	// credential and last use, on condition that the stored counter is
	// still oldCount, so of two concurrent uses of one assertion one
	// wins. ErrConflict when the counter moved; ErrNotFound when there is
	// no such passkey.
	UsePasskey(ctx context.Context, id string, oldCount, newCount uint32, credential []byte, at time.Time) error
	// RenamePasskey renames one of the customer's passkeys; ErrNotFound
	// when the customer has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes one of the customer's passkeys and recomputes
	// the MFA flag; ErrNotFound when the customer has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
	// DeletePasskeys removes all the customer's passkeys, recomputes the
	// MFA flag, and returns how many there were.
	DeletePasskeys(ctx context.Context, userID string) (int, error)
	// PutWebAuthnChallenge stores a ceremony's state. Expired ones are
	// removed by the garbage collection (CollectWebAuthnChallenges).
	PutWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error
	// TakeWebAuthnChallenge removes and returns a ceremony's state: of two
	// concurrent takes one succeeds. ErrNotFound when there is none or it
	// expired before now.
	TakeWebAuthnChallenge(ctx context.Context, id string, now time.Time) (WebAuthnChallenge, error)
}
