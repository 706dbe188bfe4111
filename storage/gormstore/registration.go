package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

type registrationTokenRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	UsesLeft  int       `gorm:"column:uses_left"`
	CreatedAt time.Time `gorm:"column:created_at"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (registrationTokenRow) TableName() string { return "registration_tokens" }

// CreateRegistrationToken stores a new initial access token.
func (s *Store) CreateRegistrationToken(ctx context.Context, t storage.RegistrationToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	row := registrationTokenRow{ID: t.ID, UsesLeft: t.UsesLeft, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()}
	return mapError("gormstore: create registration token", s.writer(ctx).Create(&row).Error)
}

// UseRegistrationToken spends one use of a live token in one conditional
// update, so two registrations cannot both spend the last use.
func (s *Store) UseRegistrationToken(ctx context.Context, id string, now time.Time) error {
	res := s.writer(ctx).Exec(`UPDATE registration_tokens
		SET uses_left = CASE WHEN uses_left < 0 THEN uses_left ELSE uses_left - 1 END
		WHERE id = ? AND expires_at > ? AND uses_left <> 0`, id, now.UTC())
	if res.Error != nil {
		return mapError("gormstore: use registration token", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: use registration token: %w", storage.ErrNotFound)
	}
	return nil
}

// ListRegistrationTokens returns the live tokens, newest first.
func (s *Store) ListRegistrationTokens(ctx context.Context, now time.Time) ([]storage.RegistrationToken, error) {
	var rows []registrationTokenRow
	err := s.reader(ctx).Where("expires_at > ? AND uses_left <> 0", now.UTC()).Order("created_at DESC, id").Find(&rows).Error
	if err != nil {
		return nil, mapError("gormstore: list registration tokens", err)
	}
	out := make([]storage.RegistrationToken, len(rows))
	for i, r := range rows {
		out[i] = storage.RegistrationToken{ID: r.ID, UsesLeft: r.UsesLeft, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
	}
	return out, nil
}

// DeleteRegistrationToken revokes a token.
func (s *Store) DeleteRegistrationToken(ctx context.Context, id string) error {
	res := s.writer(ctx).Where("id = ?", id).Delete(&registrationTokenRow{})
	if res.Error != nil {
		return mapError("gormstore: delete registration token", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete registration token: %w", storage.ErrNotFound)
	}
	return nil
}
