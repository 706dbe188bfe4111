package gormstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
	"github.com/gatehouse-id/gatehouse/storage"
)

// Token kinds, the first half of the tokens table's key.
const (
	kindCode    = "ac"
	kindAccess  = "at"
	kindRefresh = "rt"
	kindOIDC    = "oidc"
	kindPKCE    = "pkce"
)

// tokenRow is one row of the tokens table.
type tokenRow struct {
	Kind        string       `gorm:"column:kind;primaryKey"`
	Signature   string       `gorm:"column:signature;primaryKey"`
	RequestID   string       `gorm:"column:request_id"`
	ClientID    string       `gorm:"column:client_id"`
	Subject     string       `gorm:"column:subject"`
	Active      bool         `gorm:"column:active"`
	RequestedAt time.Time    `gorm:"column:requested_at"`
	ExpiresAt   sql.NullTime `gorm:"column:expires_at"`
	Data        string       `gorm:"column:data"`

	// decoded holds the row's request once GetAccessTokenShared has
	// decoded it, for every copy of a row in the token cache; nil for a
	// row read outside the cache.
	decoded *decodedRequest
}

// decodedRequest is a cached row's request, decoded at most once a read.
type decodedRequest struct {
	req atomic.Pointer[fosite.Request]
}

func (tokenRow) TableName() string { return "tokens" }

// requestData is the part of a fosite request kept as JSON. newTokenRow
// writes it by hand, under these names.
type requestData struct {
	RequestedScope    []string        `json:"rs,omitempty"`
	GrantedScope      []string        `json:"gs,omitempty"`
	RequestedAudience []string        `json:"ra,omitempty"`
	GrantedAudience   []string        `json:"ga,omitempty"`
	Form              string          `json:"f,omitempty"`
	Session           json.RawMessage `json:"s,omitempty"`
}

// newTokenRow serializes a fosite request. The expiry kept for garbage
// collection is the session's expiry of the given token type. The JSON is
// appended by hand (every token written pays for it): the requestData
// members, each left out when empty, then the session.
func newTokenRow(kind, signature string, r fosite.Requester, expiry fosite.TokenType) (tokenRow, error) {
	row := tokenRow{
		Kind:        kind,
		Signature:   signature,
		RequestID:   r.GetID(),
		ClientID:    r.GetClient().GetID(),
		Active:      true,
		RequestedAt: r.GetRequestedAt().UTC(),
	}
	data := make([]byte, 0, 512)
	data = append(data, '{')
	for _, m := range [...]struct {
		name   string
		values []string
	}{{"rs", r.GetRequestedScopes()}, {"gs", r.GetGrantedScopes()}, {"ra", r.GetRequestedAudience()}, {"ga", r.GetGrantedAudience()}} {
		if len(m.values) > 0 {
			data = jsonw.Strings(jsonw.Key(data, m.name), m.values)
		}
	}
	if form := r.GetRequestForm().Encode(); form != "" {
		data = jsonw.String(jsonw.Key(data, "f"), form)
	}
	if sess := r.GetSession(); sess != nil {
		var err error
		if data, err = appendSession(jsonw.Key(data, "s"), sess); err != nil {
			return tokenRow{}, fmt.Errorf("encode session: %w", err)
		}
		row.Subject = sess.GetSubject()
		row.ExpiresAt = toNullTime(sess.GetExpiresAt(expiry))
	}
	row.Data = string(append(data, '}'))
	return row, nil
}

// appendSession appends the session's JSON, through its own encoder when
// it has one.
func appendSession(dst []byte, sess fosite.Session) ([]byte, error) {
	if a, ok := sess.(storage.SessionAppender); ok {
		return a.AppendJSON(dst)
	}
	raw, err := json.Marshal(sess)
	if err != nil {
		return dst, err
	}
	return append(dst, raw...), nil
}

