package oidc

import (
	"maps"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
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
