package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gatehouse-id/gatehouse/storage"
)

// consentRow is the consents table; the scopes are a JSON list.
type consentRow struct {
	UserID    string    `gorm:"column:user_id;primaryKey"`
	ClientID  string    `gorm:"column:client_id;primaryKey"`
	Scopes    string    `gorm:"column:scopes"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (consentRow) TableName() string { return "consents" }

func (r consentRow) toConsent() (storage.Consent, error) {
	scopes, err := decodeList(r.Scopes)
	if err != nil {
		return storage.Consent{}, fmt.Errorf("consent scopes: %w", err)
	}
	return storage.Consent{
		UserID:    r.UserID,
		ClientID:  r.ClientID,
		Scopes:    scopes,
		CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

// GetConsent returns the customer's consent for the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (storage.Consent, error) {
	var row consentRow
	if err := s.reader(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error; err != nil {
		return storage.Consent{}, mapError("gormstore: get consent", err)
	}
	c, err := row.toConsent()
	if err != nil {
		return storage.Consent{}, fmt.Errorf("gormstore: get consent: %w", err)
	}
	return c, nil
}

// GrantConsent adds scopes to the customer's consent for the client, in the
// order they first appear and without duplicates, creating the consent if
// there is none. Concurrent grants all end up in the stored set: the row is
// read locked (PostgreSQL) or in an exclusive transaction (SQLite), and a
// grant that loses the race to create the row merges into the winner's.
func (s *Store) GrantConsent(ctx context.Context, userID, clientID string, scopes []string) error {
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		var row consentRow
		err := s.forUpdate(tx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			list, encErr := encodeList(mergeScopes(nil, scopes))
			if encErr != nil {
				return encErr
			}
			row = consentRow{UserID: userID, ClientID: clientID, Scopes: list, CreatedAt: now, UpdatedAt: now}
			// DO NOTHING rather than a unique violation, which would abort a
			// PostgreSQL transaction: on a conflict the insert waits for the
			// concurrent grant to commit, and the read below then sees its row.
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
			if res.Error != nil || res.RowsAffected > 0 {
				return res.Error
			}
			err = s.forUpdate(tx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
		}
		if err != nil {
			return err
		}
		old, err := decodeList(row.Scopes)
		if err != nil {
			return fmt.Errorf("consent scopes: %w", err)
		}
		merged := mergeScopes(old, scopes)
		if len(merged) == len(old) {
			return nil // nothing new
		}
		list, err := encodeList(merged)
		if err != nil {
			return err
		}
		return tx.Model(&consentRow{}).Where("user_id = ? AND client_id = ?", userID, clientID).
			Updates(map[string]any{"scopes": list, "updated_at": now}).Error
	})
	return mapError("gormstore: grant consent", err)
}

// mergeScopes returns old followed by the scopes of add it lacks, each once.
func mergeScopes(old, add []string) []string {
	out := slices.Clone(old)
	for _, sc := range add {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// encodeList turns a list into its JSON column; nil is stored as [].
func encodeList(l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	return string(b), err
}

// decodeList reads a JSON list column; an empty list comes back nil.
func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}
