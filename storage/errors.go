package storage

import (
	"errors"
	"fmt"

	"github.com/ory/fosite"
)

// ErrNotFound is returned when the requested object does not exist. It
// matches fosite.ErrNotFound under errors.Is, so fosite's handlers turn it
// into the right protocol error (invalid_grant, invalid_client, ...).
var ErrNotFound = fosite.ErrNotFound

// ErrAlreadyExists is returned when a write would violate a uniqueness rule,
// whichever database reported it.
var ErrAlreadyExists = errors.New("storage: already exists")

// ErrConflict is returned when an update lost a race with a concurrent one.
// It wraps fosite.ErrSerializationFailure, which fosite's refresh flow turns
// into a retryable invalid_request.
var ErrConflict = fosite.ErrSerializationFailure

// ErrKeyInUse is returned when retiring a key that still signs.
var ErrKeyInUse = errors.New("storage: signing key is active; rotate it first")

// ErrUnavailable marks a failure of the database itself, not a verdict on
// the request: the connection was refused, broken or timed out, the disk
// failed or is full, the database is closed. A store wraps the driver's
// error with it (errors.Is finds both), and callers answer "try again
// later" (503 temporarily_unavailable, RFC 6749 §4.1.2.1) instead of
// reading the failure as an unknown client, token or account. It is
// distinct from ErrNotFound and is not a fosite error, so it survives
// fosite's wrapping (fosite.RFC6749Error.WithWrap keeps the cause).
var ErrUnavailable = errors.New("storage: database unavailable")

// ErrNotSearchable is returned when customers are asked for by the value
// of an attribute the store keeps no index of (not declared searchable),
// or by an attribute together with a prefix.
var ErrNotSearchable = errors.New("storage: not a searchable attribute")

// ErrExpired is returned, wrapped, for an authorization code (or its PKCE
// or OpenID Connect data) found past its expiry. It matches ErrNotFound
// under errors.Is, so fosite takes the code as gone (invalid_grant), and
// lets the token endpoint say that the code expired rather than that it
// is unknown.
var ErrExpired = fmt.Errorf("storage: expired: %w", ErrNotFound)
