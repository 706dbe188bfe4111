package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// passkeyRow is the webauthn_credentials table.
type passkeyRow struct {
	ID             string       `gorm:"column:id;primaryKey"`
	UserID         string       `gorm:"column:user_id"`
	Name           string       `gorm:"column:name"`
	Credential     []byte       `gorm:"column:credential"`
	SignCount      int64        `gorm:"column:sign_count"`
	BackupEligible bool         `gorm:"column:backup_eligible"`
	CreatedAt      time.Time    `gorm:"column:created_at"`
	LastUsedAt     sql.NullTime `gorm:"column:last_used_at"`
}

func (passkeyRow) TableName() string { return "webauthn_credentials" }

func (r passkeyRow) passkey() storage.Passkey {
	p := storage.Passkey{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Credential: r.Credential, SignCount: uint32(r.SignCount),
		BackupEligible: r.BackupEligible, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.LastUsedAt.Valid {
		p.LastUsedAt = r.LastUsedAt.Time.UTC()
	}
	return p
}

// challengeRow is the webauthn_challenges table.
type challengeRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Device    string    `gorm:"column:device"`
	UserID    string    `gorm:"column:user_id"`
	Kind      string    `gorm:"column:kind"`
	Data      []byte    `gorm:"column:data"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (challengeRow) TableName() string { return "webauthn_challenges" }

// recomputeMFAFlag sets the customer's MFA flag from what remains: a
// confirmed TOTP credential or a passkey.
func recomputeMFAFlag(tx *gorm.DB, userID string) error {
	return tx.Exec(`UPDATE users SET mfa = (
		EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = ? AND confirmed = ?)
		OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ?)) WHERE id = ?`,
		userID, true, userID, userID).Error
}

// CreatePasskey stores a passkey and sets the MFA flag, in one transaction.
func (s *Store) CreatePasskey(ctx context.Context, p storage.Passkey) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&passkeyRow{
			ID: p.ID, UserID: p.UserID, Name: p.Name, Credential: p.Credential, SignCount: int64(p.SignCount),
			BackupEligible: p.BackupEligible, CreatedAt: time.Now().UTC(),
		}).Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE users SET mfa = ? WHERE id = ?", true, p.UserID).Error
	})
	return mapError("gormstore: create passkey", err)
}

// GetPasskey returns a passkey by credential ID.
func (s *Store) GetPasskey(ctx context.Context, id string) (storage.Passkey, error) {
	var row passkeyRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.Passkey{}, mapError("gormstore: get passkey", err)
	}
	return row.passkey(), nil
}

// ListPasskeys returns the customer's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error) {
	var rows []passkeyRow
	if err := s.reader(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list passkeys", err)
	}
	out := make([]storage.Passkey, len(rows))
	for i, r := range rows {
		out[i] = r.passkey()
	}
	return out, nil
}

// UsePasskey records a use on condition that the counter did not move.
func (s *Store) UsePasskey(ctx context.Context, id string, oldCount, newCount uint32, credential []byte, at time.Time) error {
	res := s.writer(ctx).Exec("UPDATE webauthn_credentials SET sign_count = ?, credential = ?, last_used_at = ? WHERE id = ? AND sign_count = ?",
		int64(newCount), credential, at.UTC(), id, int64(oldCount))
	if res.Error != nil {
		return mapError("gormstore: use passkey", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	if _, err := s.GetPasskey(ctx, id); err != nil {
		return fmt.Errorf("gormstore: use passkey: %w", err)
	}
	return fmt.Errorf("gormstore: use passkey: the counter moved: %w", storage.ErrConflict)
}

// RenamePasskey renames one of the customer's passkeys.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res := s.writer(ctx).Exec("UPDATE webauthn_credentials SET name = ? WHERE id = ? AND user_id = ?", name, id, userID)
	if res.Error != nil {
		return mapError("gormstore: rename passkey", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: rename passkey: %w", storage.ErrNotFound)
	}
	return nil
}

// DeletePasskey removes one passkey and recomputes the flag.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM webauthn_credentials WHERE id = ? AND user_id = ?", id, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return recomputeMFAFlag(tx, userID)
	})
	return mapError("gormstore: delete passkey", err)
}

// DeletePasskeys removes all the customer's passkeys and recomputes the
// flag.
func (s *Store) DeletePasskeys(ctx context.Context, userID string) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM webauthn_credentials WHERE user_id = ?", userID)
		if res.Error != nil {
			return res.Error
		}
		n = int(res.RowsAffected)
		return recomputeMFAFlag(tx, userID)
	})
	return n, mapError("gormstore: delete passkeys", err)
}

// PutWebAuthnChallenge stores a ceremony's state; Collect removes the
// expired ones in bounded batches.
func (s *Store) PutWebAuthnChallenge(ctx context.Context, c storage.WebAuthnChallenge) error {
	err := s.writer(ctx).Create(&challengeRow{
		ID: c.ID, Device: c.Device, UserID: c.UserID, Kind: c.Kind, Data: c.Data, ExpiresAt: c.ExpiresAt.UTC(),
	}).Error
	return mapError("gormstore: put webauthn challenge", err)
}

// TakeWebAuthnChallenge deletes and returns a ceremony's state; the
// conditional delete makes it single use across replicas.
func (s *Store) TakeWebAuthnChallenge(ctx context.Context, id string, now time.Time) (storage.WebAuthnChallenge, error) {
	var row challengeRow
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		res := tx.Exec("DELETE FROM webauthn_challenges WHERE id = ?", id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return storage.WebAuthnChallenge{}, mapError("gormstore: take webauthn challenge", err)
	}
	if now.After(row.ExpiresAt) {
		return storage.WebAuthnChallenge{}, fmt.Errorf("gormstore: take webauthn challenge: expired: %w", storage.ErrNotFound)
	}
	return storage.WebAuthnChallenge{
		ID: row.ID, Device: row.Device, UserID: row.UserID, Kind: row.Kind, Data: row.Data, ExpiresAt: row.ExpiresAt.UTC(),
	}, nil
}
