package gormstore

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"
)

// checkpointInterval is how often the SQLite write-ahead log is copied back
// into the database file.
const checkpointInterval = time.Second

// maxWALFrames is the write-ahead log's length (frames of one page, 4 KiB)
// past which a checkpoint resets it. Under a steady stream of writes (a
// bulk import) a PASSIVE checkpoint never catches up with the writer, so
// the log never starts over and grows without bound (gigabytes for a
// million customers), slowing every read that must search it. A TRUNCATE
// checkpoint waits for the current write transaction, holds the next
// writers (they wait in the busy handler) while it copies the rest, and
// empties the file.
const maxWALFrames = 64 << 10

// checkpointer copies SQLite's write-ahead log into the database file from a
// connection of its own. SQLite would otherwise checkpoint inside whichever
// commit crosses the threshold, and that commit, with every request queued
// behind it, would wait for the checkpoint's fsyncs. A PASSIVE checkpoint
// runs beside the writer instead of in its way.
type checkpointer struct {
	db     *sql.DB
	log    *slog.Logger
	stop   chan struct{}
	done   sync.WaitGroup
	closed sync.Once
}

func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if frames := c.checkpoint("PASSIVE"); frames >= maxWALFrames {
				c.checkpoint("TRUNCATE")
			}
		}
	}
}

// checkpoint runs one checkpoint and returns the log's length in frames.
func (c *checkpointer) checkpoint(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done); err != nil {
		c.log.Warn("sqlite checkpoint failed", "mode", mode, "error", err.Error())
	}
	return logFrames
}

// close stops the loop and makes a last, complete checkpoint so that the
// database file alone holds everything.
func (c *checkpointer) close() {
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.checkpoint("TRUNCATE")
		_ = c.db.Close()
	})
}
