package oidc

import (
	"context"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/pkg/keys"
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
	k, err := p.keys.Active(ctx, keys.RS256)
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
