package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// ListSessionsByUser returns the customer's sessions, newest first.
func (s *Store) ListSessionsByUser(ctx context.Context, userID string) ([]storage.BrowserSession, error) {
	var rows []sessionRow
	if err := s.reader(ctx).Where("user_id = ?", userID).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, mapError("gormstore: list sessions", err)
	}
	out := make([]storage.BrowserSession, 0, len(rows))
	for _, r := range rows {
		bs, err := r.toSession()
		if err != nil {
			return nil, fmt.Errorf("gormstore: list sessions: %w", err)
		}
		out = append(out, bs)
	}
	return out, nil
}

// DeleteSessionsByUser deletes the customer's sessions and their clients in
// one transaction and returns how many sessions it deleted.
func (s *Store) DeleteSessionsByUser(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM session_clients WHERE session_id IN (SELECT id FROM browser_sessions WHERE user_id = ?)", userID).Error; err != nil {
			return err
		}
		res := tx.Exec("DELETE FROM browser_sessions WHERE user_id = ?", userID)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, mapError("gormstore: delete sessions of a customer", err)
	}
	return n, nil
}