// toRequest rebuilds the fosite request, decoding the session into the
// prototype when one is given.
func (s *Store) toRequest(ctx context.Context, row tokenRow, session fosite.Session) (*fosite.Request, error) {
	var d requestData
	if err := json.Unmarshal([]byte(row.Data), &d); err != nil {
		return nil, fmt.Errorf("decode request %s: %w", row.RequestID, err)
	}
	client, err := s.GetClient(ctx, row.ClientID)
	if err != nil {
		return nil, fmt.Errorf("client of request %s: %w", row.RequestID, err)
	}
	form, err := url.ParseQuery(d.Form)
	if err != nil {
		return nil, fmt.Errorf("decode form of request %s: %w", row.RequestID, err)
	}
	if session != nil && len(d.Session) > 0 {
		if err := json.Unmarshal(d.Session, session); err != nil {
			return nil, fmt.Errorf("decode session of request %s: %w", row.RequestID, err)
		}
	}
	return &fosite.Request{
		ID:                row.RequestID,
		RequestedAt:       row.RequestedAt.UTC(),
		Client:            client,
		RequestedScope:    orEmpty(d.RequestedScope),
		GrantedScope:      orEmpty(d.GrantedScope),
		RequestedAudience: orEmpty(d.RequestedAudience),
		GrantedAudience:   orEmpty(d.GrantedAudience),
		Form:              form,
		Session:           session,
	}, nil
}

func orEmpty(a []string) fosite.Arguments {
	if a == nil {
		return fosite.Arguments{}
	}
	return a
}

// createToken writes a row: inside the caller's transaction when there is
// one, otherwise through the group-commit writer.
func (s *Store) createToken(ctx context.Context, kind, signature string, r fosite.Requester, expiry fosite.TokenType) error {
	row, err := newTokenRow(kind, signature, r, expiry)
	if err != nil {
		return fmt.Errorf("gormstore: create %s: %w", kind, err)
	}
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return mapError("gormstore: create "+kind, tx.Create(&row).Error)
	}
	return mapError("gormstore: create "+kind, s.tokens.insert(ctx, row))
}

// getToken reads a row and rebuilds its request. It returns the request
// even for an inactive row, with active false. Access tokens are read
// through the token cache outside transactions.
func (s *Store) getToken(ctx context.Context, kind, signature string, session fosite.Session) (fosite.Requester, bool, error) {
	row, err := s.readToken(ctx, kind, signature)
	if err != nil {
		return nil, false, err
	}
	if row.ExpiresAt.Valid && kind != kindAccess && kind != kindRefresh && row.ExpiresAt.Time.Before(time.Now()) {
		// Codes and their PKCE/OIDC data past their expiry are as good as
		// gone. (Access and refresh tokens are checked by fosite, which
		// answers with the precise error.)
		return nil, false, fmt.Errorf("gormstore: get %s: %w", kind, storage.ErrExpired)
	}
	req, err := s.toRequest(ctx, row, session)
	if err != nil {
		return nil, false, fmt.Errorf("gormstore: get %s: %w", kind, err)
	}
	return req, row.Active, nil
}

// readToken reads a row, from the token cache when it may.
func (s *Store) readToken(ctx context.Context, kind, signature string) (tokenRow, error) {
	cached := kind == kindAccess && !inTransaction(ctx)
	start := time.Now()
	if cached {
		if row, ok := s.accessTokens.get(signature, start); ok {
			return row, nil
		}
	}
	var row tokenRow
	if err := s.reader(ctx).Where("kind = ? AND signature = ?", kind, signature).Take(&row).Error; err != nil {
		return tokenRow{}, mapError("gormstore: get "+kind, err)
	}
	if cached {
		row.decoded = &decodedRequest{}
		s.accessTokens.put(row, start)
	}
	return row, nil
}

// forgetAccessTokens makes the cached access tokens of a request (of every
// request, when requestID is "") unusable: now, and again once the
// transaction in ctx commits, so that no read made before the commit is
// used after it.
func (s *Store) forgetAccessTokens(ctx context.Context, requestID string) {
	if requestID == "" {
		s.changeCached(ctx, s.accessTokens.changeAll)
		return
	}
	s.changeCached(ctx, func() { s.accessTokens.change(requestID) })
}

