package gormstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// unhealthyAfter is how many group commits in a row must fail before the
// store calls its writes failing: one failure can be a passing hiccup, three
// in a row (with the writer's back-off between them, at least 150 ms) are a
// database that does not take writes.
const unhealthyAfter = 3

// writeHealth records whether the store's writes succeed: the group-commit
// writer reports every batch, and Healthy reads it.
type writeHealth struct {
	mu       sync.Mutex
	failures int   // failed batches in a row
	lastErr  error // the last failure's error
	probing  sync.Mutex
}

// report records the outcome of one write.
func (h *writeHealth) report(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failures, h.lastErr = 0, nil
		return
	}
	h.failures++
	h.lastErr = err
}

// failing returns the last error when writes have failed unhealthyAfter
// times in a row, and nil otherwise.
func (h *writeHealth) failing() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures >= unhealthyAfter {
		return h.lastErr
	}
	return nil
}

// LastWriteError returns the error of the last failed write when writes
// have failed several times in a row (a full disk, a read-only or
// unreachable database), and nil while they succeed.
func (s *Store) LastWriteError() error { return s.health.failing() }

// Healthy reports whether the store takes writes. While the group-commit
// writer's recent batches all failed, it tries a write of its own (one at
// a time: a call that finds one under way reports the last error), so that
// a server no longer sent any traffic still notices that the database takes
// writes again. It does NOT ping the readers: see Ping.
func (s *Store) Healthy(ctx context.Context) error {
	err := s.health.failing()
	if err == nil {
		return nil
	}
	if !s.health.probing.TryLock() {
		return fmt.Errorf("gormstore: writes failing: %w", err)
	}
	defer s.health.probing.Unlock()
	if perr := s.probeWrite(ctx); perr != nil {
		s.health.report(perr)
		return fmt.Errorf("gormstore: writes failing: %w", perr)
	}
	s.health.report(nil)
	return nil
}

// probeWrite inserts a token row and deletes it again in one transaction:
// a commit that writes pages, through the same connection and table as the
// group commit, and leaves nothing behind.
func (s *Store) probeWrite(ctx context.Context) error {
	now := time.Now().UTC()
	return s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("INSERT INTO tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"probe", "gatehouse-write-probe", "", "", "", false, now, now, "").Error; err != nil {
			return err
		}
		return tx.Exec("DELETE FROM tokens WHERE kind = ? AND signature = ?", "probe", "gatehouse-write-probe").Error
	})
}
