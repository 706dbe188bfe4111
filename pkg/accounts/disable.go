package accounts

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// DisableCustomer disables the customer, in one transaction: marks them
// disabled (pkg/signin then refuses every sign-in), ends every browser
// session (session.ended each, back-channel logouts queued), revokes every
// access and refresh token issued for them, and records user.disabled.
// It returns the customer as stored. Disabling a disabled customer changes
// nothing and records nothing; an unknown customer is storage.ErrNotFound.
func (s *Service) DisableCustomer(ctx context.Context, userID string) (storage.User, error) {
	return s.setDisabled(ctx, userID, true)
}

// EnableCustomer undoes DisableCustomer, recording user.enabled in the
// same transaction: the customer can sign in again (their ended sessions
// and revoked tokens stay ended). Enabling an enabled customer changes
// nothing and records nothing; an unknown customer is storage.ErrNotFound.
func (s *Service) EnableCustomer(ctx context.Context, userID string) (storage.User, error) {
	return s.setDisabled(ctx, userID, false)
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool) (storage.User, error) {
	var out storage.User
	err := s.inTx(ctx, func(ctx context.Context) error {
		changed := false
		err := s.store.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
			changed = u.Disabled != disabled
			u.Disabled = disabled
			return u, nil
		})
		if err != nil {
			return fmt.Errorf("set disabled: %w", err)
		}
		if changed {
			ev := events.New(ctx, events.UserEnabled, userID, nil)
			if disabled {
				n := 0
				if err := s.endSessionsOf(ctx, userID, "", &n); err != nil {
					return fmt.Errorf("disable: end sessions: %w", err)
				}
				if err := s.forgetDevices(ctx, userID); err != nil {
					return fmt.Errorf("disable: forget remembered devices: %w", err)
				}
				if err := s.store.RevokeTokensOf(ctx, userID, ""); err != nil {
					return fmt.Errorf("disable: revoke tokens: %w", err)
				}
				ev = events.New(ctx, events.UserDisabled, userID, events.UserDisabledData{SessionsEnded: n})
			}
			if err := s.events.Record(ctx, ev); err != nil {
				return err
			}
		}
		out, err = s.store.GetUser(ctx, userID)
		return err
	})
	return out, err
}
