package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// authRequestRow is the auth_requests table. session_id is empty until the
// customer signs in during the request.
type authRequestRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	ClientID       string    `gorm:"column:client_id"`
	Form           string    `gorm:"column:form"`
	RequestedAt    time.Time `gorm:"column:requested_at"`
	BrowserBinding string    `gorm:"column:browser_binding"`
	SessionID      string    `gorm:"column:session_id"`
	ExpiresAt      time.Time `gorm:"column:expires_at"`
}

func (authRequestRow) TableName() string { return "auth_requests" }

func (r authRequestRow) toAuthRequest() storage.AuthRequest {
	return storage.AuthRequest{
		ID:             r.ID,
		ClientID:       r.ClientID,
		Form:           r.Form,
		RequestedAt:    r.RequestedAt.UTC(),
		BrowserBinding: r.BrowserBinding,
		SessionID:      r.SessionID,
		ExpiresAt:      r.ExpiresAt.UTC(),
	}
}

// CreateAuthRequest stores a pending request; a taken ID is
// storage.ErrAlreadyExists.
func (s *Store) CreateAuthRequest(ctx context.Context, r storage.AuthRequest) error {
	row := authRequestRow{
		ID:             r.ID,
		ClientID:       r.ClientID,
		Form:           r.Form,
		RequestedAt:    r.RequestedAt.UTC(),
		BrowserBinding: r.BrowserBinding,
		SessionID:      r.SessionID,
		ExpiresAt:      r.ExpiresAt.UTC(),
	}
	return mapError("gormstore: create auth request", s.writer(ctx).Create(&row).Error)
}

// GetAuthRequest returns a pending request; one that has expired is
// storage.ErrNotFound, whether or not it was collected yet.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var row authRequestRow
	err := s.reader(ctx).Where("id = ? AND expires_at > ?", id, time.Now().UTC()).Take(&row).Error
	if err != nil {
		return storage.AuthRequest{}, mapError("gormstore: get auth request", err)
	}
	return row.toAuthRequest(), nil
}

// SetAuthRequestSession records the session that signed in for the request.
// An unknown or expired request is storage.ErrNotFound.
func (s *Store) SetAuthRequestSession(ctx context.Context, id, sessionID string) error {
	res := s.writer(ctx).Exec("UPDATE auth_requests SET session_id = ? WHERE id = ? AND expires_at > ?", sessionID, id, time.Now().UTC())
	if res.Error != nil {
		return mapError("gormstore: set auth request session", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: set auth request session: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteAuthRequest removes the request, expired or not; an unknown one is
// storage.ErrNotFound.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	res := s.writer(ctx).Exec("DELETE FROM auth_requests WHERE id = ?", id)
	if res.Error != nil {
		return mapError("gormstore: delete auth request", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("gormstore: delete auth request: %w", storage.ErrNotFound)
	}
	return nil
}
