package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"
)

// checkpointInterval is how often the SQLite write-ahead log is copied back
// into the database file by a PASSIVE checkpoint; walPollInterval how often
// the log's size is compared with its bound.
const (
	checkpointInterval = time.Second
	walPollInterval    = 25 * time.Millisecond
)

// DefaultWALMaxBytes is the bound on SQLite's write-ahead log when Options
// name none.
const DefaultWALMaxBytes = 64 << 20

// checkpointer keeps SQLite's write-ahead log copied into the database file
// and its size bounded.
//
// Every second a PASSIVE checkpoint runs from a connection of its own, beside
// the writer instead of in its way: SQLite would otherwise checkpoint inside
// whichever commit crosses its threshold, and that commit, with every request
// queued behind it, would wait for the checkpoint's fsyncs.
//
// A passive checkpoint never restarts the log under continuous commits: the
// log starts over only when a write begins after every frame was copied
// back, which under load never happens, so the file grew by the size of
// every commit (1.4 GB a minute at 7,000 grants/s). So when the file passes
// half its bound, a TRUNCATE checkpoint runs on the store's single write
// connection: it waits for that connection like any write, so no write is
// half-way through a transaction, copies the few frames the passive
// checkpoints left, and empties the file. Writers wait for it (a few
// milliseconds, docs/benchmarks.md); readers do not.
type checkpointer struct {
	db       *sql.DB // the checkpointer's own connection
	writer   *sql.DB // the store's single write connection
	walPath  string
	maxBytes int64
	log      *slog.Logger
	stop     chan struct{}
	done     sync.WaitGroup
	closed   sync.Once
}

func startCheckpointer(db, writer *sql.DB, dbPath string, maxBytes int64, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, writer: writer, walPath: dbPath + "-wal", maxBytes: maxBytes, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(walPollInterval)
	defer t.Stop()
	lastPassive := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			if c.walSize() > c.maxBytes/2 {
				if err := c.truncate(); err != nil {
					c.log.Warn("sqlite checkpoint failed", "mode", "TRUNCATE", "error", err.Error())
				}
				lastPassive = now
				continue
			}
			if now.Sub(lastPassive) >= checkpointInterval {
				c.checkpoint(c.db, "PASSIVE")
				lastPassive = now
			}
		}
	}
}

// walSize returns the size of the write-ahead log file, 0 if there is none.
func (c *checkpointer) walSize() int64 {
	fi, err := os.Stat(c.walPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("sqlite write-ahead log size", "error", err.Error())
		}
		return 0
	}
	return fi.Size()
}

// truncate runs a TRUNCATE checkpoint on the write connection. A reader
// still using the log makes it give up (busy) rather than hold the writers
// for long; the next poll tries again.
func (c *checkpointer) truncate() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	if err := c.writer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("gormstore: truncate checkpoint: %w", err)
	}
	if busy != 0 {
		c.log.Debug("sqlite checkpoint could not restart the log; readers in it", "frames", logFrames, "copied", done)
	}
	return nil
}

func (c *checkpointer) checkpoint(db *sql.DB, mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done); err != nil {
		c.log.Warn("sqlite checkpoint failed", "mode", mode, "error", err.Error())
	}
}

// close stops the loop and makes a last, complete checkpoint so that the
// database file alone holds everything.
func (c *checkpointer) close() {
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.checkpoint(c.db, "TRUNCATE")
		_ = c.db.Close()
	})
}
