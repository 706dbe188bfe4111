package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

type signingKeyRow struct {
	ID               string       `gorm:"column:id;primaryKey"`
	Algorithm        string       `gorm:"column:algorithm"`
	State            string       `gorm:"column:state"`
	SealedPrivateKey []byte       `gorm:"column:sealed_private_key"`
	PublicJWK        string       `gorm:"column:public_jwk"`
	CreatedAt        time.Time    `gorm:"column:created_at"`
	DeactivatedAt    sql.NullTime `gorm:"column:deactivated_at"`
	RetiredAt        sql.NullTime `gorm:"column:retired_at"`
}

func (signingKeyRow) TableName() string { return "signing_keys" }

func (r signingKeyRow) toKey() storage.SigningKey {
	return storage.SigningKey{
		ID:               r.ID,
		Algorithm:        r.Algorithm,
		State:            storage.KeyState(r.State),
		SealedPrivateKey: r.SealedPrivateKey,
		PublicJWK:        []byte(r.PublicJWK),
		CreatedAt:        r.CreatedAt.UTC(),
		DeactivatedAt:    nullTime(r.DeactivatedAt),
		RetiredAt:        nullTime(r.RetiredAt),
	}
}

func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func toNullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// ListSigningKeys returns every key, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.reader(ctx).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list signing keys", err)
	}
	out := make([]storage.SigningKey, len(rows))
	for i, r := range rows {
		out[i] = r.toKey()
	}
	return out, nil
}

// ActivateSigningKey stores k as the active key of its algorithm, demoting
// the previous one in the same transaction.
func (s *Store) ActivateSigningKey(ctx context.Context, k storage.SigningKey, onlyIfNone bool) error {
	now := time.Now().UTC()
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if onlyIfNone {
			// No demotion: the unique index on active keys refuses the insert
			// if another key of the algorithm is active, even one committed by
			// a concurrent transaction after this one started.
			var active int64
			if err := tx.Model(&signingKeyRow{}).Where("algorithm = ? AND state = ?", k.Algorithm, storage.KeyActive).Count(&active).Error; err != nil {
				return err
			}
			if active > 0 {
				return gorm.ErrDuplicatedKey
			}
		} else if err := tx.Model(&signingKeyRow{}).
			Where("algorithm = ? AND state = ?", k.Algorithm, storage.KeyActive).
			Updates(map[string]any{"state": string(storage.KeyPublished), "deactivated_at": now}).Error; err != nil {
			return err
		}
		if k.CreatedAt.IsZero() {
			k.CreatedAt = now
		}
		row := signingKeyRow{
			ID:               k.ID,
			Algorithm:        k.Algorithm,
			State:            string(storage.KeyActive),
			SealedPrivateKey: k.SealedPrivateKey,
			PublicJWK:        string(k.PublicJWK),
			CreatedAt:        k.CreatedAt.UTC(),
		}
		return tx.Create(&row).Error
	})
	return mapError("gormstore: activate signing key", err)
}

// RetireSigningKey erases a published key's private part and drops it from
// the JWKS.
func (s *Store) RetireSigningKey(ctx context.Context, kid string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row signingKeyRow
		if err := tx.Where("id = ?", kid).Take(&row).Error; err != nil {
			return err
		}
		switch storage.KeyState(row.State) {
		case storage.KeyActive:
			return storage.ErrKeyInUse
		case storage.KeyRetired:
			return nil
		}
		return tx.Model(&signingKeyRow{}).Where("id = ?", kid).
			Updates(map[string]any{"state": string(storage.KeyRetired), "sealed_private_key": nil, "retired_at": time.Now().UTC()}).Error
	})
	if errors.Is(err, storage.ErrKeyInUse) {
		return err
	}
	return mapError("gormstore: retire signing key", err)
}
