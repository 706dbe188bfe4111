package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/storage"
)

// jwtAccessTokenType is the typ of an RFC 9068 access token (§2.1).
const jwtAccessTokenType = "at+jwt"

// tokenStrategy issues each client's access tokens in the format it
// registered (storage.Client.AccessTokenFormat): opaque tokens, or RFC
// 9068 JWTs. Refresh tokens and codes are always opaque. An opaque access
// token is a sealed one (sealedAccessTokens) when the client-credentials
// grant issues it to a client that is not an admin client, and otherwise
// one of prefixedHMACStrategy, stored under its key. A JWT is stored like
// an opaque token, under its jti, so that introspection, revocation (RFC
// 7009) and refresh-token rotation treat both alike.
type tokenStrategy struct {
	*prefixedHMACStrategy
	jwt    *jwtAccessTokens
	sealed *sealedAccessTokens
}

// GenerateAccessToken returns a new access token and its storage key.
func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	if c, ok := r.GetClient().(*storage.Client); ok && c.IssuesJWTAccessTokens() {
		return s.jwt.generate(ctx, r, time.Now())
	}
	if ar, ok := r.(fosite.AccessRequester); ok && ar.GetGrantTypes().ExactOne("client_credentials") && !isAdminClient(r.GetClient()) {
		return s.sealed.generate(r)
	}
	return s.prefixedHMACStrategy.GenerateAccessToken(ctx, r)
}

// isAdminClient reports whether c may use the admin API. Its tokens are
// stored even from the client-credentials grant: with a sealed one, the
// system secret alone would let its holder mint admin tokens offline.
func isAdminClient(c fosite.Client) bool {
	sc, ok := c.(*storage.Client)
	return ok && sc.Admin
}

// AccessTokenSignature returns an access token's storage key: a sealed
// token's body, a JWT's jti once its signature verifies, "" (which
// matches nothing) otherwise.
func (s *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	if isSealedToken(token) {
		return sealedStorageKey(token)
	}
	if !isJWT(token) {
		return s.prefixedHMACStrategy.AccessTokenSignature(ctx, token)
	}
	c, err := s.jwt.verify(ctx, token, time.Now())
	if err != nil {
		return ""
	}
	return c.ID
}

// ValidateAccessToken checks an access token against its stored request:
// a JWT's signature and expiry, an opaque token's HMAC and expiry, a
// sealed token's expiry.
func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if isSealedToken(token) {
		// The seal was checked when the request was read from it.
		return checkAccessTokenExpiry(r)
	}
	if !isJWT(token) {
		return s.prefixedHMACStrategy.ValidateAccessToken(ctx, r, token)
	}
	if _, err := s.jwt.verify(ctx, token, time.Now()); err != nil {
		return fosite.ErrTokenExpired.WithWrap(err).WithDebug(err.Error())
	}
	return nil
}

// checkAccessTokenExpiry refuses an access token whose request's session
// says it has expired, as fosite's HMAC strategy does.
func checkAccessTokenExpiry(r fosite.Requester) error {
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if !exp.IsZero() && !time.Now().Before(exp) {
		return fosite.ErrTokenExpired.WithHintf("Access token expired at '%s'.", exp)
	}
	return nil
}

// isJWT tells a JWT (three base64url parts, the first a JSON object) from
// Gatehouse's opaque tokens, which begin with gate_.
func isJWT(token string) bool {
	return strings.HasPrefix(token, "eyJ") && strings.Count(token, ".") == 2
}

// jwtAccessTokens signs and verifies RFC 9068 access tokens with the
// server's signing keys.
type jwtAccessTokens struct {
	issuer string
	keys   KeySource
	// subject is the sub a client sees for a customer (pairwise or not).
	subject func(c fosite.Client, userID string) string
	// verified remembers the tokens whose signature verify checked, by
	// the SHA-256 of the whole token: a resource server asks about the
	// same token on every API call, and one RSA verification costs more
	// than the rest of an introspection. nil turns it off.
	verified *lru.Cache[[sha256.Size]byte, verifiedJWT]
}

