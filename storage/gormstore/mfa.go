package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// totpRow is the mfa_totp table.
type totpRow struct {
	UserID    string    `gorm:"column:user_id;primaryKey"`
	SealedKey []byte    `gorm:"column:sealed_key"`
	Confirmed bool      `gorm:"column:confirmed"`
	LastStep  int64     `gorm:"column:last_step"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (totpRow) TableName() string { return "mfa_totp" }

// recoveryCodeRow is the mfa_recovery_codes table.
type recoveryCodeRow struct {
	UserID    string       `gorm:"column:user_id;primaryKey"`
	CodeHash  string       `gorm:"column:code_hash;primaryKey"`
	UsedAt    sql.NullTime `gorm:"column:used_at"`
	CreatedAt time.Time    `gorm:"column:created_at"`
}

func (recoveryCodeRow) TableName() string { return "mfa_recovery_codes" }

// GetTOTP returns the customer's TOTP credential, or storage.ErrNotFound.
func (s *Store) GetTOTP(ctx context.Context, userID string) (storage.TOTP, error) {
	var row totpRow
	if err := s.reader(ctx).Where("user_id = ?", userID).Take(&row).Error; err != nil {
		return storage.TOTP{}, mapError("gormstore: get totp", err)
	}
	return storage.TOTP{
		UserID: row.UserID, SealedKey: row.SealedKey, Confirmed: row.Confirmed,
		LastStep: row.LastStep, CreatedAt: row.CreatedAt.UTC(),
	}, nil
}

// PutTOTP stores an unconfirmed credential in place of an unconfirmed
// one; a confirmed one is storage.ErrAlreadyExists.
func (s *Store) PutTOTP(ctx context.Context, t storage.TOTP) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var old totpRow
		err := s.forUpdate(tx).Where("user_id = ?", t.UserID).Take(&old).Error
		switch {
		case err == nil && old.Confirmed:
			return gorm.ErrDuplicatedKey
		case err == nil:
			if err := tx.Where("user_id = ?", t.UserID).Delete(&totpRow{}).Error; err != nil {
				return err
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		return tx.Create(&totpRow{
			UserID: t.UserID, SealedKey: t.SealedKey, LastStep: t.LastStep, CreatedAt: time.Now().UTC(),
		}).Error
	})
	return mapError("gormstore: put totp", err)
}

// ConfirmTOTP confirms the unconfirmed credential and sets the customer's
// MFA flag, in one transaction.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE mfa_totp SET confirmed = ?, last_step = ? WHERE user_id = ? AND confirmed = ?", true, step, userID, false)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return tx.Exec("UPDATE users SET mfa = ? WHERE id = ?", true, userID).Error
	})
	return mapError("gormstore: confirm totp", err)
}

// UseTOTPStep moves the last used step forward, conditionally, so a code
// is accepted once even by two replicas at the same moment.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res := s.writer(ctx).Exec("UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND confirmed = ? AND last_step < ?", step, userID, true, step)
	if res.Error != nil {
		return mapError("gormstore: use totp step", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := s.reader(ctx).Model(&totpRow{}).Where("user_id = ? AND confirmed = ?", userID, true).Count(&n).Error; err != nil {
		return mapError("gormstore: use totp step", err)
	}
	if n == 0 {
		return fmt.Errorf("gormstore: use totp step: %w", storage.ErrNotFound)
	}
	return fmt.Errorf("gormstore: use totp step: a code of this step was used: %w", storage.ErrConflict)
}

// ReplaceRecoveryCodes replaces the customer's recovery codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	now := time.Now().UTC()
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&recoveryCodeRow{}).Error; err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		rows := make([]recoveryCodeRow, len(hashes))
		for i, h := range hashes {
			rows[i] = recoveryCodeRow{UserID: userID, CodeHash: h, CreatedAt: now}
		}
		return tx.Create(&rows).Error
	})
	return mapError("gormstore: replace recovery codes", err)
}

// UseRecoveryCode marks an unused code used, conditionally.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	res := s.writer(ctx).Exec("UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL", at.UTC(), userID, hash)
	if res.Error != nil {
		return mapError("gormstore: use recovery code", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: use recovery code: %w", storage.ErrNotFound)
	}
	return nil
}

// CountRecoveryCodes counts the customer's unused recovery codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int64
	if err := s.reader(ctx).Model(&recoveryCodeRow{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error; err != nil {
		return 0, mapError("gormstore: count recovery codes", err)
	}
	return int(n), nil
}

// DeleteMFA removes every second factor of the customer and clears the
// flag, in one transaction.
func (s *Store) DeleteMFA(ctx context.Context, userID string) (bool, error) {
	had := false
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed = ?", userID, true).Count(&n).Error; err != nil {
			return err
		}
		had = n > 0
		for _, stmt := range []string{
			"DELETE FROM mfa_totp WHERE user_id = ?",
			"DELETE FROM mfa_recovery_codes WHERE user_id = ?",
		} {
			if err := tx.Exec(stmt, userID).Error; err != nil {
				return err
			}
		}
		// Passkeys are second factors too: the flag stays while one remains.
		return recomputeMFAFlag(tx, userID)
	})
	return had, mapError("gormstore: delete mfa", err)
}

// StepUpSession records a further authentication on a live session.
func (s *Store) StepUpSession(ctx context.Context, id string, authTime time.Time, amr []string, acr string) error {
	list, err := encodeList(amr)
	if err != nil {
		return fmt.Errorf("gormstore: step up session: %w", err)
	}
	res := s.writer(ctx).Exec("UPDATE browser_sessions SET auth_time = ?, amr = ?, acr = ? WHERE id = ?", authTime.UTC(), list, acr, id)
	if res.Error != nil {
		return mapError("gormstore: step up session", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: step up session: %w", storage.ErrNotFound)
	}
	return nil
}
