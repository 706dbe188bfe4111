package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/storage"
)

// idTokenClaims are the claims Gatehouse reads back from its own ID tokens.
type idTokenClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience josejwt.Audience `json:"aud"`
	SID      string           `json:"sid"`
}

// parseOwnIDToken checks that token is an ID token this server signed, with
// any key still published, and returns its claims. Expiry is not checked:
// id_token_hint and logout hints may be expired (OpenID Connect Core
// §3.1.2.1, RP-Initiated Logout §2).
func (p *Provider) parseOwnIDToken(ctx context.Context, token string) (idTokenClaims, error) {
	var c idTokenClaims
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return c, fmt.Errorf("parse id token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return c, errors.New("id token: one signature expected")
	}
	key, alg, ok := p.keys.VerificationKey(ctx, tok.Headers[0].KeyID)
	if !ok || alg != tok.Headers[0].Algorithm {
		return c, errors.New("id token: unknown key")
	}
	if err := tok.Claims(key, &c); err != nil {
		return c, fmt.Errorf("id token: %w", err)
	}
	if c.Issuer != p.issuer || c.Subject == "" {
		return c, errors.New("id token: not issued here")
	}
	return c, nil
}

// verifyIDTokenHint returns the subject of an id_token_hint.
func (p *Provider) verifyIDTokenHint(ctx context.Context, token string) (string, error) {
	c, err := p.parseOwnIDToken(ctx, token)
	if err != nil {
		return "", err
	}
	return c.Subject, nil
}

// HintNamesOther reports whether the stored authorization request carries
// an id_token_hint of this server's naming another customer than userID
// (the subject as the request's client knows it, pairwise or not). The
// sign-in page then asks for a sign-in rather than stepping up the
// browser's session of the other customer (OpenID Connect Core §3.1.2.1).
// A hint that does not verify names no one: the authorization endpoint
// refused it already.
func (p *Provider) HintNamesOther(ctx context.Context, ar storage.AuthRequest, userID string) bool {
	form, err := url.ParseQuery(ar.Form)
	if err != nil || form.Get("id_token_hint") == "" {
		return false
	}
	sub, err := p.verifyIDTokenHint(ctx, form.Get("id_token_hint"))
	if err != nil {
		return false
	}
	client, err := p.store.CachedClient(ctx, ar.ClientID)
	if err != nil {
		return false
	}
	return p.subjectFor(&client, userID) != sub
}