func (s *Store) deleteToken(ctx context.Context, kind, signature string) error {
	if kind == kindAccess {
		// Rare (fosite revokes by request): forget every cached token.
		defer s.forgetAccessTokens(ctx, "")
	}
	res := s.writer(ctx).Exec("DELETE FROM tokens WHERE kind = ? AND signature = ?", kind, signature)
	if res.Error != nil {
		return mapError("gormstore: delete "+kind, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete %s: %w", kind, storage.ErrNotFound)
	}
	return nil
}

// CreateAuthorizeCodeSession stores an authorization code by signature.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createToken(ctx, kindCode, signature, r, fosite.AuthorizeCode)
}

// GetAuthorizeCodeSession returns the code's request; for a used code it
// returns the request together with fosite.ErrInvalidatedAuthorizeCode, so
// that fosite revokes the tokens issued from it (RFC 6749 §4.1.2).
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.getToken(ctx, kindCode, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks the code used. It keeps the row so
// that a second use is recognised. Of two concurrent exchanges only one
// succeeds; the other gets storage.ErrConflict.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	res := s.writer(ctx).Exec("UPDATE tokens SET active = ? WHERE kind = ? AND signature = ? AND active = ?", false, kindCode, signature, true)
	if res.Error != nil {
		return mapError("gormstore: invalidate code", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: invalidate code: already used or unknown: %w", storage.ErrConflict)
	}
	return nil
}

// CreateAccessTokenSession stores an access token by signature.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createToken(ctx, kindAccess, signature, r, fosite.AccessToken)
}

// GetAccessTokenSession returns the access token's request.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.getToken(ctx, kindAccess, signature, session)
	return req, err
}

// GetAccessTokenShared returns the access token's request as
// GetAccessTokenSession does, except that a request read through the
// token cache is decoded once (into a session from newSession) and then
// shared by every caller for as long as the cache keeps the row: callers
// must not change the request or its session. A resource server asks
// about the same token on every call, and decoding the row's JSON was
// most of an introspection's cost.
func (s *Store) GetAccessTokenShared(ctx context.Context, signature string, newSession func() fosite.Session) (fosite.Requester, error) {
	row, err := s.readToken(ctx, kindAccess, signature)
	if err != nil {
		return nil, err
	}
	if row.decoded != nil {
		if req := row.decoded.req.Load(); req != nil {
			return req, nil
		}
	}
	req, err := s.toRequest(ctx, row, newSession())
	if err != nil {
		return nil, fmt.Errorf("gormstore: get %s: %w", kindAccess, err)
	}
	// fosite's sessions make their expiry map on first read: make it now,
	// before the request is shared, so that no reader writes.
	req.Session.GetExpiresAt(fosite.AccessToken)
	if row.decoded != nil && !row.decoded.req.CompareAndSwap(nil, req) {
		// Another caller decoded it first: share theirs.
		return row.decoded.req.Load(), nil
	}
	return req, nil
}

// DeleteAccessTokenSession deletes one access token.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.deleteToken(ctx, kindAccess, signature)
}

// CreateRefreshTokenSession stores a refresh token by signature.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	return s.createToken(ctx, kindRefresh, signature, r, fosite.RefreshToken)
}

