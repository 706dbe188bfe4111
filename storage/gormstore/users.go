package gormstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// userRow is the users table. The email is stored lower-cased, and NULL for
// a customer without one, so that the unique index does not make two such
// customers collide.
type userRow struct {
	ID                  string         `gorm:"column:id;primaryKey"`
	Email               sql.NullString `gorm:"column:email"`
	EmailVerified       bool           `gorm:"column:email_verified"`
	PasswordHash        string         `gorm:"column:password_hash"`
	Name                string         `gorm:"column:name"`
	GivenName           string         `gorm:"column:given_name"`
	FamilyName          string         `gorm:"column:family_name"`
	Picture             string         `gorm:"column:picture"`
	Locale              string         `gorm:"column:locale"`
	PhoneNumber         string         `gorm:"column:phone_number"`
	PhoneNumberVerified bool           `gorm:"column:phone_number_verified"`
	Address             string         `gorm:"column:address"`
	MFA                 bool           `gorm:"column:mfa"`
	CreatedAt           time.Time      `gorm:"column:created_at"`
	UpdatedAt           time.Time      `gorm:"column:updated_at"`
	ExternalID          sql.NullString `gorm:"column:external_id"`
	Disabled            bool           `gorm:"column:disabled"`
	Attributes          sql.NullString `gorm:"column:attributes"`
}

func (userRow) TableName() string { return "users" }

// normalizeEmail is the form an email is stored and looked up in.
func normalizeEmail(email string) string { return strings.ToLower(email) }

func toUserRow(u storage.User) (userRow, error) {
	addr, err := json.Marshal(u.Address)
	if err != nil {
		return userRow{}, err
	}
	attrs, err := encodeAttributes(u.Attributes)
	if err != nil {
		return userRow{}, err
	}
	email := normalizeEmail(u.Email)
	return userRow{
		ID:                  u.ID,
		Email:               sql.NullString{String: email, Valid: email != ""},
		EmailVerified:       u.EmailVerified,
		PasswordHash:        u.PasswordHash,
		Name:                u.Name,
		GivenName:           u.GivenName,
		FamilyName:          u.FamilyName,
		Picture:             u.Picture,
		Locale:              u.Locale,
		PhoneNumber:         u.PhoneNumber,
		PhoneNumberVerified: u.PhoneNumberVerified,
		Address:             string(addr),
		MFA:                 u.MFA,
		CreatedAt:           u.CreatedAt.UTC(),
		UpdatedAt:           u.UpdatedAt.UTC(),
		ExternalID:          sql.NullString{String: u.ExternalID, Valid: u.ExternalID != ""},
		Disabled:            u.Disabled,
		Attributes:          attrs,
	}, nil
}

func (r userRow) toUser() (storage.User, error) {
	var addr storage.Address
	if err := json.Unmarshal([]byte(r.Address), &addr); err != nil {
		return storage.User{}, fmt.Errorf("user %s address: %w", r.ID, err)
	}
	attrs, err := decodeAttributes(r.Attributes)
	if err != nil {
		return storage.User{}, fmt.Errorf("user %s attributes: %w", r.ID, err)
	}
	return storage.User{
		ID:                  r.ID,
		Email:               r.Email.String,
		EmailVerified:       r.EmailVerified,
		PasswordHash:        r.PasswordHash,
		Name:                r.Name,
		GivenName:           r.GivenName,
		FamilyName:          r.FamilyName,
		Picture:             r.Picture,
		Locale:              r.Locale,
		PhoneNumber:         r.PhoneNumber,
		PhoneNumberVerified: r.PhoneNumberVerified,
		Address:             addr,
		MFA:                 r.MFA,
		CreatedAt:           r.CreatedAt.UTC(),
		UpdatedAt:           r.UpdatedAt.UTC(),
		ExternalID:          r.ExternalID.String,
		Disabled:            r.Disabled,
		Attributes:          attrs,
	}, nil
}

// CreateUser stores a new customer with the email lower-cased; a taken ID or
// email is storage.ErrAlreadyExists.
func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	now := time.Now().UTC()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt = now
	// A new customer has no second factor yet (MFAStore sets the flag).
	u.MFA = false
	row, err := toUserRow(u)
	if err != nil {
		return fmt.Errorf("gormstore: create user: %w", err)
	}
	if !s.indexesAny(u.Attributes) {
		return mapError("gormstore: create user", s.writer(ctx).Create(&row).Error)
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.syncAttributeIndex(tx, u.ID, nil, u.Attributes)
	})
	return mapError("gormstore: create user", err)
}

// GetUser returns the customer with the ID.
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	var row userRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.User{}, mapError("gormstore: get user", err)
	}
	return row.toUser()
}

// GetUserByEmail returns the customer with the email, compared
// case-insensitively. An empty email matches no one.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	email = normalizeEmail(email)
	if email == "" {
		return storage.User{}, fmt.Errorf("gormstore: get user by email: %w", storage.ErrNotFound)
	}
	var row userRow
	if err := s.reader(ctx).Where("email = ?", email).Take(&row).Error; err != nil {
		return storage.User{}, mapError("gormstore: get user by email", err)
	}
	return row.toUser()
}

// UpdateUser applies update to the stored customer in one transaction. The
// ID and CreatedAt cannot change; an email taken by another customer is
// storage.ErrAlreadyExists. When update fails, its error is returned as it
// is and nothing is written.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(storage.User) (storage.User, error)) error {
	defer s.forgetUser(ctx, id)
	var updateErr error
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var row userRow
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		old, err := row.toUser()
		if err != nil {
			return err
		}
		// The function gets its own copy of the attributes, so that a
		// change it makes in place does not change old too.
		cur := old
		cur.Attributes = maps.Clone(old.Attributes)
		updated, err := update(cur)
		if err != nil {
			updateErr = err
			return err
		}
		updated.ID, updated.CreatedAt, updated.UpdatedAt = old.ID, old.CreatedAt, time.Now().UTC()
		// Only the MFAStore methods change the flag.
		updated.MFA = old.MFA
		newRow, err := toUserRow(updated)
		if err != nil {
			return err
		}
		if err := tx.Select("*").Save(&newRow).Error; err != nil {
			return err
		}
		return s.syncAttributeIndex(tx, id, old.Attributes, updated.Attributes)
	})
	if updateErr != nil {
		return updateErr
	}
	return mapError("gormstore: update user", err)
}

// forUpdate makes a read in a read-modify-write lock the rows it reads until
// the transaction ends (on PostgreSQL; SQLite's write transactions are
// exclusive already). Call it once per query: GORM chains are not reusable.
func (s *Store) forUpdate(tx *gorm.DB) *gorm.DB {
	if s.kind == Postgres {
		return tx.Clauses(lockForUpdate)
	}
	return tx
}
