package storage

import (
	"context"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"
)

// Store is everything Gatehouse persists.
type Store interface {
	ClientStore
	SigningKeyStore
	TokenStore
	UserStore
	ImportStore
	SessionStore
	ConsentStore
	AuthRequestStore
	RegistrationTokenStore
	IdentityStore
	AdminStore
	ThrottleStore
	EventStore
	JobStore
	WebhookStore
	MFAStore
	EmailTokenStore
	Transactor
	PasskeyStore
	Collector
	RoleStore
	MFADeviceStore

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database connections after pending writes finish.
	Close() error
}

// SessionAppender is implemented by a fosite session that can append its
// own JSON to a buffer, faster than encoding/json. Its output must decode
// back through encoding/json into the same session.
type SessionAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// Page asks for one page of a listing ordered by ID.
type Page struct {
	// After is the cursor: only objects with an ID greater than it are listed.
	After string
	// Limit caps the number of objects returned; 0 means the store's default.
	Limit int
}

// ClientStore keeps OAuth 2.0 clients.
type ClientStore interface {
	// CreateClient stores a new client; ErrAlreadyExists if the ID is taken.
	CreateClient(ctx context.Context, c Client) error
	// LookupClient returns the client with the ID, or ErrNotFound, as
	// stored now.
	LookupClient(ctx context.Context, id string) (Client, error)
	// CachedClient returns the client as the protocol endpoints see it,
	// through the same cache as fosite's GetClient: a change shows at once
	// on the replica that made it and within the client cache's TTL on the
	// others. The pages and the sign-in pipeline read clients this way.
	// The result shares its slices with the cache: callers must not modify
	// them. ErrNotFound if there is none.
	CachedClient(ctx context.Context, id string) (Client, error)
	// ListClients returns clients ordered by ID.
	ListClients(ctx context.Context, page Page) ([]Client, error)
	// UpdateClient applies update to the stored client atomically.
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) error
	// DeleteClient removes the client, every token issued to it and its
	// roles with their assignments, atomically.
	DeleteClient(ctx context.Context, id string) error
}

// SigningKeyStore keeps the server's signing keys.
type SigningKeyStore interface {
	// ListSigningKeys returns every key, retired ones included, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// ActivateSigningKey stores k as the active key of its algorithm and, in
	// the same transaction, demotes the previously active key of that
	// algorithm to KeyPublished. When onlyIfNone is true and an active key of
	// the algorithm already exists, nothing is written and ErrAlreadyExists is
	// returned; this lets several replicas race to create the first keys.
	ActivateSigningKey(ctx context.Context, k SigningKey, onlyIfNone bool) error
	// RetireSigningKey erases the private part of a published key and removes
	// it from the JWKS. An active key cannot be retired (ErrKeyInUse).
	RetireSigningKey(ctx context.Context, kid string) error
}

// TokenStore keeps authorization codes, access and refresh tokens, and the
// OpenID Connect and PKCE data attached to codes, under fosite's contracts:
//
//   - GetAuthorizeCodeSession of an invalidated code returns the stored
//     request together with fosite.ErrInvalidatedAuthorizeCode.
//   - GetRefreshTokenSession of a rotated or revoked refresh token returns the
//     stored request together with fosite.ErrInactiveToken.
//   - RotateRefreshToken marks the old refresh token inactive (never deletes
//     it) and deletes the access tokens of the request; of two concurrent
//     rotations of one token exactly one succeeds, the other gets ErrConflict.
//   - RevokeRefreshToken and RevokeAccessToken act on every token of the
//     request ID, i.e. the whole token family.
//   - Get*Session accepts a nil session prototype (revocation passes one).
//   - Methods join the transaction that BeginTX put in the context.
//   - A session is stored as its JSON; one that implements SessionAppender
//     is encoded through it, without reflection.
type TokenStore interface {
	fosite.ClientManager
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	openid.OpenIDConnectRequestStorage
	pkce.PKCERequestStorage
	fositestorage.Transactional

	// RevokeTokensOf revokes every access and refresh token issued to the
	// client for the subject; an empty clientID means every client.
	RevokeTokensOf(ctx context.Context, subject, clientID string) error

	// GetAccessTokenShared returns an access token's request like
	// GetAccessTokenSession, decoding its session into one newSession
	// makes; but the request may be shared with other callers while the
	// store's token cache keeps the token, so the caller must not change
	// it or its session. For the read-only look-ups of a resource
	// server's hot path (introspection, userinfo).
	GetAccessTokenShared(ctx context.Context, signature string, newSession func() fosite.Session) (fosite.Requester, error)

	// RevokeSealedAccessToken records that the sealed access token id of
	// clientID (a self-contained token the store never held, see
	// pkg/oidc) is revoked. The record is kept until keepUntil, once the
	// token has expired anyway. Revoking one twice is not an error.
	RevokeSealedAccessToken(ctx context.Context, id, clientID string, keepUntil time.Time) error
	// SealedAccessTokenRevoked reports whether the sealed access token id
	// of clientID is revoked: RevokeSealedAccessToken recorded it, or the
	// client no longer exists. Like an access token's read it may be
	// answered from a cache bounded by the store's token cache TTL: a
	// revocation or a client's deletion through this store is seen at
	// once, one through another replica within the TTL.
	SealedAccessTokenRevoked(ctx context.Context, id, clientID string) (bool, error)
}
