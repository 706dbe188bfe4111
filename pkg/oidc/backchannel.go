package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/pkg/clients"
	"github.com/gatehouse-id/gatehouse/pkg/keys"
	"github.com/gatehouse-id/gatehouse/pkg/outbound"
	"github.com/gatehouse-id/gatehouse/pkg/secret"
	"github.com/gatehouse-id/gatehouse/storage"
)

// backchannelEvent is the logout token's event (Back-Channel Logout §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// logoutTokenLifetime bounds how long a logout token is accepted; deliveries
// that are retried later carry a fresh one.
const logoutTokenLifetime = 2 * time.Minute

// backchannelRetries are the waits between delivery attempts; after the
// last, a delivery is given up and logged.
var backchannelRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// queueBackchannelLogout stores a delivery for every client of the session
// that registered a backchannel_logout_uri.
func (p *Provider) queueBackchannelLogout(ctx context.Context, bs storage.BrowserSession, clientIDs []string) error {
	return QueueBackchannelLogout(ctx, p.store, p.secrets, bs, clientIDs)
}

// LogoutQueue is what queueing back-channel logouts needs of a store.
type LogoutQueue interface {
	LookupClient(ctx context.Context, id string) (storage.Client, error)
	EnqueueLogoutDeliveries(ctx context.Context, ds []storage.LogoutDelivery) error
}

// QueueBackchannelLogout stores a logout delivery (OpenID Connect
// Back-Channel Logout 1.0 §2.5) for every client of an ended browser
// session that registered a backchannel_logout_uri, with the subject the
// client knows (pairwise or public) and the session's sid. A running server
// delivers the queue; the command line uses this too, so that a session it
// ends is announced like one ended through the admin API.
func QueueBackchannelLogout(ctx context.Context, q LogoutQueue, secrets *secret.Keys, bs storage.BrowserSession, clientIDs []string) error {
	var ds []storage.LogoutDelivery
	now := time.Now().UTC()
	for _, id := range clientIDs {
		c, err := q.LookupClient(ctx, id)
		if err != nil || c.BackchannelLogoutURI == "" {
			continue
		}
		sub := bs.UserID
		if c.SubjectType == "pairwise" {
			sub = secrets.PairwiseSubject(clients.Sector(c), bs.UserID)
		}
		// The token is signed at delivery time; the row keeps who and what.
		claims := url.Values{"sub": {sub}, "sid": {bs.SID}}
		ds = append(ds, storage.LogoutDelivery{
			ID:          secret.NewRandomString(16),
			ClientID:    c.ID,
			URI:         c.BackchannelLogoutURI,
			LogoutToken: claims.Encode(),
			NextAttempt: now,
			CreatedAt:   now,
		})
	}
	if len(ds) == 0 {
		return nil
	}
	return q.EnqueueLogoutDeliveries(ctx, ds)
}

// RunBackchannelLogout delivers queued logout tokens until ctx ends,
// checking the queue every interval.
func (p *Provider) RunBackchannelLogout(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.DeliverBackchannelLogouts(ctx)
		}
	}
}

// DeliverBackchannelLogouts makes every delivery that is due, once.
func (p *Provider) DeliverBackchannelLogouts(ctx context.Context) {
	due, err := p.store.DueLogoutDeliveries(ctx, time.Now().UTC(), 50)
	if err != nil {
		p.log.WarnContext(ctx, "reading back-channel logout queue", "error", err.Error())
		return
	}
	for _, d := range due {
		err := p.deliverLogout(ctx, d)
		switch {
		case err == nil:
			_ = p.store.DeleteLogoutDelivery(ctx, d.ID)
		case errors.Is(err, outbound.ErrRefused):
			// Not a passing failure: the policy (the address, the scheme,
			// a redirect) would refuse every retry too.
			p.log.WarnContext(ctx, "back-channel logout refused by the outbound policy; giving up", "client_id", d.ClientID, "error", err.Error())
			_ = p.store.DeleteLogoutDelivery(ctx, d.ID)
		case d.Attempts >= len(backchannelRetries):
			p.log.WarnContext(ctx, "giving up back-channel logout", "client_id", d.ClientID, "attempts", d.Attempts+1, "error", err.Error())
			_ = p.store.DeleteLogoutDelivery(ctx, d.ID)
		default:
			next := time.Now().UTC().Add(backchannelRetries[d.Attempts])
			p.log.InfoContext(ctx, "back-channel logout failed; will retry", "client_id", d.ClientID, "attempt", d.Attempts+1, "next", next, "error", err.Error())
			_ = p.store.RescheduleLogoutDelivery(ctx, d.ID, d.Attempts+1, next)
		}
	}
}

// deliverLogout signs a logout token and POSTs it (Back-Channel Logout §2.5)
// through the outbound client: https, a public address (or one the policy
// admits), no redirect.
func (p *Provider) deliverLogout(ctx context.Context, d storage.LogoutDelivery) error {
	who, err := url.ParseQuery(d.LogoutToken)
	if err != nil {
		return fmt.Errorf("stored delivery: %w", err)
	}
	token, err := p.signLogoutToken(ctx, d.ClientID, who.Get("sub"), who.Get("sid"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URI, strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.outbound.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("client answered %d", resp.StatusCode)
	}
	return nil
}

// signLogoutToken builds a logout token (Back-Channel Logout §2.4): iss,
// aud, iat, exp, jti, sub and sid, the events claim, and no nonce.
func (p *Provider) signLogoutToken(ctx context.Context, clientID, sub, sid string) (string, error) {
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
