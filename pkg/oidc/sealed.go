package oidc

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/gatehouse-id/gatehouse/storage"
)

// sealedAccessTokens issues the opaque access tokens of the
// client-credentials grant as sealed tokens: the token itself carries
// what introspection answers (client, scopes, audience, issue and expiry
// times, an id), encrypted and authenticated with XChaCha20-Poly1305
// under a key derived from the system secret. Nothing is written when one
// is issued, so the busiest grant of a machine-to-machine API costs no
// database write; its holder can neither read nor alter it, and to a
// client it is as opaque as any other (RFC 6749 §1.4).
//
// What a stored token gets from its row, a sealed one gets otherwise:
//   - revocation (RFC 7009) records the token's id until the token expires
//     (storage.TokenStore.RevokeSealedAccessToken), and every check asks
//     the store whether it was recorded, within the token cache's bound;
//   - a token of a client that was deleted is inactive (the same check,
//     within the same bound).
//
// An admin client's tokens are stored, not sealed (tokenStrategy): the
// system secret alone must not be enough to mint a token the admin API
// takes.
//
// XChaCha20's 192-bit random nonces make a repeated nonce out of reach
// however many tokens one key seals; AES-GCM's 96-bit ones would not be at
// this grant's rate.
type sealedAccessTokens struct {
	aead cipher.AEAD
}

// newSealedAccessTokens returns the sealer keyed with key (32 bytes).
func newSealedAccessTokens(key []byte) (*sealedAccessTokens, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("oidc: sealed access tokens: %w", err)
	}
	return &sealedAccessTokens{aead: aead}, nil
}

// sealedVersion is the first byte of a sealed token's body; it is also
// authenticated, with the token's prefix, as the AEAD's additional data.
const sealedVersion = 1

// sealedKeyPrefix starts the storage key fosite is given for a sealed
// token: the sealed body itself, which no stored token's key (hex and
// base64url) can be mistaken for.
const sealedKeyPrefix = "sealed:"

// sealedIDPrefix starts the request ID of a sealed token's request, as
// fosite's revocation handler hands it back: sealed:EXPIRY:ID:CLIENT
// (EXPIRY in Unix milliseconds), so that the revocation knows its token's
// client and how long to keep its record.
const sealedIDPrefix = "sealed:"

// revocationMargin keeps a revocation record this long past its token's
// expiry, so that a replica whose clock is behind the one that collects
// expired rows still finds the record while it takes the token as live.
const revocationMargin = 5 * time.Minute

// sealedClaims is a sealed token's content. Times are Unix milliseconds.
type sealedClaims struct {
	ID       string   `json:"j"`
	ClientID string   `json:"c"`
	Scopes   []string `json:"s,omitempty"`
	Audience []string `json:"a,omitempty"`
	IssuedAt int64    `json:"i"`
	Expires  int64    `json:"e"`
}

// sealedAdditionalData binds a sealed body to its kind and version.
var sealedAdditionalData = []byte(prefix("at") + strconv.Itoa(sealedVersion))

// generate seals the access token of a client-credentials request and
// returns it with its storage key.
func (t *sealedAccessTokens) generate(r fosite.Requester) (token, key string, err error) {
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		return "", "", errors.New("oidc: sealed access token: the request has no access token expiry")
	}
	plain, err := json.Marshal(sealedClaims{
		ID:       r.GetID(),
		ClientID: r.GetClient().GetID(),
		Scopes:   r.GetGrantedScopes(),
		Audience: r.GetGrantedAudience(),
		IssuedAt: r.GetRequestedAt().UnixMilli(),
		Expires:  exp.UnixMilli(),
	})
	if err != nil {
		return "", "", fmt.Errorf("oidc: sealed access token: %w", err)
	}
	n := t.aead.NonceSize()
	sealed := make([]byte, 1+n, 1+n+len(plain)+t.aead.Overhead())
	sealed[0] = sealedVersion
	if _, err := rand.Read(sealed[1:]); err != nil {
		return "", "", fmt.Errorf("oidc: sealed access token: %w", err)
	}
	sealed = t.aead.Seal(sealed, sealed[1:1+n], plain, sealedAdditionalData)
	body := base64.RawURLEncoding.EncodeToString(sealed)
	return prefix("at") + body, sealedKeyPrefix + body, nil
}

// isSealedToken tells a sealed access token from a stored one, whose body
// is KEY.SIGNATURE.
func isSealedToken(token string) bool {
	body, ok := strings.CutPrefix(token, prefix("at"))
	return ok && body != "" && !strings.Contains(body, ".")
}

// sealedStorageKey returns a sealed token's storage key.
func sealedStorageKey(token string) string {
	return sealedKeyPrefix + strings.TrimPrefix(token, prefix("at"))
}

// errSealedInvalid is a sealed body that does not open: forged, altered,
// sealed under another system secret, or not a sealed token at all.
var errSealedInvalid = errors.New("oidc: not a valid sealed access token")

// open returns the claims of the sealed token whose storage key is key.
func (t *sealedAccessTokens) open(key string) (sealedClaims, error) {
	body, ok := strings.CutPrefix(key, sealedKeyPrefix)
	if !ok {
		return sealedClaims{}, errSealedInvalid
	}
	sealed, err := base64.RawURLEncoding.DecodeString(body)
	n := t.aead.NonceSize()
	if err != nil || len(sealed) < 1+n+t.aead.Overhead() || sealed[0] != sealedVersion {
		return sealedClaims{}, errSealedInvalid
	}
	plain, err := t.aead.Open(nil, sealed[1:1+n], sealed[1+n:], sealedAdditionalData)
	if err != nil {
		return sealedClaims{}, errSealedInvalid
	}
	var c sealedClaims
	if err := json.Unmarshal(plain, &c); err != nil || c.ID == "" || c.ClientID == "" {
		return sealedClaims{}, errSealedInvalid
	}
	return c, nil
}

