package gormstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// sessionRow is the browser_sessions table.
type sessionRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	SID        string    `gorm:"column:sid"`
	UserID     string    `gorm:"column:user_id"`
	AuthTime   time.Time `gorm:"column:auth_time"`
	AMR        string    `gorm:"column:amr"`
	ACR        string    `gorm:"column:acr"`
	IDP        string    `gorm:"column:idp"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	LastSeenAt time.Time `gorm:"column:last_seen_at"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
	UserAgent  string    `gorm:"column:user_agent"`
	IP         string    `gorm:"column:ip"`
}

func (sessionRow) TableName() string { return "browser_sessions" }

// sessionClientRow is the session_clients table: a client a session signed
// in to.
type sessionClientRow struct {
	SessionID string `gorm:"column:session_id;primaryKey"`
	ClientID  string `gorm:"column:client_id;primaryKey"`
}

func (sessionClientRow) TableName() string { return "session_clients" }

func (r sessionRow) toSession() (storage.BrowserSession, error) {
	amr, err := decodeList(r.AMR)
	if err != nil {
		return storage.BrowserSession{}, fmt.Errorf("session amr: %w", err)
	}
	return storage.BrowserSession{
		ID:         r.ID,
		SID:        r.SID,
		UserID:     r.UserID,
		AuthTime:   r.AuthTime.UTC(),
		AMR:        amr,
		ACR:        r.ACR,
		IDP:        r.IDP,
		CreatedAt:  r.CreatedAt.UTC(),
		LastSeenAt: r.LastSeenAt.UTC(),
		ExpiresAt:  r.ExpiresAt.UTC(),
		UserAgent:  r.UserAgent,
		IP:         r.IP,
	}, nil
}

// CreateSession stores a new browser session. A zero CreatedAt is set to
// now and a zero LastSeenAt to CreatedAt; a taken ID or SID is
// storage.ErrAlreadyExists.
func (s *Store) CreateSession(ctx context.Context, bs storage.BrowserSession) error {
	if bs.CreatedAt.IsZero() {
		bs.CreatedAt = time.Now().UTC()
	}
	if bs.LastSeenAt.IsZero() {
		bs.LastSeenAt = bs.CreatedAt
	}
	amr, err := encodeList(bs.AMR)
	if err != nil {
		return fmt.Errorf("gormstore: create session: %w", err)
	}
	row := sessionRow{
		ID:         bs.ID,
		SID:        bs.SID,
		UserID:     bs.UserID,
		AuthTime:   bs.AuthTime.UTC(),
		AMR:        amr,
		ACR:        bs.ACR,
		IDP:        bs.IDP,
		CreatedAt:  bs.CreatedAt.UTC(),
		LastSeenAt: bs.LastSeenAt.UTC(),
		ExpiresAt:  bs.ExpiresAt.UTC(),
		UserAgent:  bs.UserAgent,
		IP:         bs.IP,
	}
	return mapError("gormstore: create session", s.writer(ctx).Create(&row).Error)
}

// GetSession returns the session with the ID, expired or not.
func (s *Store) GetSession(ctx context.Context, id string) (storage.BrowserSession, error) {
	var row sessionRow
	if err := s.reader(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return storage.BrowserSession{}, mapError("gormstore: get session", err)
	}
	bs, err := row.toSession()
	if err != nil {
		return storage.BrowserSession{}, fmt.Errorf("gormstore: get session: %w", err)
	}
	return bs, nil
}

// TouchSession moves the session's LastSeenAt forward to at; it never moves
// it back, so concurrent requests cannot shorten a session's idle time.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	at = at.UTC()
	res := s.writer(ctx).Exec("UPDATE browser_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?", at, id, at)
	if res.Error != nil {
		return mapError("gormstore: touch session", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// Nothing changed: either the session is gone or it was seen later.
	var n int64
	if err := s.reader(ctx).Model(&sessionRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return mapError("gormstore: touch session", err)
	}
	if n == 0 {
		return fmt.Errorf("gormstore: touch session: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteSession deletes the session and its clients in one transaction and
// returns them, the client IDs sorted.
func (s *Store) DeleteSession(ctx context.Context, id string) (storage.BrowserSession, []string, error) {
	var (
		row     sessionRow
		clients []string
	)
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := s.forUpdate(tx).Where("id = ?", id).Take(&row).Error; err != nil {
			return err
		}
		if err := tx.Model(&sessionClientRow{}).Where("session_id = ?", id).Pluck("client_id", &clients).Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM session_clients WHERE session_id = ?", id).Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM browser_sessions WHERE id = ?", id).Error
	})
	if err != nil {
		return storage.BrowserSession{}, nil, mapError("gormstore: delete session", err)
	}
	bs, err := row.toSession()
	if err != nil {
		return storage.BrowserSession{}, nil, fmt.Errorf("gormstore: delete session: %w", err)
	}
	// Sorted here, not by the database, whose collation may not be bytewise.
	slices.Sort(clients)
	return bs, clients, nil
}

// AddSessionClient records that the session signed in to the client; a
// client already recorded is no error. An unknown session is
// storage.ErrNotFound.
func (s *Store) AddSessionClient(ctx context.Context, sessionID, clientID string) error {
	// One statement both checks that the session exists and ignores a
	// client recorded before, so it needs no transaction.
	res := s.writer(ctx).Exec(`INSERT INTO session_clients (session_id, client_id)
		SELECT id, ? FROM browser_sessions WHERE id = ?
		ON CONFLICT (session_id, client_id) DO NOTHING`, clientID, sessionID)
	if res.Error != nil {
		return mapError("gormstore: add session client", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// Nothing inserted: either the client was recorded already or there is
	// no such session.
	var n int64
	if err := s.reader(ctx).Model(&sessionRow{}).Where("id = ?", sessionID).Count(&n).Error; err != nil {
		return mapError("gormstore: add session client", err)
	}
	if n == 0 {
		return fmt.Errorf("gormstore: add session client: %w", storage.ErrNotFound)
	}
	return nil
}
