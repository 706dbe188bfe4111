package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Event retention: the audit log's old events are deleted every
// tokenCollectionInterval, at most eventPruneBatch a statement with
// eventPrunePause between statements, so that a large backlog never holds
// the database (on SQLite, its single write connection) for long.
//
// This is a garbage-collection task of its own until the one
// garbage-collection pass of pkg/server takes it in (see collectOldEvents).
const (
	eventPruneBatch = 1000
	eventPrunePause = 100 * time.Millisecond
)

// collectOldEvents deletes, every tokenCollectionInterval until ctx ends,
// the events older than event_retention; it does nothing when that is 0
// (keep forever).
func (s *Server) collectOldEvents(ctx context.Context) {
	if s.cfg.EventRetention <= 0 {
		return
	}
	t := time.NewTicker(tokenCollectionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := pruneEvents(ctx, s.store, time.Now().Add(-s.cfg.EventRetention), eventPruneBatch, eventPrunePause)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("deleting old events failed", "error", err.Error(), "deleted", n)
			} else if n > 0 {
				s.log.Debug("deleted old events", "count", n)
			}
		}
	}
}

// pruneEvents deletes the events recorded before the cut-off, batch at a
// time with pause between batches, until none is left or ctx ends, and
// returns how many it deleted.
func pruneEvents(ctx context.Context, store storage.EventStore, before time.Time, batch int, pause time.Duration) (int64, error) {
	var total int64
	for {
		n, err := store.DeleteEventsBefore(ctx, before, batch)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return total, ctx.Err()
		case <-t.C:
		}
	}
}
