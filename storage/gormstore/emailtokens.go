package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// emailTokenRow is the email_tokens table.
type emailTokenRow struct {
	Hash          string    `gorm:"column:hash;primaryKey"`
	Purpose       string    `gorm:"column:purpose"`
	UserID        string    `gorm:"column:user_id"`
	Email         string    `gorm:"column:email"`
	AuthRequestID string    `gorm:"column:auth_request_id"`
	ExpiresAt     time.Time `gorm:"column:expires_at"`
	CreatedAt     time.Time `gorm:"column:created_at"`
}

func (emailTokenRow) TableName() string { return "email_tokens" }

// CreateEmailToken stores the token in place of the customer's others of
// its purpose, in one transaction.
func (s *Store) CreateEmailToken(ctx context.Context, t storage.EmailToken) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND purpose = ?", t.UserID, t.Purpose).Delete(&emailTokenRow{}).Error; err != nil {
			return err
		}
		return tx.Create(&emailTokenRow{
			Hash: t.Hash, Purpose: t.Purpose, UserID: t.UserID, Email: t.Email, AuthRequestID: t.AuthRequestID,
			ExpiresAt: t.ExpiresAt.UTC(), CreatedAt: time.Now().UTC(),
		}).Error
	})
	return mapError("gormstore: create email token", err)
}

// UseEmailToken deletes and returns the unexpired token: the DELETE's row
// count decides which of two concurrent uses wins.
func (s *Store) UseEmailToken(ctx context.Context, purpose, hash string, now time.Time) (storage.EmailToken, error) {
	var row emailTokenRow
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("hash = ? AND purpose = ?", hash, purpose).Take(&row).Error; err != nil {
			return err
		}
		res := tx.Exec("DELETE FROM email_tokens WHERE hash = ? AND purpose = ?", hash, purpose)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 || !row.ExpiresAt.After(now) {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return storage.EmailToken{}, mapError("gormstore: use email token", err)
	}
	return row.token(), nil
}

// GetEmailToken reads the unexpired token without using it.
func (s *Store) GetEmailToken(ctx context.Context, purpose, hash string, now time.Time) (storage.EmailToken, error) {
	var row emailTokenRow
	err := s.reader(ctx).Where("hash = ? AND purpose = ? AND expires_at > ?", hash, purpose, now.UTC()).Take(&row).Error
	if err != nil {
		return storage.EmailToken{}, mapError("gormstore: get email token", err)
	}
	return row.token(), nil
}

func (row emailTokenRow) token() storage.EmailToken {
	return storage.EmailToken{
		Hash: row.Hash, Purpose: row.Purpose, UserID: row.UserID, Email: row.Email, AuthRequestID: row.AuthRequestID,
		ExpiresAt: row.ExpiresAt.UTC(), CreatedAt: row.CreatedAt.UTC(),
	}
}

// DeleteEmailTokens deletes the customer's tokens of the purposes.
func (s *Store) DeleteEmailTokens(ctx context.Context, userID string, purposes ...string) error {
	if len(purposes) == 0 {
		return nil
	}
	err := s.writer(ctx).Where("user_id = ? AND purpose IN ?", userID, purposes).Delete(&emailTokenRow{}).Error
	return mapError("gormstore: delete email tokens", err)
}
