package gormstore

import (
	"context"
	"database/sql"
	"time"

	"gorm.io/gorm"
)

// SQLite's JSONB element types (https://sqlite.org/jsonb.html, section 3):
// the low four bits of an element's first byte.
const (
	jsonbNull    = 0
	jsonbTrue    = 1
	jsonbFalse   = 2
	jsonbTextRaw = 10 // UTF-8 text as it is, no escapes
	jsonbArray   = 11
)

// appendJSONBHeader appends the header of an element of type typ whose
// payload is n bytes: the size in the high four bits for up to 11 bytes,
// else in the 1, 2 or 4 bytes after (big-endian), in the smallest form
// that holds it, as SQLite writes it.
func appendJSONBHeader(dst []byte, typ byte, n int) []byte {
	switch {
	case n <= 11:
		return append(dst, byte(n)<<4|typ)
	case n <= 0xff:
		return append(dst, 12<<4|typ, byte(n))
	case n <= 0xffff:
		return append(dst, 13<<4|typ, byte(n>>8), byte(n))
	default:
		return append(dst, 14<<4|typ, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// jsonbRows gathers rows as one JSONB array of arrays and executes query,
// which reads them with jsonb_each(?) and value->>N, with the array bound
// as a blob (its last parameter) whenever it reaches limit bytes, and at
// the end. glebarez/go-sqlite prepares every statement anew, so one short
// statement over many rows costs far less than multi-row VALUES, whose
// placeholders it matches to arguments by a linear search; and JSONB,
// unlike JSON text, SQLite reads as it is, without parsing it first (a
// twentieth of an initial load's time went to that parse).
type jsonbRows struct {
	ctx   context.Context
	conn  gorm.ConnPool
	query string
	limit int
	// args are bound before the rows.
	args []any
	rows []byte // the rows so far: whole array elements
	row  []byte // the elements of the row being built
	out  []byte // the statement's argument: rows with the array's header
	// affected counts the rows the statements changed.
	affected int64
}

// sqliteRowsBytes bounds the rows of one statement. SQLite's allocator
// (modernc.org/memory) maps every block above 16 KiB on its own and unmaps
// it when freed: a batch's whole rows in one statement spent a tenth of
// the import's CPU in munmap. In an initial load a statement changes few
// pages (its rows go at the ends of their tables), and it first copies
// each of them to the statement journal (its ->> calls could fail
// half-way), so there fewer, larger statements cost less:
// initialLoadRowsBytes (1M customers: 48 s against 55 s).
const (
	sqliteRowsBytes      = 12 << 10
	initialLoadRowsBytes = 64 << 10
)

// newJSONBRows returns the rows of query's argument, in statements as
// large as suit the transaction in ctx.
func newJSONBRows(ctx context.Context, conn gorm.ConnPool, query string) jsonbRows {
	limit := sqliteRowsBytes
	if inInitialLoad(ctx) {
		limit = initialLoadRowsBytes
	}
	return jsonbRows{ctx: ctx, conn: conn, query: query, limit: limit}
}

// text adds s to the row.
func (w *jsonbRows) text(s string) {
	w.row = append(appendJSONBHeader(w.row, jsonbTextRaw, len(s)), s...)
}

// nullable adds s to the row, or null.
func (w *jsonbRows) nullable(s sql.NullString) {
	if !s.Valid {
		w.row = append(w.row, jsonbNull)
		return
	}
	w.text(s.String)
}

// boolean adds b to the row (value->> reads it as 1 or 0).
func (w *jsonbRows) boolean(b bool) {
	if b {
		w.row = append(w.row, jsonbTrue)
	} else {
		w.row = append(w.row, jsonbFalse)
	}
}

// time adds t to the row as the driver would have bound it
// (sqliteTimeLayout), so it reads back and sorts like a bound time.
func (w *jsonbRows) time(t time.Time) {
	var buf [64]byte
	text := t.AppendFormat(buf[:0], sqliteTimeLayout)
	w.row = append(appendJSONBHeader(w.row, jsonbTextRaw, len(text)), text...)
}

// end ends the row, executing the statement when the rows reach limit.
func (w *jsonbRows) end() error {
	if w.rows == nil {
		w.rows = make([]byte, 0, w.limit+2<<10)
	}
	w.rows = append(appendJSONBHeader(w.rows, jsonbArray, len(w.row)), w.row...)
	w.row = w.row[:0]
	if len(w.rows) < w.limit {
		return nil
	}
	return w.flush()
}

// flush executes the rows gathered so far.
func (w *jsonbRows) flush() error {
	if len(w.rows) == 0 {
		return nil
	}
	w.out = append(appendJSONBHeader(w.out[:0], jsonbArray, len(w.rows)), w.rows...)
	w.rows = w.rows[:0]
	res, err := w.conn.ExecContext(w.ctx, w.query, append(w.args[:len(w.args):len(w.args)], w.out)...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	w.affected += n
	return err
}