// maxVerifiedJWTs bounds jwtAccessTokens.verified (some 3 MiB).
const maxVerifiedJWTs = 10000

// verifiedJWT is a token whose signature was checked, with the key that
// signed it: the token is taken as verified again only while that key is
// still published, so a key rotated out takes its tokens with it.
type verifiedJWT struct {
	claims jwtAccessClaims
	kid    string
	alg    string
}

// generate signs the access token of a request and returns it with its
// storage key, the jti.
func (t *jwtAccessTokens) generate(ctx context.Context, r fosite.Requester, now time.Time) (string, string, error) {
	jti := uuid.Must(uuid.NewV7()).String()
	claims := t.claims(r, jti, now)
	signed, err := signClaims(ctx, t.keys, claims, jwtAccessTokenType)
	if err != nil {
		return "", "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, jti, nil
}

// claims builds the claim set of an RFC 9068 access token (§2.2) from the
// request fosite is about to issue it for: iss, exp, aud, sub, client_id,
// iat, jti, scope; for a customer's token also auth_time and acr (§2.2.1)
// and roles (§2.2.3.1) when the session carries them.
func (t *jwtAccessTokens) claims(r fosite.Requester, jti string, now time.Time) map[string]any {
	client := r.GetClient()
	claims := map[string]any{
		"iss":       t.issuer,
		"aud":       accessTokenAudience(r),
		"client_id": client.GetID(),
		"iat":       now.Unix(),
		"jti":       jti,
		"scope":     strings.Join(r.GetGrantedScopes(), " "),
	}
	sess := r.GetSession()
	if sess == nil {
		return claims
	}
	if exp := sess.GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	sub := sess.GetSubject()
	if sub == "" || sub == client.GetID() {
		// RFC 9068 §2.2: with no resource owner (the client-credentials
		// grant), sub is the client's own identifier.
		claims["sub"] = client.GetID()
		return claims
	}
	claims["sub"] = t.subject(client, sub)
	s, ok := sess.(*Session)
	if !ok || s.Claims == nil {
		return claims
	}
	if !s.Claims.AuthTime.IsZero() {
		claims["auth_time"] = s.Claims.AuthTime.Unix()
	}
	if s.Claims.AuthenticationContextClassReference != "" {
		claims["acr"] = s.Claims.AuthenticationContextClassReference
	}
	// The customer's roles, read when the grant was made and kept on the
	// session (Session.Roles), go with the roles scope (RFC 9068
	// §2.2.3.1, RFC 7643 §4.1.2); without the scope, no roles claim.
	if roles := grantedRoles(r, s); roles != nil {
		claims[rolesClaim] = roles
	}
	return claims
}

// accessTokenAudience is a token's aud: the resources the request named
// (RFC 8707), or else every audience of its client.
func accessTokenAudience(r fosite.Requester) []string {
	if aud := r.GetGrantedAudience(); len(aud) > 0 {
		return aud
	}
	return r.GetClient().GetAudience()
}

// jwtAccessClaims are the claims a JWT access token is checked by.
type jwtAccessClaims struct {
	josejwt.Claims
	ClientID string `json:"client_id"`
}

// errNotOurJWT is a JWT that this server did not sign as an access token,
// or one that has expired.
var errNotOurJWT = errors.New("not a valid access token of this server")

// verify checks a JWT access token: its typ, its signature by the
// published key its kid names (any key still in the JWKS, so a rotation
// does not invalidate tokens already issued), its issuer and its expiry.
// It does NOT look at the store: the caller checks that the token was not
// revoked.
func (t *jwtAccessTokens) verify(ctx context.Context, token string, now time.Time) (jwtAccessClaims, error) {
	var sum [sha256.Size]byte
	if t.verified != nil {
		sum = sha256.Sum256([]byte(token))
		if v, ok := t.verified.Get(sum); ok {
			if _, alg, ok := t.keys.VerificationKey(ctx, v.kid); !ok || alg != v.alg {
				t.verified.Remove(sum)
				return jwtAccessClaims{}, fmt.Errorf("%w: unknown key", errNotOurJWT)
			}
			if !now.Before(v.claims.Expiry.Time()) {
				return jwtAccessClaims{}, fmt.Errorf("%w: expired", errNotOurJWT)
			}
			return v.claims, nil
		}
	}
	var c jwtAccessClaims
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return c, fmt.Errorf("%w: %v", errNotOurJWT, err)
	}
	if len(tok.Headers) != 1 {
		return c, fmt.Errorf("%w: one signature expected", errNotOurJWT)
	}
	h := tok.Headers[0]
	// RFC 9068 §4: the typ header must be at+jwt (with or without the
	// application/ prefix), so that no other JWT passes for an access token.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(typ, "application/"), jwtAccessTokenType) {
		return c, fmt.Errorf("%w: typ %q", errNotOurJWT, typ)
	}
	key, alg, ok := t.keys.VerificationKey(ctx, h.KeyID)
	if !ok || alg != h.Algorithm {
		return c, fmt.Errorf("%w: unknown key", errNotOurJWT)
	}
	if err := tok.Claims(key, &c); err != nil {
		return c, fmt.Errorf("%w: %v", errNotOurJWT, err)
	}
	if c.Issuer != t.issuer || c.ID == "" || c.Expiry == nil {
		return c, fmt.Errorf("%w: claims", errNotOurJWT)
	}
	if !now.Before(c.Expiry.Time()) {
		return c, fmt.Errorf("%w: expired", errNotOurJWT)
	}
	if t.verified != nil {
		t.verified.Add(sum, verifiedJWT{claims: c, kid: h.KeyID, alg: h.Algorithm})
	}
	return c, nil
}

