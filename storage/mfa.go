package storage

import (
	"context"
	"time"
)

// TOTP is a customer's authenticator-app credential (RFC 6238). The key is
// sealed (pkg/secret) before it reaches the store; the store never sees it
// in the clear.
type TOTP struct {
	// UserID is the customer; a customer has at most one.
	UserID string
	// SealedKey is the shared secret, sealed with the customer's ID as
	// additional data.
	SealedKey []byte
	// Confirmed says the customer proved, with a first code, that their
	// app holds the key; an unconfirmed credential is an enrolment under
	// way and counts for nothing.
	Confirmed bool
	// LastStep is the last time step (Unix time / 30 s) whose code was
	// accepted; a code of that step or an earlier one is refused, so each
	// code is accepted once (RFC 6238 §5.2).
	LastStep int64
	// CreatedAt is set by the store.
	CreatedAt time.Time
}

// MFAStore keeps customers' second factors: the TOTP credential and the
// recovery codes (their keyed hashes). The users table's MFA flag follows
// them: ConfirmTOTP sets it, DeleteTOTP and DeleteMFA clear it, in the
// same statement's transaction.
type MFAStore interface {
	// GetTOTP returns the customer's credential, confirmed or not, or
	// ErrNotFound.
	GetTOTP(ctx context.Context, userID string) (TOTP, error)
	// PutTOTP stores an unconfirmed credential, replacing an unconfirmed
	// one; ErrAlreadyExists when the customer has a confirmed one.
	PutTOTP(ctx context.Context, t TOTP) error
	// ConfirmTOTP marks the unconfirmed credential confirmed with step as
	// its last used step, and sets the customer's MFA flag; ErrNotFound
	// when there is no unconfirmed credential.
	ConfirmTOTP(ctx context.Context, userID string, step int64) error
	// UseTOTPStep records step as the last used one if it is later than
	// the stored one: of two concurrent uses of one code exactly one
	// succeeds. ErrConflict when step is not later; ErrNotFound when the
	// customer has no confirmed credential.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// ReplaceRecoveryCodes replaces the customer's recovery codes with
	// these keyed hashes, all unused.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	// UseRecoveryCode marks the unused code with the hash used at the
	// time; ErrNotFound when the customer has no such unused code. Of two
	// concurrent uses exactly one succeeds.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error
	// CountRecoveryCodes returns how many unused recovery codes the
	// customer has.
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteMFA removes the customer's TOTP credential and recovery codes
	// and clears the MFA flag unless a passkey remains (PasskeyStore); it
	// reports whether there was a confirmed credential.
	DeleteMFA(ctx context.Context, userID string) (bool, error)
}
