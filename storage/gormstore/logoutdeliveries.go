package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// logoutDeliveryRow is the logout_deliveries table, the back-channel logout
// queue.
type logoutDeliveryRow struct {
	ID          string    `gorm:"column:id;primaryKey"`
	ClientID    string    `gorm:"column:client_id"`
	URI         string    `gorm:"column:uri"`
	LogoutToken string    `gorm:"column:logout_token"`
	Attempts    int       `gorm:"column:attempts"`
	NextAttempt time.Time `gorm:"column:next_attempt"`
	CreatedAt   time.Time `gorm:"column:created_at"`
}

func (logoutDeliveryRow) TableName() string { return "logout_deliveries" }

func (r logoutDeliveryRow) toDelivery() storage.LogoutDelivery {
	return storage.LogoutDelivery{
		ID:          r.ID,
		ClientID:    r.ClientID,
		URI:         r.URI,
		LogoutToken: r.LogoutToken,
		Attempts:    r.Attempts,
		NextAttempt: r.NextAttempt.UTC(),
		CreatedAt:   r.CreatedAt.UTC(),
	}
}

// defaultDueLimit is how many deliveries DueLogoutDeliveries returns when
// asked for no particular number.
const defaultDueLimit = 100

// EnqueueLogoutDeliveries stores the deliveries in one statement: all or
// none. A zero CreatedAt is set to now, and a zero NextAttempt to
// CreatedAt; a taken ID is storage.ErrAlreadyExists.
func (s *Store) EnqueueLogoutDeliveries(ctx context.Context, ds []storage.LogoutDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]logoutDeliveryRow, len(ds))
	for i, d := range ds {
		if d.CreatedAt.IsZero() {
			d.CreatedAt = now
		}
		if d.NextAttempt.IsZero() {
			d.NextAttempt = d.CreatedAt
		}
		rows[i] = logoutDeliveryRow{
			ID:          d.ID,
			ClientID:    d.ClientID,
			URI:         d.URI,
			LogoutToken: d.LogoutToken,
			Attempts:    d.Attempts,
			NextAttempt: d.NextAttempt.UTC(),
			CreatedAt:   d.CreatedAt.UTC(),
		}
	}
	// CreateInBatches splits a long list; inTx keeps the batches together.
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		return tx.CreateInBatches(rows, maxBatch).Error
	})
	return mapError("gormstore: enqueue logout deliveries", err)
}

// DueLogoutDeliveries returns up to limit (default 100) deliveries whose
// NextAttempt is not after now, the longest due first (by NextAttempt, then
// CreatedAt, then ID).
func (s *Store) DueLogoutDeliveries(ctx context.Context, now time.Time, limit int) ([]storage.LogoutDelivery, error) {
	if limit <= 0 {
		limit = defaultDueLimit
	}
	var rows []logoutDeliveryRow
	err := s.reader(ctx).Where("next_attempt <= ?", now.UTC()).
		Order("next_attempt, created_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, mapError("gormstore: due logout deliveries", err)
	}
	out := make([]storage.LogoutDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.toDelivery()
	}
	return out, nil
}

// RescheduleLogoutDelivery records the number of attempts made and when to
// try next; an unknown delivery is storage.ErrNotFound.
func (s *Store) RescheduleLogoutDelivery(ctx context.Context, id string, attempts int, next time.Time) error {
	res := s.writer(ctx).Exec("UPDATE logout_deliveries SET attempts = ?, next_attempt = ? WHERE id = ?", attempts, next.UTC(), id)
	if res.Error != nil {
		return mapError("gormstore: reschedule logout delivery", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: reschedule logout delivery: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteLogoutDelivery removes the delivery; an unknown one is
// storage.ErrNotFound.
func (s *Store) DeleteLogoutDelivery(ctx context.Context, id string) error {
	res := s.writer(ctx).Exec("DELETE FROM logout_deliveries WHERE id = ?", id)
	if res.Error != nil {
		return mapError("gormstore: delete logout delivery", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete logout delivery: %w", storage.ErrNotFound)
	}
	return nil
}
