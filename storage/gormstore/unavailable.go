package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// SQLite primary result codes (https://www.sqlite.org/rescode.html) that
// say the database, not the statement, failed.
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteProtocol = 15
	sqliteNotADB   = 26
)

// markUnavailable wraps err with storage.ErrUnavailable when it is a
// failure of the database itself (see infrastructure), and returns every
// other error unchanged. Marking twice is harmless: a marked error is
// returned as it is.
func markUnavailable(err error) error {
	if err == nil || errors.Is(err, storage.ErrUnavailable) || !infrastructure(err) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// infrastructure reports whether err says the database could not answer,
// as opposed to an answer (no row, a duplicate, a lost race, a bad
// statement): a refused, reset or broken connection, a query that ran out
// of time, a closed pool, the server shutting down or out of resources,
// SQLite's I/O, full-disk, locking and open failures. A request the caller
// itself cancelled (context.Canceled) is not one: the caller has gone.
func infrastructure(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOSPC),
		errors.Is(err, syscall.EIO),
		errors.Is(err, errClosed):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// PostgreSQL (pgconn.PgError): class 08 connection exception, 53
	// insufficient resources (too many connections, disk full), 57P01-03
	// administrator or crash shutdown and "cannot connect now", 58 system
	// error (I/O).
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		state := pg.SQLState()
		return strings.HasPrefix(state, "08") || strings.HasPrefix(state, "53") ||
			strings.HasPrefix(state, "58") || state == "57P01" || state == "57P02" || state == "57P03"
	}
	// pgconn's own errors for a connection that failed before anything
	// was sent ("conn closed", "conn busy", a failed write).
	var retry interface{ SafeToRetry() bool }
	if errors.As(err, &retry) && retry.SafeToRetry() {
		return true
	}
	// SQLite (github.com/glebarez/go-sqlite's *Error).
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff {
		case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteIOErr,
			sqliteCorrupt, sqliteFull, sqliteCantOpen, sqliteProtocol, sqliteNotADB:
			return true
		}
		return false
	}
	// database/sql's unexported errors for a closed pool or statement,
	// and pgconn's for a closed connection.
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") ||
		strings.Contains(msg, "sql: statement is closed") ||
		strings.Contains(msg, "conn closed")
}

// unavailablePlugin marks the errors of every GORM statement (see
// markUnavailable) and, on such an error, drops the pool's idle
// connections, so that once the database is back the next statements dial
// afresh instead of each finding a dead connection first.
type unavailablePlugin struct{}

func (unavailablePlugin) Name() string { return "gatehouse:unavailable" }

func (unavailablePlugin) Initialize(db *gorm.DB) error {
	mark := func(tx *gorm.DB) {
		if tx.Error == nil {
			return
		}
		marked := markUnavailable(tx.Error)
		if marked == tx.Error {
			return
		}
		tx.Error = marked
		if sqlDB, err := db.DB(); err == nil {
			dropIdle(sqlDB)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register("gatehouse:unavailable", mark),
		cb.Query().After("*").Register("gatehouse:unavailable", mark),
		cb.Update().After("*").Register("gatehouse:unavailable", mark),
		cb.Delete().After("*").Register("gatehouse:unavailable", mark),
		cb.Row().After("*").Register("gatehouse:unavailable", mark),
		cb.Raw().After("*").Register("gatehouse:unavailable", mark),
	} {
		if err != nil {
			return fmt.Errorf("gormstore: register callback: %w", err)
		}
	}
	return nil
}

// dropIdle closes the pool's idle connections and lets it keep idle ones
// again: those that a failed database left behind are dead.
func dropIdle(db *sql.DB) {
	n := db.Stats().MaxOpenConnections
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(n)
}
