package storage

import (
	"context"
	"time"
)

// Identity links a customer to their account at an upstream identity
// provider (Google, Facebook, another OpenID provider, ...), so that signing
// in there signs them in here. A provider account is linked to at most one
// customer, and a customer has at most one account per provider.
type Identity struct {
	// Provider is the provider's ID in Gatehouse's configuration, e.g.
	// "google"; it is part of the callback URL registered at the provider.
	Provider string
	// Subject is the provider's stable identifier of the account (OpenID
	// Connect "sub", Facebook's app-scoped user id, GitHub's numeric id).
	Subject string
	// UserID is the linked customer.
	UserID string
	// Email is the address the provider reported at the last sign-in, shown
	// on the account page; it may be empty and is not the customer's email.
	Email string
	// CreatedAt is when the account was linked; LastUsedAt when it last
	// signed the customer in. Both are set by the store on create.
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Purposes of a FederationState: what a sign-in at an upstream provider is
// for.
const (
	// FederationLogin signs a customer in for a pending authorization
	// request (FederationState.AuthRequestID).
	FederationLogin = "login"
	// FederationAccount signs a customer in to the account page.
	FederationAccount = "account"
	// FederationLink links another provider to the signed-in customer
	// (FederationState.UserID), from the account page.
	FederationLink = "link"
)

// FederationState is a sign-in at an upstream identity provider in progress:
// what Gatehouse must remember between sending the browser to the provider
// and the provider sending it back. It is found by the callback's state
// parameter alone, so that a cross-site form_post callback, which carries no
// SameSite=Lax cookie, can still be matched; it is used once and expires.
type FederationState struct {
	// ID is the SHA-256 (hex) of the state parameter; the state itself is
	// not stored.
	ID string
	// Provider is the provider's ID; a callback for another provider does
	// not match.
	Provider string
	// Purpose is FederationLogin, FederationAccount or FederationLink.
	Purpose string
	// Session is the provider's session from goth's BeginAuth (its JSON),
	// needed to finish the sign-in. It holds no token.
	Session string
	// Nonce and CodeVerifier are the OpenID Connect nonce and the PKCE
	// verifier sent with the request, for the providers that support them.
	Nonce        string
	CodeVerifier string
	// BrowserBinding is the hash of the device cookie of the browser that
	// started the sign-in; only that browser may finish it.
	BrowserBinding string
	// AuthRequestID is the pending authorization request to continue
	// (FederationLogin).
	AuthRequestID string
	// UserID is the signed-in customer to link the account to
	// (FederationLink).
	UserID string
	// PendingLinkID is, when the sign-in confirms a PendingLink, that link's
	// ID.
	PendingLinkID string
	// Callback holds the parameters of a callback that arrived as a
	// cross-site POST (response_mode=form_post), URL-encoded, until the
	// browser comes back with a same-site GET that carries its cookies.
	Callback string
	// CreatedAt and ExpiresAt bound the sign-in.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PendingLink is an upstream account whose email belongs to an existing
// customer, waiting for that customer to confirm the link by signing in
// once with a way they already have. It expires and is used once.
type PendingLink struct {
	// ID is the SHA-256 (hex) of the token the sign-in page carries.
	ID string
	// Provider and Subject name the upstream account.
	Provider string
	Subject  string
	// UserID is the customer who has the email.
	UserID string
	// Email is the address the provider reported.
	Email string
	// BrowserBinding is the hash of the device cookie of the browser that
	// came back from the provider; only that browser may confirm.
	BrowserBinding string
	// AuthRequestID is the pending authorization request the customer was
	// signing in for, or "" when signing in to the account page.
	AuthRequestID string
	// CreatedAt and ExpiresAt bound the confirmation.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// IdentityStore keeps the links between customers and upstream accounts,
// and the state of sign-ins at upstream providers.
type IdentityStore interface {
	// CreateIdentity links an upstream account to a customer;
	// ErrAlreadyExists when the account is linked already (to anyone) or the
	// customer already has an account at that provider.
	CreateIdentity(ctx context.Context, id Identity) error
	// CreateUserWithIdentity stores a new customer and links the upstream
	// account to them in one transaction: both or neither.
	// ErrAlreadyExists as CreateUser and CreateIdentity.
	CreateUserWithIdentity(ctx context.Context, u User, id Identity) error
	// GetIdentity returns the link of the upstream account, or ErrNotFound.
	GetIdentity(ctx context.Context, provider, subject string) (Identity, error)
	// ListIdentities returns the customer's links ordered by provider.
	ListIdentities(ctx context.Context, userID string) ([]Identity, error)
	// UpdateIdentity applies update to the stored link atomically; its
	// Provider, Subject, UserID and CreatedAt cannot change.
	UpdateIdentity(ctx context.Context, provider, subject string, update func(Identity) (Identity, error)) error
	// DeleteIdentity removes the customer's link to the provider. In the
	// same transaction, with the customer's row locked, it calls check with
	// the customer and the links that would remain; when check fails,
	// nothing is deleted and its error is returned as it is. This is how a
	// caller refuses to remove the last way to sign in, even against a
	// concurrent removal. ErrNotFound when there is no such link.
	DeleteIdentity(ctx context.Context, userID, provider string, check func(u User, remaining []Identity) error) error

	// CreateFederationState stores a sign-in in progress;
	// ErrAlreadyExists when the ID is taken.
	CreateFederationState(ctx context.Context, s FederationState) error
	// SetFederationCallback records the parameters of a form_post callback
	// on a live state that has none yet; ErrNotFound otherwise.
	SetFederationCallback(ctx context.Context, id, callback string) error
	// TakeFederationState deletes the state and returns it, so that it is
	// used once even by concurrent callbacks; an expired one is deleted too
	// but is ErrNotFound.
	TakeFederationState(ctx context.Context, id string) (FederationState, error)

	// CreatePendingLink stores a link waiting for confirmation.
	CreatePendingLink(ctx context.Context, l PendingLink) error
	// GetPendingLink returns a live pending link, or ErrNotFound.
	GetPendingLink(ctx context.Context, id string) (PendingLink, error)
	// TakePendingLink deletes the pending link and returns it; an expired
	// one is deleted too but is ErrNotFound.
	TakePendingLink(ctx context.Context, id string) (PendingLink, error)
}
