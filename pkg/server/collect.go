package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
)

// collectionInterval is how often the garbage collection runs. Its
// statements are bounded (gormstore.CollectBatch rows, with a pause
// between), so a run that finds much to remove never holds the writers for
// long, and a frequent run finds little.
const collectionInterval = time.Minute

// Kinds the server collects besides the store's expiring ones.
const (
	collectEvents          = "events"
	collectWebhookAttempts = "webhook_attempts"
)

// memoryCollectBatch bounds one sweep of the in-memory throttling counters
// under their lock.
const memoryCollectBatch = 1000

// runCollection runs Collect every collectionInterval until ctx ends.
func (s *Server) runCollection(ctx context.Context) {
	t := time.NewTicker(collectionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Collect(ctx, now)
		}
	}
}

// Collect runs one garbage collection as of now: the store's expired rows
// of every kind and, on SQLite, the throttle's ended in-memory counters. It
// logs what it removed at info, one line per kind, and adds it to
// gatehouse_collected_total{kind}; a failure is logged as a warning and
// left to the next run.
func (s *Server) Collect(ctx context.Context, now time.Time) storage.CollectResult {
	res, err := s.store.Collect(ctx, now)
	if err != nil {
		s.log.WarnContext(ctx, "garbage collection failed", "error", err.Error())
	}
	if res.Skipped {
		s.log.DebugContext(ctx, "garbage collection skipped: another replica is collecting")
	}
	if s.memory != nil {
		for {
			n, err := s.memory.DeleteExpiredCounters(ctx, now, memoryCollectBatch)
			if err != nil {
				s.log.WarnContext(ctx, "collecting throttling counters failed", "error", err.Error())
				break
			}
			if res.Removed == nil {
				res.Removed = map[string]int64{}
			}
			res.Removed[storage.CollectThrottleCounters] += n
			if n < memoryCollectBatch {
				break
			}
		}
	}
	// The audit log and the webhook attempts are kept for event_retention
	// (0: forever), in the same bounded batches, by the replica that holds
	// the collection's turn (on PostgreSQL one at a time, as the store's).
	if s.cfg.EventRetention > 0 && !res.Skipped {
		before := now.Add(-s.cfg.EventRetention)
		if res.Removed == nil {
			res.Removed = map[string]int64{}
		}
		n, err := pruneEvents(ctx, s.store, before, gormstore.CollectBatch, eventPrunePause)
		res.Removed[collectEvents] += n
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "deleting old events failed", "error", err.Error())
		}
		for {
			n, err := s.store.DeleteWebhookAttemptsBefore(ctx, before, gormstore.CollectBatch)
			res.Removed[collectWebhookAttempts] += n
			if err != nil {
				s.log.WarnContext(ctx, "deleting old webhook attempts failed", "error", err.Error())
				break
			}
			if n < gormstore.CollectBatch {
				break
			}
		}
	}
	for kind, n := range res.Removed {
		if n > 0 {
			s.metrics.collected.WithLabelValues(kind).Add(float64(n))
			s.log.InfoContext(ctx, "collected expired rows", "kind", kind, "count", n)
		}
	}
	return res
}