// GetRefreshTokenSession returns the refresh token's request; for a rotated
// or revoked token it returns the request together with
// fosite.ErrInactiveToken, so that fosite revokes the family (RFC 9700
// §4.14.2).
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.getToken(ctx, kindRefresh, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

// DeleteRefreshTokenSession deletes one refresh token. One already gone is
// not an error: fosite deletes a reused refresh token before revoking its
// family, and of several reuses at the same moment every one must go on to
// revoke (RFC 9700 §4.14.2) and answer invalid_grant.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	if err := s.deleteToken(ctx, kindRefresh, signature); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// RotateRefreshToken marks the old refresh token inactive and deletes the
// request's access tokens. The update is conditional on the token being
// active, so of two concurrent rotations exactly one wins.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	defer s.forgetAccessTokens(ctx, requestID)
	return s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE tokens SET active = ? WHERE kind = ? AND signature = ? AND request_id = ? AND active = ?",
			false, kindRefresh, signature, requestID, true)
		if res.Error != nil {
			return mapError("gormstore: rotate refresh token", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("gormstore: rotate refresh token: lost to a concurrent rotation or revoked: %w", storage.ErrConflict)
		}
		if err := tx.Exec("DELETE FROM tokens WHERE kind = ? AND request_id = ?", kindAccess, requestID).Error; err != nil {
			return mapError("gormstore: rotate refresh token", err)
		}
		return nil
	})
}

// RevokeRefreshToken deactivates every refresh token of the request.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	if s.oneLockAtATime(ctx) {
		err := s.eachTokenOf(ctx, kindRefresh, requestID, "UPDATE tokens SET active = ? WHERE kind = ? AND signature = ?", false, kindRefresh)
		return mapError("gormstore: revoke refresh tokens", err)
	}
	err := s.writer(ctx).Exec("UPDATE tokens SET active = ? WHERE kind = ? AND request_id = ?", false, kindRefresh, requestID).Error
	return mapError("gormstore: revoke refresh tokens", err)
}

// RevokeAccessToken deletes every access token of the request.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	var err error
	if s.oneLockAtATime(ctx) {
		err = s.eachTokenOf(ctx, kindAccess, requestID, "DELETE FROM tokens WHERE kind = ? AND signature = ?", kindAccess)
	} else {
		err = s.writer(ctx).Exec("DELETE FROM tokens WHERE kind = ? AND request_id = ?", kindAccess, requestID).Error
	}
	s.forgetAccessTokens(ctx, requestID)
	return mapError("gormstore: revoke access tokens", err)
}

// oneLockAtATime reports whether a revocation of a request's tokens
// should change them one row a statement: on PostgreSQL, outside a
// transaction. One statement that locks several rows can deadlock with a
// transaction revoking the same family in another order (fosite's path
// for a reused refresh token deletes the reused token, then revokes the
// rest, while the loser of the same race revokes them all at once; seen
// as 40P01 under load). A statement that holds one lock at a time cannot
// be part of such a cycle. Inside a transaction the locks are held to its
// end anyway, and SQLite has one writer.
func (s *Store) oneLockAtATime(ctx context.Context) bool {
	return s.kind == Postgres && !inTransaction(ctx)
}

// eachTokenOf runs stmt, whose last placeholder is a signature, once for
// each token of the kind and request, each statement its own transaction.
func (s *Store) eachTokenOf(ctx context.Context, kind, requestID, stmt string, args ...any) error {
	var signatures []string
	if err := s.write.WithContext(ctx).Raw("SELECT signature FROM tokens WHERE kind = ? AND request_id = ?", kind, requestID).
		Scan(&signatures).Error; err != nil {
		return err
	}
	for _, sig := range signatures {
		if err := s.write.WithContext(ctx).Exec(stmt, append(args, sig)...).Error; err != nil {
			return err
		}
	}
	return nil
}

// oidcKey turns the raw authorization code, under which fosite keeps the
// OpenID Connect request, into a key that is useless to a database reader.
func oidcKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// CreateOpenIDConnectSession stores the OpenID Connect request of a code.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.createToken(ctx, kindOIDC, oidcKey(code), r, fosite.AuthorizeCode)
}

// GetOpenIDConnectSession returns the OpenID Connect request of a code,
// decoded into a fresh session of the live request's session type.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, code string, live fosite.Requester) (fosite.Requester, error) {
	var proto fosite.Session
	if live != nil && live.GetSession() != nil {
		proto = newSessionLike(live.GetSession())
	}
	req, _, err := s.getToken(ctx, kindOIDC, oidcKey(code), proto)
	return req, err
}

