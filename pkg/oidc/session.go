package oidc

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/gatehouse-id/gatehouse/internal/jsonw"
)

// Session is what Gatehouse keeps with every code and token: fosite's
// OpenID Connect session (ID token claims, expiries, subject) plus the
// claims the claims parameter asked the userinfo endpoint for and the
// customer's roles. Its JSON is that of openid.DefaultSession with more
// members, so rows written with a plain DefaultSession read back unchanged.
type Session struct {
	openid.DefaultSession
	// UserinfoClaims are the members of the claims parameter's "userinfo"
	// object (OpenID Connect Core §5.5).
	UserinfoClaims map[string]*ClaimRequest `json:"userinfo_claims,omitempty"`
	// Roles is the one place the token's roles claim is kept: the names of
	// the customer's global roles and of the token's client's own
	// (docs/roles.md), read when the code or token was issued and again at
	// each refresh (setRoles). Set, possibly empty, only when the scope
	// roles was granted; nil otherwise. Userinfo, introspection and the
	// ID token read it from here, never from the store, and so should any
	// other token format that carries the claim.
	Roles []string `json:"roles,omitzero"`
}

// RolesScope is the scope that asks for the roles claim.
const RolesScope = "roles"

// rolesClaim is the claim's name in the ID token, userinfo and
// introspection.
const rolesClaim = "roles"

// grantedRoles returns the roles claim of a token whose scopes include
// roles (never nil), and nil for any other.
func grantedRoles(ar fosite.Requester, s *Session) []string {
	if !ar.GetGrantedScopes().Has(RolesScope) {
		return nil
	}
	if s.Roles == nil {
		return []string{}
	}
	return s.Roles
}

// setRoles records the customer's role names on the session and in its ID
// token claims (when it has them): what every token issued from the
// session carries.
func (s *Session) setRoles(names []string) {
	if names == nil {
		names = []string{}
	}
	s.Roles = names
	if s.Claims != nil {
		if s.Claims.Extra == nil {
			s.Claims.Extra = map[string]any{}
		}
		s.Claims.Extra[rolesClaim] = names
	}
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
	c.Roles = slices.Clone(s.Roles)
	return c
}

// MarshalJSON writes the session without its empty members: most sessions
// (a client-credentials grant's above all) have most of them empty, and
// every stored token carries its session.
func (s *Session) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, 256))
}

// AppendJSON appends the session's JSON to dst, without reflection for
// everything but the rarely set members (extra claims and headers, the
// claims parameter's requests). The member names are openid.DefaultSession's,
// so the default decoder reads the session back; a member is left out where
// an omitzero tag would leave it out.
func (s *Session) AppendJSON(dst []byte) ([]byte, error) {
	if s == nil {
		return append(dst, "null"...), nil
	}
	var err error
	dst = append(dst, '{')
	if c := s.Claims; c != nil {
		dst = jsonw.Key(dst, "id_token_claims")
		if dst, err = appendClaims(dst, c); err != nil {
			return nil, err
		}
	}
	if s.Headers != nil && len(s.Headers.Extra) > 0 {
		dst = jsonw.Key(dst, "headers")
		if dst, err = jsonw.Value(dst, s.Headers); err != nil {
			return nil, err
		}
	}
	if s.ExpiresAt != nil {
		dst = jsonw.Key(dst, "expires_at")
		if dst, err = appendExpiries(dst, s.ExpiresAt); err != nil {
			return nil, err
		}
	}
	dst = appendNonEmpty(dst, "username", s.Username)
	dst = appendNonEmpty(dst, "subject", s.Subject)
	if s.UserinfoClaims != nil {
		dst = jsonw.Key(dst, "userinfo_claims")
		if dst, err = jsonw.Value(dst, s.UserinfoClaims); err != nil {
			return nil, err
		}
	}
	if s.Roles != nil {
		dst = jsonw.Strings(jsonw.Key(dst, "roles"), s.Roles)
	}
	return append(dst, '}'), nil
}

// appendClaims appends the ID token claims under jwt.IDTokenClaims' names.
func appendClaims(dst []byte, c *jwt.IDTokenClaims) ([]byte, error) {
	var err error
	dst = append(dst, '{')
	dst = appendNonEmpty(dst, "jti", c.JTI)
	dst = appendNonEmpty(dst, "iss", c.Issuer)
	dst = appendNonEmpty(dst, "sub", c.Subject)
	if c.Audience != nil {
		dst = jsonw.Strings(jsonw.Key(dst, "aud"), c.Audience)
	}
	dst = appendNonEmpty(dst, "nonce", c.Nonce)
	for _, t := range [...]struct {
		name string
		at   time.Time
	}{{"exp", c.ExpiresAt}, {"iat", c.IssuedAt}, {"rat", c.RequestedAt}, {"auth_time", c.AuthTime}} {
		if !t.at.IsZero() {
			if dst, err = jsonw.Time(jsonw.Key(dst, t.name), t.at); err != nil {
				return nil, err
			}
		}
	}
	dst = appendNonEmpty(dst, "at_hash", c.AccessTokenHash)
	dst = appendNonEmpty(dst, "acr", c.AuthenticationContextClassReference)
	if c.AuthenticationMethodsReferences != nil {
		dst = jsonw.Strings(jsonw.Key(dst, "amr"), c.AuthenticationMethodsReferences)
	}
	dst = appendNonEmpty(dst, "c_hash", c.CodeHash)
	if c.Extra != nil {
		if dst, err = jsonw.Value(jsonw.Key(dst, "ext"), c.Extra); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendExpiries appends the expiry of each token type, in the sorted key
// order encoding/json uses for maps.
func appendExpiries(dst []byte, expiries map[fosite.TokenType]time.Time) ([]byte, error) {
	var err error
	dst = append(dst, '{')
	for _, tt := range slices.Sorted(maps.Keys(expiries)) {
		if dst, err = jsonw.Time(jsonw.Key(dst, string(tt)), expiries[tt]); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func appendNonEmpty(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	return jsonw.String(jsonw.Key(dst, name), value)
}
