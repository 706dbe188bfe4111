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
			c.checkpoint("PASSIVE")
		}
	}
}

func (c *checkpointer) checkpoint(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done); err != nil {
		c.log.Warn("sqlite checkpoint failed", "mode", mode, "error", err.Error())
	}
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