// DeleteOpenIDConnectSession deletes the OpenID Connect request of a code.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.deleteToken(ctx, kindOIDC, oidcKey(code))
}

// CreatePKCERequestSession stores the PKCE challenge of a code.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.createToken(ctx, kindPKCE, signature, r, fosite.AuthorizeCode)
}

// GetPKCERequestSession returns the PKCE request of a code.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.getToken(ctx, kindPKCE, signature, session)
	return req, err
}

// DeletePKCERequestSession is called by fosite when a code is exchanged,
// before the code is invalidated. It keeps the row, which expires with the
// code: of two exchanges of one code at the same moment, both pass the
// PKCE check and the loser must go on to lose at the code's invalidation,
// which waits for the winner's tokens to commit, so that the loser can
// revoke them (RFC 6749 §4.1.2). Were the row gone, the loser would fail
// earlier, before the winner's tokens exist. A used code is refused before
// its PKCE data is read, so the data is of no further use.
func (s *Store) DeletePKCERequestSession(context.Context, string) error { return nil }

// ClientAssertionJWTValid returns fosite.ErrJTIKnown when the jti was seen
// and has not expired.
func (s *Store) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	var n int64
	err := s.reader(ctx).Table("client_assertion_jtis").Where("jti = ? AND expires_at > ?", jti, time.Now().UTC()).Count(&n).Error
	if err != nil {
		return mapError("gormstore: check jti", err)
	}
	if n > 0 {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT records a jti until exp. A jti already recorded and
// still valid is refused with fosite.ErrJTIKnown.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	now := time.Now().UTC()
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM client_assertion_jtis WHERE jti = ? AND expires_at <= ?", jti, now).Error; err != nil {
			return err
		}
		return tx.Exec("INSERT INTO client_assertion_jtis (jti, expires_at) VALUES (?, ?)", jti, exp.UTC()).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fosite.ErrJTIKnown
	}
	return mapError("gormstore: record jti", err)
}

// RevokeTokensOf deletes the subject's access tokens and deactivates its
// refresh tokens, of the one client or, when clientID is empty, of every
// client, in one transaction. Authorization codes not yet exchanged are
// left alone. An empty subject is refused: it would match every token
// issued to no one (the client credentials grant's).
func (s *Store) RevokeTokensOf(ctx context.Context, subject, clientID string) error {
	if subject == "" {
		return errors.New("gormstore: revoke tokens of a subject: empty subject")
	}
	where, args := "subject = ?", []any{subject}
	if clientID != "" {
		where, args = "client_id = ? AND subject = ?", []any{clientID, subject}
	}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM tokens WHERE kind = ? AND "+where, append([]any{kindAccess}, args...)...).Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE tokens SET active = ? WHERE kind = ? AND "+where, append([]any{false, kindRefresh}, args...)...).Error
	})
	s.forgetAccessTokens(ctx, "")
	return mapError("gormstore: revoke tokens of a subject", err)
}

// newSessionLike returns a new, empty session of the same concrete type as
// s, to decode a stored session into without inheriting s's fields.
func newSessionLike(s fosite.Session) fosite.Session {
	t := reflect.TypeOf(s)
	if t.Kind() != reflect.Pointer {
		return s.Clone()
	}
	fresh, ok := reflect.New(t.Elem()).Interface().(fosite.Session)
	if !ok {
		return s.Clone()
	}
	return fresh
}

// CountTokens returns how many rows of each token kind are stored, active
// or not; for operators and tests.
func (s *Store) CountTokens(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Kind string
		N    int64
	}
	if err := s.reader(ctx).Raw("SELECT kind, COUNT(*) AS n FROM tokens GROUP BY kind").Scan(&rows).Error; err != nil {
		return nil, mapError("gormstore: count tokens", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Kind] = r.N
	}
	return out, nil
}