// signClaims signs claims with the active RS256 key, naming it by kid, with
// the given typ header ("" for none).
func signClaims(ctx context.Context, source KeySource, claims map[string]any, typ string) (string, error) {
	k, err := source.Active(ctx, keys.RS256)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), k.ID)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.Private}, opts)
	if err != nil {
		return "", fmt.Errorf("jwt signer: %w", err)
	}
	return josejwt.Signed(signer).Claims(claims).Serialize()
}

// errInactiveToken is an access token that is unknown, malformed, forged,
// expired or revoked: RFC 7662's inactive token, RFC 6750's invalid_token.
var errInactiveToken = errors.New("oidc: inactive access token")

// lookupAccessToken checks an access token, opaque or JWT, and returns its
// stored request and session. This is the resource servers' hot path
// (introspection, userinfo, the admin API): it asks the store once, by the
// token's storage key, and does not go through fosite's introspector. A
// JWT's signature is checked first and its jti then looked up, so a
// revoked JWT is inactive here although it still verifies offline. The
// error is errInactiveToken, or the store's (storage.ErrUnavailable) when
// the answer is not known.
func (p *Provider) lookupAccessToken(ctx context.Context, token string) (fosite.Requester, *Session, error) {
	var key string
	switch {
	case isJWT(token):
		c, err := p.access.jwt.verify(ctx, token, time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errInactiveToken, err)
		}
		key = c.ID
	case strings.HasPrefix(token, prefix("at")):
		key = p.access.AccessTokenSignature(ctx, token)
	}
	if key == "" {
		return nil, nil, fmt.Errorf("%w: not an access token", errInactiveToken)
	}
	// The request may be shared with other look-ups of the token (the
	// store's token cache): nothing here or in the callers changes it.
	ar, err := p.store.GetAccessTokenShared(ctx, key, func() fosite.Session { return newSession() })
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: unknown or revoked", errInactiveToken)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: look up access token: %w", err)
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return nil, nil, fmt.Errorf("oidc: look up access token: a session of type %T", ar.GetSession())
	}
	if isJWT(token) {
		// The stored expiry, as for an opaque token (the JWT's own was
		// checked with its signature above).
		err = checkAccessTokenExpiry(ar)
	} else {
		err = p.access.ValidateAccessToken(ctx, ar, token)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errInactiveToken, err)
	}
	return ar, sess, nil
}
