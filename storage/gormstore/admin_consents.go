package gormstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/storage"
)

// ListConsents returns the customer's consents ordered by client ID.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]storage.Consent, error) {
	var rows []consentRow
	if err := s.reader(ctx).Where("user_id = ?", userID).Order("client_id").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list consents", err)
	}
	out := make([]storage.Consent, 0, len(rows))
	for _, r := range rows {
		c, err := r.toConsent()
		if err != nil {
			return nil, fmt.Errorf("gormstore: list consents: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// DeleteConsent removes the customer's consent for the client.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	res := s.writer(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&consentRow{})
	if res.Error != nil {
		return mapError("gormstore: delete consent", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete consent: %w", storage.ErrNotFound)
	}
	return nil
}
