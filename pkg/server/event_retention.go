package server

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// eventPrunePause is the pause between two statements deleting old events
// (see Collect), so that a large backlog never holds the database (on
// SQLite, its single write connection) for long.
const eventPrunePause = 100 * time.Millisecond

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
