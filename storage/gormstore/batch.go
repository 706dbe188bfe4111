package gormstore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
)

// maxBatch caps the rows of one group commit. With nine columns a row, 256
// rows stay well inside both dialects' limits on bound parameters.
const maxBatch = 256

// errClosed is returned for writes queued after Close.
var errClosed = errors.New("gormstore: store is closed")

// batchWriter is the group-commit writer for token rows written outside a
// transaction. Each caller queues its row and waits; a worker takes every
// row queued at that moment and inserts them in one statement, so that N
// concurrent requests cost one commit instead of N. A caller returns only
// after its row is committed: nothing acknowledged is lost.
type batchWriter struct {
	db  *gorm.DB
	log *slog.Logger
	in  chan *pendingRow
	wg  sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool

	pending sync.Pool // of *pendingRow, so a request allocates no channel
}

type pendingRow struct {
	row  tokenRow
	done chan error
}

func newBatchWriter(db *gorm.DB, workers int, log *slog.Logger) *batchWriter {
	b := &batchWriter{db: db, log: log, in: make(chan *pendingRow, 4*maxBatch)}
	b.pending.New = func() any { return &pendingRow{done: make(chan error, 1)} }
	for range workers {
		b.wg.Add(1)
		go b.run()
	}
	return b
}

// insert queues row and waits until it is committed or failed.
func (b *batchWriter) insert(ctx context.Context, row tokenRow) error {
	p := b.pending.Get().(*pendingRow)
	p.row = row
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		b.pending.Put(p)
		return errClosed
	}
	select {
	case b.in <- p:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		b.pending.Put(p)
		return ctx.Err()
	}
	// Wait for the outcome even if ctx ends: the worker owns p until it
	// answers, and the row may already be on its way to disk.
	err := <-p.done
	p.row = tokenRow{}
	b.pending.Put(p)
	return err
}

func (b *batchWriter) run() {
	defer b.wg.Done()
	batch := make([]*pendingRow, 0, maxBatch)
	rows := make([]tokenRow, 0, maxBatch)
	for first := range b.in {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-b.in:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		rows = rows[:0]
		for _, p := range batch {
			rows = append(rows, p.row)
		}
		b.flush(batch, rows)
	}
}

// flush inserts the rows in one statement. If that fails, it retries them
// one by one so that one bad row does not fail the others.
func (b *batchWriter) flush(batch []*pendingRow, rows []tokenRow) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.db.WithContext(ctx).Create(&rows).Error
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	b.log.Warn("group commit failed; writing rows one by one", "rows", len(rows), "error", err)
	for i, p := range batch {
		p.done <- b.db.WithContext(ctx).Create(&rows[i]).Error
	}
}

// close stops accepting rows and waits until every queued row is written.
func (b *batchWriter) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.in)
	}
	b.mu.Unlock()
	b.wg.Wait()
}
