package oidc

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/secret"
)

// backchannelEvent is the logout token's event (Back-Channel Logout §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenLifetime bounds how long a logout token is accepted; a
// delivery that is retried later carries a fresh one.
const logoutTokenLifetime = 2 * time.Minute

// SignLogoutToken builds a logout token (Back-Channel Logout §2.4): iss,
// aud, iat, exp, jti, sub and sid, the events claim, and no nonce, signed
// with the active RS256 key with typ logout+jwt. pkg/backchannel delivers
// it.
func (p *Provider) SignLogoutToken(ctx context.Context, clientID, sub, sid string) (string, error) {
	now := time.Now()
	return p.signJWT(ctx, map[string]any{
		"iss":    p.issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(logoutTokenLifetime).Unix(),
		"jti":    secret.NewRandomString(16),
		"sub":    sub,
		"sid":    sid,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}, "logout+jwt")
}

// signJWT signs claims with the active RS256 key, naming it by kid, with the
// given typ header ("" for none).
func (p *Provider) signJWT(ctx context.Context, claims map[string]any, typ string) (string, error) {
	return signClaims(ctx, p.keys, claims, typ)
}