// sealedRequestID names a sealed token's request for fosite's revocation
// handler: its expiry, id and client.
func sealedRequestID(c sealedClaims) string {
	return sealedIDPrefix + strconv.FormatInt(c.Expires, 10) + ":" + c.ID + ":" + c.ClientID
}

// parseSealedRequestID undoes sealedRequestID. The id is a UUID and has no
// colon; the client's id, last, is taken whole.
func parseSealedRequestID(requestID string) (c sealedClaims, ok bool) {
	rest, ok := strings.CutPrefix(requestID, sealedIDPrefix)
	if !ok {
		return sealedClaims{}, false
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return sealedClaims{}, false
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return sealedClaims{}, false
	}
	return sealedClaims{ID: parts[1], ClientID: parts[2], Expires: exp}, true
}

// revokeSealed records the revocation of the sealed token c.
func revokeSealed(ctx context.Context, store storage.Store, c sealedClaims) error {
	return store.RevokeSealedAccessToken(ctx, c.ID, c.ClientID, time.UnixMilli(c.Expires).Add(revocationMargin))
}

// request rebuilds the request of the sealed token whose storage key is
// key, as a stored token's row would: its client read from the store, its
// session filled into session when that is a *Session (a fresh one
// otherwise). A token that does not open, has expired (checked first, so
// it costs no read), was revoked, or whose client is gone is
// storage.ErrNotFound: inactive. A failure of the store is returned as
// such, never as inactive or active.
func (t *sealedAccessTokens) request(ctx context.Context, store storage.Store, key string, session fosite.Session) (fosite.Requester, error) {
	c, err := t.open(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	if !time.Now().Before(time.UnixMilli(c.Expires)) {
		return nil, fmt.Errorf("oidc: sealed access token expired: %w", storage.ErrNotFound)
	}
	revoked, err := store.SealedAccessTokenRevoked(ctx, c.ID, c.ClientID)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, fmt.Errorf("oidc: sealed access token revoked: %w", storage.ErrNotFound)
	}
	client, err := store.GetClient(ctx, c.ClientID)
	if err != nil {
		return nil, err
	}
	sess, ok := session.(*Session)
	if !ok {
		sess = newSession()
	}
	sess.Subject = c.ClientID
	sess.SetExpiresAt(fosite.AccessToken, time.UnixMilli(c.Expires).UTC())
	req := fosite.NewRequest()
	req.ID = sealedRequestID(c)
	req.RequestedAt = time.UnixMilli(c.IssuedAt).UTC()
	req.Client = client
	req.Form = url.Values{}
	req.Session = sess
	req.RequestedScope = fosite.Arguments(c.Scopes)
	req.GrantedScope = fosite.Arguments(c.Scopes)
	req.RequestedAudience = fosite.Arguments(c.Audience)
	req.GrantedAudience = fosite.Arguments(c.Audience)
	return req, nil
}

// sealingStore is the store fosite and the token lookups see: Gatehouse's
// store, except that a sealed access token is never written, is read from
// itself, and is revoked by recording its id.
type sealingStore struct {
	storage.Store
	sealed *sealedAccessTokens
}

// CreateAccessTokenSession stores an access token, unless it is sealed.
func (s *sealingStore) CreateAccessTokenSession(ctx context.Context, key string, r fosite.Requester) error {
	if strings.HasPrefix(key, sealedKeyPrefix) {
		return nil
	}
	return s.Store.CreateAccessTokenSession(ctx, key, r)
}

// GetAccessTokenSession returns an access token's request.
func (s *sealingStore) GetAccessTokenSession(ctx context.Context, key string, session fosite.Session) (fosite.Requester, error) {
	if strings.HasPrefix(key, sealedKeyPrefix) {
		return s.sealed.request(ctx, s.Store, key, session)
	}
	return s.Store.GetAccessTokenSession(ctx, key, session)
}

// GetAccessTokenShared returns an access token's request for a read-only
// look-up; a sealed token's is its own.
func (s *sealingStore) GetAccessTokenShared(ctx context.Context, key string, newSession func() fosite.Session) (fosite.Requester, error) {
	if strings.HasPrefix(key, sealedKeyPrefix) {
		return s.sealed.request(ctx, s.Store, key, newSession())
	}
	return s.Store.GetAccessTokenShared(ctx, key, newSession)
}

// DeleteAccessTokenSession deletes an access token; a sealed one is
// revoked.
func (s *sealingStore) DeleteAccessTokenSession(ctx context.Context, key string) error {
	if strings.HasPrefix(key, sealedKeyPrefix) {
		c, err := s.sealed.open(key)
		if err != nil {
			return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
		}
		return revokeSealed(ctx, s.Store, c)
	}
	return s.Store.DeleteAccessTokenSession(ctx, key)
}

// RevokeAccessToken revokes the access tokens of a request; for a sealed
// token's request, the token.
func (s *sealingStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	if c, ok := parseSealedRequestID(requestID); ok {
		return revokeSealed(ctx, s.Store, c)
	}
	return s.Store.RevokeAccessToken(ctx, requestID)
}
