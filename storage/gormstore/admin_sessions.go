package gormstore

import (
	"context"
	"fmt"

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
