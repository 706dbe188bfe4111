package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// maxBatch caps the rows of one group commit. With nine columns a row, 256
// rows stay well inside both dialects' limits on bound parameters.
const maxBatch = 256

// errClosed is returned for writes queued after Close.
var errClosed = errors.New("gormstore: store is closed")

// batchWriter is the group-commit writer for token rows written outside a
// transaction. Each caller queues its row and waits; one worker takes every
// row queued at that moment and inserts them in one statement, so that N
// concurrent requests cost one commit instead of N. A caller returns only
// after its row is committed: nothing acknowledged is lost.
//
// One worker: SQLite has one writer at a time anyway, and on PostgreSQL one
// writer makes the biggest batches, which cost the database half the CPU a
// row that four writers' smaller batches did, for as many grants per second
// (docs/benchmarks.md). Rows queue while a commit is in flight, so batches
// grow with the load.
type batchWriter struct {
	log *slog.Logger
	in  chan *pendingRow
	wg  sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool

	pending sync.Pool // of *pendingRow, so a request allocates no channel
	dialect string
	linger  time.Duration // how long to wait for company under load; 0 never

	// valuesSQL caches SQLite's INSERT statement by row count; only the
	// worker touches it.
	valuesSQL map[int]string

	conn      *sql.DB              // GORM's pool, used directly on this hot path
	translate gorm.ErrorTranslator // maps driver errors to gorm.ErrDuplicatedKey

	idle    int           // the pool's idle connections, restored after dropping them
	wal     *walBound     // SQLite: the log's bound, checked after each batch; nil on PostgreSQL
	health  *writeHealth  // told the outcome of every batch
	backoff time.Duration // the wait before the next batch after failures; 0 when the last one succeeded
}

type pendingRow struct {
	row  tokenRow
	done chan error
}

func newBatchWriter(db *gorm.DB, dialect string, idle int, log *slog.Logger, health *writeHealth, wal *walBound) (*batchWriter, error) {
	conn, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("gormstore: connection pool: %w", err)
	}
	b := &batchWriter{log: log, in: make(chan *pendingRow, 4*maxBatch), dialect: dialect, conn: conn, valuesSQL: map[int]string{}, health: health, wal: wal, idle: idle}
	if dialect == SQLite {
		b.linger = sqliteLinger
	}
	b.translate, _ = db.Dialector.(gorm.ErrorTranslator)
	b.pending.New = func() any { return &pendingRow{done: make(chan error, 1)} }
	b.wg.Add(1)
	go b.run()
	return b, nil
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
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lastFlush time.Time
	for first := range b.in {
		// After a failed batch, wait before the next: a database that is
		// down or full answers every batch alike, and retrying at once
		// only spins. Rows queue meanwhile and go in the next batch.
		if b.backoff > 0 {
			time.Sleep(b.backoff)
		}
		batch = append(batch[:0], first)
		// Gather what is queued now, then yield the processor a few times so
		// that requests already being handled can queue their rows too.
		for yields := 0; ; yields++ {
			batch = b.drain(batch)
			if len(batch) >= maxBatch || yields == maxYields {
				break
			}
			runtime.Gosched()
		}
		// Under load (the previous commit was a moment ago) wait a little
		// longer for company: a commit costs about the same for one row as
		// for a hundred, so a short wait buys throughput. At low load rows
		// are written at once.
		if b.linger > 0 && len(batch) < maxBatch && time.Since(lastFlush) < lingerWindow {
			linger.Reset(b.linger)
		gather:
			for len(batch) < maxBatch {
				select {
				case p, ok := <-b.in:
					if !ok {
						break gather
					}
					batch = append(batch, p)
				case <-linger.C:
					break gather
				}
			}
			linger.Stop()
		}
		rows = rows[:0]
		for _, p := range batch {
			rows = append(rows, p.row)
		}
		b.flush(batch, rows)
		if b.wal != nil {
			b.wal.check(b.log)
		}
		lastFlush = time.Now()
	}
}

