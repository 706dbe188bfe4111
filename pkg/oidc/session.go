package oidc

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what Gatehouse keeps with every code and token: fosite's
// OpenID Connect session (ID token claims, expiries, subject) plus the
// claims the claims parameter asked the userinfo endpoint for. Its JSON is
// that of openid.DefaultSession with one more member, so rows written with a
// plain DefaultSession read back unchanged.
type Session struct {
	openid.DefaultSession
	// UserinfoClaims are the members of the claims parameter's "userinfo"
	// object (OpenID Connect Core §5.5).
	UserinfoClaims map[string]*ClaimRequest `json:"userinfo_claims,omitempty"`
}

// newSession returns an empty session ready for fosite.
func newSession() *Session {
	return &Session{DefaultSession: *openid.NewDefaultSession()}
}

// Clone returns a deep copy; fosite clones the session of a refresh grant.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := &Session{}
	if d, ok := s.DefaultSession.Clone().(*openid.DefaultSession); ok && d != nil {
		c.DefaultSession = *d
	}
	c.UserinfoClaims = maps.Clone(s.UserinfoClaims)
	return c
}

// storedClaims mirrors jwt.IDTokenClaims with every empty member left out:
// most sessions (a client-credentials grant's above all) have most of them
// empty, and every stored token carries its session.
type storedClaims struct {
	JTI                                 string         `json:"jti,omitzero"`
	Issuer                              string         `json:"iss,omitzero"`
	Subject                             string         `json:"sub,omitzero"`
	Audience                            []string       `json:"aud,omitzero"`
	Nonce                               string         `json:"nonce,omitzero"`
	ExpiresAt                           time.Time      `json:"exp,omitzero"`
	IssuedAt                            time.Time      `json:"iat,omitzero"`
	RequestedAt                         time.Time      `json:"rat,omitzero"`
	AuthTime                            time.Time      `json:"auth_time,omitzero"`
	AccessTokenHash                     string         `json:"at_hash,omitzero"`
	AuthenticationContextClassReference string         `json:"acr,omitzero"`
	AuthenticationMethodsReferences     []string       `json:"amr,omitzero"`
	CodeHash                            string         `json:"c_hash,omitzero"`
	Extra                               map[string]any `json:"ext,omitzero"`
}

// storedSession is Session's stored form: the JSON names of
// openid.DefaultSession, so the default decoder reads it back.
type storedSession struct {
	Claims         *storedClaims                  `json:"id_token_claims,omitzero"`
	Headers        *jwt.Headers                   `json:"headers,omitzero"`
	ExpiresAt      map[fosite.TokenType]time.Time `json:"expires_at,omitzero"`
	Username       string                         `json:"username,omitzero"`
	Subject        string                         `json:"subject,omitzero"`
	UserinfoClaims map[string]*ClaimRequest       `json:"userinfo_claims,omitzero"`
}

// MarshalJSON writes the session without its empty members.
func (s *Session) MarshalJSON() ([]byte, error) {
	out := storedSession{
		ExpiresAt:      s.ExpiresAt,
		Username:       s.Username,
		Subject:        s.Subject,
		UserinfoClaims: s.UserinfoClaims,
	}
	if c := s.Claims; c != nil {
		sc := storedClaims(*c)
		out.Claims = &sc
	}
	if s.Headers != nil && len(s.Headers.Extra) > 0 {
		out.Headers = s.Headers
	}
	return json.Marshal(out)
}
