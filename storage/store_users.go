package storage

import (
	"context"
	"time"
)

// UserStore keeps customers.
type UserStore interface {
	// CreateUser stores a new customer; ErrAlreadyExists if the ID or the
	// email is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the customer with the ID, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserRecent returns the customer as GetUser does, or as read a
	// moment ago: a change made through this store is seen at once, one
	// made by another replica within the store's cache TTL (the token
	// cache's). For reads on every API call: the userinfo endpoint.
	GetUserRecent(ctx context.Context, id string) (User, error)
	// GetUserByEmail returns the customer with the (case-insensitive) email,
	// or ErrNotFound.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser applies update to the stored customer atomically.
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) error
}

// SessionStore keeps browser sessions and the clients each one signed in to.
type SessionStore interface {
	// CreateSession stores a new browser session.
	CreateSession(ctx context.Context, s BrowserSession) error
	// GetSession returns the session whose ID (the cookie secret's hash) is
	// given, or ErrNotFound. It does not check expiry.
	GetSession(ctx context.Context, id string) (BrowserSession, error)
	// TouchSession moves the session's LastSeenAt forward.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession ends the session and returns it with the IDs of the
	// clients it signed in to; ErrNotFound if there was none.
	DeleteSession(ctx context.Context, id string) (BrowserSession, []string, error)
	// AddSessionClient records that the session signed in to the client.
	AddSessionClient(ctx context.Context, sessionID, clientID string) error
	// StepUpSession records a further authentication on a live session:
	// its new AuthTime, methods and class; the cookie, sid and lifetime
	// stay. ErrNotFound when the session is gone.
	StepUpSession(ctx context.Context, id string, authTime time.Time, amr []string, acr string) error
}

// ConsentStore keeps customers' consents.
type ConsentStore interface {
	// GetConsent returns the customer's consent for the client, or
	// ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID string) (Consent, error)
	// GrantConsent adds scopes to the customer's consent for the client,
	// creating it if needed.
	GrantConsent(ctx context.Context, userID, clientID string, scopes []string) error
}

// AuthRequestStore keeps authorization requests waiting for the customer.
type AuthRequestStore interface {
	// CreateAuthRequest stores a pending request.
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	// GetAuthRequest returns a pending request that has not expired, or
	// ErrNotFound.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// SetAuthRequestSession records the session that signed in for the
	// request.
	SetAuthRequestSession(ctx context.Context, id, sessionID string) error
	// DeleteAuthRequest removes a request that was answered.
	DeleteAuthRequest(ctx context.Context, id string) error
}
