package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// emailChangeRow is the email_changes table.
type emailChangeRow struct {
	UserID    string    `gorm:"column:user_id;primaryKey"`
	NewEmail  string    `gorm:"column:new_email"`
	TokenHash string    `gorm:"column:token_hash"`
	CreatedAt time.Time `gorm:"column:created_at"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (emailChangeRow) TableName() string { return "email_changes" }

// PutEmailChange stores the customer's pending email change, replacing
// the one before.
func (s *Store) PutEmailChange(ctx context.Context, c storage.EmailChange) error {
	row := emailChangeRow{UserID: c.UserID, NewEmail: c.NewEmail, TokenHash: c.TokenHash, CreatedAt: c.CreatedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC()}
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", c.UserID).Delete(&emailChangeRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	return mapError("gormstore: put email change", err)
}

// TakeEmailChange deletes and returns the pending change with the token
// hash. Of two concurrent takes only one finds it.
func (s *Store) TakeEmailChange(ctx context.Context, tokenHash string) (storage.EmailChange, error) {
	var row emailChangeRow
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("token_hash = ?", tokenHash).Take(&row).Error; err != nil {
			return err
		}
		res := tx.Where("token_hash = ?", tokenHash).Delete(&emailChangeRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return storage.EmailChange{}, mapError("gormstore: take email change", err)
	}
	return storage.EmailChange{UserID: row.UserID, NewEmail: row.NewEmail, TokenHash: row.TokenHash, CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC()}, nil
}

// DeleteEmailChanges deletes the customer's pending email change.
func (s *Store) DeleteEmailChanges(ctx context.Context, userID string) error {
	return mapError("gormstore: delete email changes", s.writer(ctx).Where("user_id = ?", userID).Delete(&emailChangeRow{}).Error)
}

// ScrubEvents rewrites the data of the subject's events with scrub, in
// one transaction.
func (s *Store) ScrubEvents(ctx context.Context, subject string, scrub func(json.RawMessage) (json.RawMessage, error)) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var rows []eventRow
		if err := tx.Where("subject = ?", subject).Order("id").Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			data, err := scrub(json.RawMessage(r.Data))
			if err != nil {
				return fmt.Errorf("event %s: %w", r.ID, err)
			}
			if string(data) == r.Data {
				continue
			}
			if err := tx.Model(&eventRow{}).Where("id = ?", r.ID).Update("data", string(data)).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return mapError("gormstore: scrub events", err)
}

// SessionClientIDs returns the clients the browser session signed in to,
// ordered by ID.
func (s *Store) SessionClientIDs(ctx context.Context, sessionID string) ([]string, error) {
	var ids []string
	err := s.reader(ctx).Model(&sessionClientRow{}).Where("session_id = ?", sessionID).Order("client_id").Pluck("client_id", &ids).Error
	return ids, mapError("gormstore: session clients", err)
}
