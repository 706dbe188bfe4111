package passkey

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
)

// List returns the customer's passkeys, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]storage.Passkey, error) {
	list, err := s.store.ListPasskeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list: %w", err)
	}
	return list, nil
}

// Rename renames one of the customer's passkeys; storage.ErrNotFound when
// they have no such passkey.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	if err := s.store.RenamePasskey(ctx, userID, id, cleanName(name)); err != nil {
		return fmt.Errorf("passkey: rename: %w", err)
	}
	return nil
}

// Remove removes one of the customer's passkeys and records
// user.mfa.removed (method passkey, reason customer) in the same
// transaction, in which the browsers remembered for the second factor
// are forgotten too; storage.ErrNotFound when they have no such passkey.
// The caller checks that the customer signed in recently (pkg/signin's fresh
// sign-in rule), as for the other second factors.
func (s *Service) Remove(ctx context.Context, userID, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeletePasskey(ctx, userID, id); err != nil {
			return fmt.Errorf("passkey: remove: %w", err)
		}
		if _, err := s.store.DeleteMFADevices(ctx, userID); err != nil {
			return fmt.Errorf("passkey: forget remembered devices: %w", err)
		}
		return s.events.Record(ctx, events.New(ctx, events.UserMFARemoved, userID, events.MFAData{Method: Method, Reason: "customer"}))
	})
}
