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
	"sync/atomic"
	"time"
)

// checkpointInterval is how often the SQLite write-ahead log is copied back
// into the database file by a PASSIVE checkpoint; walPollInterval how often
// the log's size is compared with its bound.
// busyCheckpointInterval is how often once the log has passed an eighth of
// its bound.
const (
	checkpointInterval     = time.Second
	busyCheckpointInterval = 25 * time.Millisecond
	walPollInterval        = 25 * time.Millisecond
)

// DefaultWALMaxBytes is the bound on SQLite's write-ahead log when Options
// name none.
const DefaultWALMaxBytes = 64 << 20

// checkpointer keeps SQLite's write-ahead log copied into the database file
// and its size bounded.
//
// Every second (every busyCheckpointInterval once the log passes an eighth
// of its bound) a PASSIVE checkpoint runs from a connection of its own,
// beside the writer instead of in its way: SQLite would otherwise checkpoint
// inside whichever commit crosses its threshold, and that commit, with every
// request queued behind it, would wait for the checkpoint's fsyncs.
//
// A passive checkpoint never restarts the log under continuous commits: the
// log starts over only when a write begins after every frame was copied
// back, which under load never happens, so the file grew by the size of
// every commit (1.4 GB a minute at 7,000 grants/s). So when the file passes
// half its bound, a RESTART checkpoint runs on the store's single write
// connection between two writes, so no write is half-way through a
// transaction: it copies the few frames the passive checkpoints left, the
// next write starts the log over, and journal_size_limit cuts the file to
// half the bound. The group-commit writer checks after each of its
// batches (walBound), so the bound holds whatever the write rate; this loop
// checks every walPollInterval for the writes made in transactions. Writers
// wait for the checkpoint (tens of milliseconds, docs/architecture.md); readers
// do not. One checkpoint runs at a time (mu): a RESTART that found a
// PASSIVE under way would give up, and the writes after it would grow the
// log past its bound.
type checkpointer struct {
	db       *sql.DB // the checkpointer's own connection
	writer   *sql.DB // the store's single write connection
	walPath  string
	maxBytes int64
	log      *slog.Logger
	mu       sync.Mutex // held by each checkpoint
	// held counts the initial loads under way (holdRestarts): each keeps
	// the write connection for its whole length, so a restart would only
	// wait for it and fail.
	held   atomic.Int32
	stop   chan struct{}
	done   sync.WaitGroup
	closed sync.Once
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
			size := walSize(c.walPath, c.log)
			switch {
			case size > c.maxBytes/2:
				c.restart()
				lastPassive = now
			case now.Sub(lastPassive) >= checkpointInterval || size > c.maxBytes/8 && now.Sub(lastPassive) >= busyCheckpointInterval:
				// Under load, copy frames back often, so that the RESTART
				// the writer runs at half the bound has little left to copy.
				c.checkpoint(c.db, "PASSIVE")
				lastPassive = now
			}
		}
	}
}

// walSize returns the size of the write-ahead log file, 0 if there is none.
func walSize(path string, log *slog.Logger) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("sqlite write-ahead log size", "error", err.Error())
		}
		return 0
	}
	return fi.Size()
}

// holdRestarts keeps restart from running until the function it returns
// is called; passive checkpoints go on.
func (c *checkpointer) holdRestarts() (release func()) {
	c.held.Add(1)
	return func() { c.held.Add(-1) }
}

// restart restarts the log (restartWAL) once no other checkpoint runs,
// unless restarts are held.
func (c *checkpointer) restart() {
	if c.held.Load() > 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := restartWAL(c.writer, c.log); err != nil {
		c.log.Warn("sqlite checkpoint failed", "mode", "RESTART", "error", err.Error())
	}
}

// restartWAL runs a RESTART checkpoint on the write connection: it copies
// what the passive checkpoints left and makes the next write start the log
// over, at which SQLite cuts the file to journal_size_limit (half the
// bound). RESTART rather than TRUNCATE: the file's blocks are written over
// instead of freed and allocated again, which cost grants
// (docs/benchmarks.md). It waits for readers still using the log up to
// the connection's busy timeout, then gives up (busy) rather than hold the
// writers longer; the next check tries again.
func restartWAL(writer *sql.DB, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logFrames, done int
	start := time.Now()
	if err := writer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("gormstore: restart checkpoint: %w", err)
	}
	if busy != 0 {
		log.Debug("sqlite checkpoint could not restart the log yet", "frames", logFrames, "copied", done, "took", time.Since(start).String())
	} else {
		log.Debug("sqlite log restarted", "frames", logFrames, "took", time.Since(start).String())
	}
	return nil
}

// walBound is the group-commit writer's check of the log's size after each
// batch: past threshold, the writer restarts the log before its next batch.
type walBound struct {
	path      string
	threshold int64
	ckpt      *checkpointer
}

// check restarts the log when it has passed the threshold.
func (w *walBound) check(log *slog.Logger) {
	if walSize(w.path, log) <= w.threshold {
		return
	}
	w.ckpt.restart()
}

func (c *checkpointer) checkpoint(db *sql.DB, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
