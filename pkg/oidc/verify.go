package oidc

import (
	"context"
	"errors"
	"fmt"
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
	ar, sess, err := p.lookupAccessToken(ctx, token)
	if errors.Is(err, errInactiveToken) {
		return "", "", nil, ErrInvalidAccessToken
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("oidc: verify access token: %w", err)
	}
	return ar.GetClient().GetID(), sess.Subject, ar.GetGrantedScopes(), nil
}
