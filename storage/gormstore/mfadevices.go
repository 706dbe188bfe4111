package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/gatehouse-id/gatehouse/storage"
)

// mfaDeviceRow is the mfa_devices table.
type mfaDeviceRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	UserID     string    `gorm:"column:user_id"`
	UserAgent  string    `gorm:"column:user_agent"`
	IP         string    `gorm:"column:ip"`
	VerifiedAt time.Time `gorm:"column:verified_at"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
}

func (mfaDeviceRow) TableName() string { return "mfa_devices" }

func (r mfaDeviceRow) device() storage.MFADevice {
	return storage.MFADevice{
		ID: r.ID, UserID: r.UserID, UserAgent: r.UserAgent, IP: r.IP,
		VerifiedAt: r.VerifiedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
}

// PutMFADevice stores a remembered browser, replacing one with its ID.
func (s *Store) PutMFADevice(ctx context.Context, d storage.MFADevice) error {
	row := mfaDeviceRow{
		ID: d.ID, UserID: d.UserID, UserAgent: d.UserAgent, IP: d.IP,
		VerifiedAt: d.VerifiedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(),
	}
	err := s.writer(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).Create(&row).Error
	return mapError("gormstore: put mfa device", err)
}

// GetMFADevice returns a live remembered browser of the customer.
func (s *Store) GetMFADevice(ctx context.Context, userID, id string, now time.Time) (storage.MFADevice, error) {
	var row mfaDeviceRow
	err := s.reader(ctx).Where("id = ? AND user_id = ? AND expires_at > ?", id, userID, now.UTC()).Take(&row).Error
	if err != nil {
		return storage.MFADevice{}, mapError("gormstore: get mfa device", err)
	}
	return row.device(), nil
}

// ListMFADevices returns the customer's live remembered browsers.
func (s *Store) ListMFADevices(ctx context.Context, userID string, now time.Time) ([]storage.MFADevice, error) {
	var rows []mfaDeviceRow
	err := s.reader(ctx).Where("user_id = ? AND expires_at > ?", userID, now.UTC()).Order("verified_at DESC, id").Find(&rows).Error
	if err != nil {
		return nil, mapError("gormstore: list mfa devices", err)
	}
	out := make([]storage.MFADevice, len(rows))
	for i, r := range rows {
		out[i] = r.device()
	}
	return out, nil
}

// DeleteMFADevice forgets one remembered browser of the customer.
func (s *Store) DeleteMFADevice(ctx context.Context, userID, id string) error {
	res := s.writer(ctx).Exec("DELETE FROM mfa_devices WHERE id = ? AND user_id = ?", id, userID)
	if res.Error != nil {
		return mapError("gormstore: delete mfa device", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete mfa device: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteMFADevices forgets every remembered browser of the customer.
func (s *Store) DeleteMFADevices(ctx context.Context, userID string) (int, error) {
	res := s.writer(ctx).Exec("DELETE FROM mfa_devices WHERE user_id = ?", userID)
	if res.Error != nil {
		return 0, mapError("gormstore: delete mfa devices", res.Error)
	}
	return int(res.RowsAffected), nil
}
