package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/pkg/backchannel"

	"github.com/gatehouse-id/gatehouse/pkg/events"
)

// GrantConsent records that the customer allowed the client the scopes:
// when remember is set the consent is stored, so that the client need not
// ask again, and consent.granted is recorded in the same transaction;
// otherwise consent.granted alone records the allow of this request.
func (s *Service) GrantConsent(ctx context.Context, userID, clientID string, scopes []string, remember bool) error {
	ev := events.New(ctx, events.ConsentGranted, userID, events.ConsentData{ClientID: clientID, Scopes: scopes, Remembered: remember})
	return s.inTx(ctx, func(ctx context.Context) error {
		if remember {
			if err := s.store.GrantConsent(ctx, userID, clientID, scopes); err != nil {
				return fmt.Errorf("grant consent: %w", err)
			}
		}
		return s.events.Record(ctx, ev)
	})
}

// RevokeConsent withdraws the customer's consent for the client and
// revokes the tokens the client holds for them, so that it must ask
// again, queues a back-channel logout of each of their sessions signed in
// to the client, and records consent.revoked, in one transaction. A consent that
// does not exist is storage.ErrNotFound.
func (s *Service) RevokeConsent(ctx context.Context, userID, clientID string) error {
	return s.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteConsent(ctx, userID, clientID); err != nil {
			return err
		}
		if err := s.store.RevokeTokensOf(ctx, userID, clientID); err != nil {
			return fmt.Errorf("revoke tokens of %s: %w", clientID, err)
		}
		if err := s.logoutClient(ctx, userID, clientID); err != nil {
			return err
		}
		return s.events.Record(ctx, events.New(ctx, events.ConsentRevoked, userID, events.ConsentData{ClientID: clientID}))
	})
}

// logoutClient queues a back-channel logout to the client for each of the
// customer's browser sessions that signed in to it.
func (s *Service) logoutClient(ctx context.Context, userID, clientID string) error {
	sessions, err := s.store.ListSessionsByUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	for _, bs := range sessions {
		ids, err := s.store.SessionClientIDs(ctx, bs.ID)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, clientID) {
			continue
		}
		jobs, err := backchannel.Jobs(ctx, s.store, s.secrets, bs, []string{clientID})
		if err != nil {
			return err
		}
		if err := s.store.EnqueueJobs(ctx, jobs...); err != nil {
			return fmt.Errorf("queue back-channel logout: %w", err)
		}
	}
	return nil
}
