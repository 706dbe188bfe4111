package storage

import (
	"context"
	"time"
)

// Purposes of an EmailToken.
const (
	// PurposeVerifyLink and PurposeVerifyCode are the link and the code of
	// one email-verification mail.
	PurposeVerifyLink = "verify_link"
	PurposeVerifyCode = "verify_code"
	// PurposeReset is a password-reset link.
	PurposeReset = "reset"
	// PurposeSignInCode is a passwordless sign-in code.
	PurposeSignInCode = "signin_code"
)

// EmailToken is a single-use secret Gatehouse mailed to a customer: a
// link's token or a one-time code. The store keeps only its keyed hash,
// never the secret.
type EmailToken struct {
	// Hash is the keyed hash of the secret (pkg/selfservice computes it);
	// the primary key.
	Hash string
	// Purpose is one of the Purpose* constants.
	Purpose string
	// UserID is the customer it was sent to.
	UserID string
	// Email is the address it was sent to: a verification counts only
	// while the customer's email is still this one.
	Email string
	// AuthRequestID is the authorization request the customer was on when
	// it was sent ("" for none), so the flow can go back to the app.
	AuthRequestID string
	// ExpiresAt is when it stops working; CreatedAt is set by the store.
	ExpiresAt time.Time
	CreatedAt time.Time
}

// EmailTokenStore keeps mailed single-use secrets. Each is used at most
// once: of concurrent uses exactly one succeeds.
type EmailTokenStore interface {
	// CreateEmailToken stores t in place of the customer's other tokens of
	// the same purpose (the latest mail wins); ErrAlreadyExists when the
	// hash is taken.
	CreateEmailToken(ctx context.Context, t EmailToken) error
	// UseEmailToken deletes the token with the hash and purpose and
	// returns it, if it has not expired at now; ErrNotFound when there is
	// none (never issued, used already, or expired).
	UseEmailToken(ctx context.Context, purpose, hash string, now time.Time) (EmailToken, error)
	// GetEmailToken returns the unexpired token with the hash and purpose
	// without using it (a page that shows a form before the token is
	// used); ErrNotFound as UseEmailToken.
	GetEmailToken(ctx context.Context, purpose, hash string, now time.Time) (EmailToken, error)
	// DeleteEmailTokens deletes the customer's tokens of the purposes.
	DeleteEmailTokens(ctx context.Context, userID string, purposes ...string) error
}
