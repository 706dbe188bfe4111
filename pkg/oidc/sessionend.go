package oidc

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/storage"
)

// NotifySessionEnded queues back-channel logout tokens (OpenID Connect
// Back-Channel Logout 1.0) for the clients an ended browser session signed
// in to, for a session ended elsewhere than at the end-session endpoint
// (by an operator, through the admin API). It does NOT end the session:
// the caller has deleted it already. Clients without a
// backchannel_logout_uri are skipped.
func (p *Provider) NotifySessionEnded(ctx context.Context, bs storage.BrowserSession, clientIDs []string) error {
	if err := p.queueBackchannelLogout(ctx, bs, clientIDs); err != nil {
		return fmt.Errorf("oidc: queue back-channel logout: %w", err)
	}
	return nil
}