// sqliteLinger is how long a worker under load waits to fill a batch on
// SQLite, and lingerWindow what counts as under load: a commit within that
// window. A longer wait makes bigger batches (less work a row) but leaves
// the cores idle when every request in the server is already waiting for
// the commit; 200 µs gave the most grants per second under 50 concurrent
// clients (docs/benchmarks.md). PostgreSQL does not linger: its commit is a
// round trip of about a millisecond under load, and the rows that queue
// meanwhile are company enough (lingering there cost 5% of the grants).
const (
	sqliteLinger = 200 * time.Microsecond
	lingerWindow = 2 * time.Millisecond
)

// maxYields bounds how often a worker yields while gathering a batch.
const maxYields = 4

// drain appends every row queued right now, up to maxBatch.
func (b *batchWriter) drain(batch []*pendingRow) []*pendingRow {
	for len(batch) < maxBatch {
		select {
		case p, ok := <-b.in:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// flush inserts the rows in one statement. If that fails on a constraint
// (a signature already taken), it retries them one by one so that one bad
// row does not fail the others. Any other failure (the database is down,
// full or read-only) is every row's: the batch's requests fail at once, and
// the writer backs off before the next batch (backoffMin, doubling to
// backoffMax) instead of trying each row against a database that will
// refuse it too. On PostgreSQL a dropped connection is first retried once
// on a new one.
func (b *batchWriter) flush(batch []*pendingRow, rows []tokenRow) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.insertRows(ctx, rows)
	if err != nil && b.dialect == Postgres && isConnectionError(err) {
		// The server dropped the connection (a restart, a failover, an
		// operator ending sessions). The pool's idle connections went to the
		// same server and would fail alike, one after another: drop them,
		// and try the batch once more on a new connection.
		b.conn.SetMaxIdleConns(0)
		b.conn.SetMaxIdleConns(b.idle)
		err = b.insertRows(ctx, rows)
	}
	if err != nil && len(batch) > 1 && isConstraintError(err) {
		b.log.Warn("group commit failed on a constraint; writing rows one by one", "rows", len(rows), "error", err)
		var failed error
		for i, p := range batch {
			rerr := b.insertRows(ctx, rows[i:i+1])
			if rerr != nil && !isConstraintError(rerr) {
				failed = rerr
			}
			p.done <- rerr
		}
		b.settle(failed, len(rows))
		return
	}
	// Settle (log, health, back-off) before answering the requests, so
	// that whoever sees a write fail finds it logged and reported.
	settled := err
	if settled != nil && isConstraintError(settled) {
		settled = nil // one row's conflict says nothing about the database
	}
	b.settle(settled, len(rows))
	for _, p := range batch {
		p.done <- err
	}
}

// Back-off bounds of the writer after a batch fails for a reason other than
// a constraint: the first wait, and the longest. The longest bounds how
// long the server takes to serve again once the database is back.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
)

// settle records a batch's outcome and sets the wait before the next one.
func (b *batchWriter) settle(err error, rows int) {
	// Log first, then report: whoever sees the store's health change finds
	// the batch's log line already written.
	if err == nil {
		if b.backoff > 0 {
			b.log.Info("group commit writes again")
		}
		b.backoff = 0
	} else {
		b.backoff = min(max(2*b.backoff, backoffMin), backoffMax)
		b.log.Warn("group commit failed; backing off", "rows", rows, "connection", isConnectionError(err), "wait", b.backoff.String(), "error", err)
	}
	if b.health != nil {
		b.health.report(err)
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

// tokenColumns are the tokens table's columns, in tokenRow's field order.
const tokenColumns = "kind, signature, request_id, client_id, subject, active, requested_at, expires_at, data"

// insertRows writes rows in one multi-row INSERT. It bypasses GORM's
// reflection: this is the hot path of the token endpoint.
func (b *batchWriter) insertRows(ctx context.Context, rows []tokenRow) error {
	var err error
	if b.dialect == Postgres {
		err = b.insertArrays(ctx, rows)
	} else {
		err = b.insertValues(ctx, rows)
	}
	if err != nil && b.translate != nil {
		err = b.translate.Translate(err)
	}
	if err != nil {
		if err = markUnavailable(err); errors.Is(err, storage.ErrUnavailable) {
			dropIdle(b.conn)
		}
	}
	return err
}

// insertArraysSQL inserts a batch on PostgreSQL from one array per column:
// one statement, prepared once, whatever the batch size, and nine
// parameters instead of nine a row.
const insertArraysSQL = "INSERT INTO tokens (" + tokenColumns + ") SELECT * FROM unnest(" +
	"$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[], $8::timestamptz[], $9::text[])"

// insertArrays writes rows with insertArraysSQL.
func (b *batchWriter) insertArrays(ctx context.Context, rows []tokenRow) error {
	n := len(rows)
	kinds, signatures, requestIDs, clientIDs, subjects, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	active, requestedAt, expiresAt := make([]bool, n), make([]time.Time, n), make([]*time.Time, n)
	for i := range rows {
		r := &rows[i]
		kinds[i], signatures[i], requestIDs[i], clientIDs[i], subjects[i], data[i] = r.Kind, r.Signature, r.RequestID, r.ClientID, r.Subject, r.Data
		active[i], requestedAt[i] = r.Active, r.RequestedAt
		if r.ExpiresAt.Valid {
			expiresAt[i] = &r.ExpiresAt.Time
		}
	}
	_, err := b.conn.ExecContext(ctx, insertArraysSQL, kinds, signatures, requestIDs, clientIDs, subjects, active, requestedAt, expiresAt, data)
	return err
}

// insertValues writes rows on SQLite with a multi-row INSERT … VALUES,
// nine placeholders a row.
func (b *batchWriter) insertValues(ctx context.Context, rows []tokenRow) error {
	args := make([]any, 0, 9*len(rows))
	for i := range rows {
		r := &rows[i]
		args = append(args, r.Kind, r.Signature, r.RequestID, r.ClientID, r.Subject, r.Active, r.RequestedAt, r.ExpiresAt, r.Data)
	}
	q, ok := b.valuesSQL[len(rows)]
	if !ok {
		row := "(" + strings.Repeat("?,", 8) + "?)"
		q = "INSERT INTO tokens (" + tokenColumns + ") VALUES " + strings.Repeat(row+",", len(rows)-1) + row
		b.valuesSQL[len(rows)] = q
	}
	_, err := b.conn.ExecContext(ctx, q, args...)
	return err
}

// isConstraintError reports whether err is a row's own fault: a unique,
// primary-key, foreign-key or check constraint it violates. Only then is a
// batch worth retrying row by row.
func isConstraintError(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) || errors.Is(err, gorm.ErrForeignKeyViolated) || errors.Is(err, gorm.ErrCheckConstraintViolated) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.SQLState(), "23") // integrity_constraint_violation
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		return lite.Code()&0xff == sqliteConstraint
	}
	return false
}

// sqliteConstraint is SQLITE_CONSTRAINT, the primary result code of every
// constraint failure.
const sqliteConstraint = 19

// isConnectionError reports whether err says the database could not be
// reached or dropped the connection, rather than refusing the statement.
func isConnectionError(err error) bool {
	var netErr net.Error
	var retry interface{ SafeToRetry() bool }
	var pg interface{ SQLState() string }
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &netErr):
		return true
	case errors.As(err, &retry) && retry.SafeToRetry():
		return true
	case errors.As(err, &pg):
		// connection_exception, and admin_shutdown, crash_shutdown,
		// cannot_connect_now of operator_intervention.
		code := pg.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	return false
}
