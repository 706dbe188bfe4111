package oidc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ory/fosite"

	"github.com/gatehouse-id/gatehouse/internal/outage"
)

// ErrInvalidAccessToken is returned by VerifyAccessToken for a token that is
// unknown, malformed, expired or revoked.
var ErrInvalidAccessToken = errors.New("oidc: invalid access token")

// VerifyAccessToken checks an access token issued by this server, as
// introspection would, and returns the client it was issued to, its
// subject (the customer, or the client itself for the client-credentials
// grant) and the scopes granted with it. An unknown, expired or revoked
// token, or a refresh token, is ErrInvalidAccessToken. It does NOT check
// any scope: that is the caller's decision.
func (p *Provider) VerifyAccessToken(ctx context.Context, token string) (clientID, subject string, scopes []string, err error) {
	if token == "" {
		return "", "", nil, ErrInvalidAccessToken
	}
	sess := newSession()
	tu, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, sess)
	if err != nil {
		// fosite reports a token it does not accept in many ways (unknown,
		// malformed, expired, revoked); only a fault of the server itself
		// is not the token's.
		if !errors.Is(err, fosite.ErrServerError) && !outage.Is(err) {
			return "", "", nil, ErrInvalidAccessToken
		}
		return "", "", nil, fmt.Errorf("oidc: verify access token: %w", err)
	}
	if tu != fosite.AccessToken {
		return "", "", nil, ErrInvalidAccessToken
	}
	return ar.GetClient().GetID(), sess.Subject, ar.GetGrantedScopes(), nil
}
