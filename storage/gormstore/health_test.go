package gormstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// records keeps the log records a store writes, for tests that read them.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// matching returns the records whose message starts with prefix.
func (r *records) matching(prefix string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.list {
		if strings.HasPrefix(rec.Message, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// attr returns the record's attribute named key.
func attr(rec slog.Record, key string) slog.Value {
	var v slog.Value
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

// openWith opens and migrates a store at url with opts' other fields.
func openWith(t *testing.T, rawURL string, opts gormstore.Options) *gormstore.Store {
	t.Helper()
	if path, ok := strings.CutPrefix(rawURL, "sqlite://"); ok {
		opts.Kind, opts.Path = gormstore.SQLite, path
	} else {
		opts.Kind, opts.DSN = gormstore.Postgres, rawURL
	}
	s, err := gormstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawDB opens a connection of the test's own to the store's database.
func rawDB(t *testing.T, rawURL string) *gorm.DB {
	t.Helper()
	var dial gorm.Dialector
	if path, ok := strings.CutPrefix(rawURL, "sqlite://"); ok {
		dial = sqlite.Open("file:" + path + "?_pragma=busy_timeout(10000)")
	} else {
		dial = postgres.Open(rawURL)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

// tokenWriter returns a function that writes access token n through the
// group-commit writer.
func tokenWriter(t *testing.T, s *gormstore.Store) func(n int) error {
	t.Helper()
	ctx := context.Background()
	c := storage.Client{ID: "health", GrantTypes: []string{"client_credentials"}}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	return func(n int) error {
		r := fosite.NewRequest()
		r.ID, r.Client, r.RequestedAt = "req-"+strconv.Itoa(n), &c, time.Now().UTC()
		r.GrantedScope = fosite.Arguments{"api"}
		sess := openid.NewDefaultSession()
		sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
		r.Session = sess
		return s.CreateAccessTokenSession(ctx, "sig-"+strconv.Itoa(n), r)
	}
}

// writeConcurrently writes tokens first..first+n-1 at once and returns
// their errors.
func writeConcurrently(write func(int) error, first, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = write(first + i)
		}()
	}
	wg.Wait()
	return errs
}

// TestWALStaysBounded writes many token rows through the group-commit
// writer, 100 at a time, and checks the write-ahead log's size after every
// round: it never passes the configured bound, although the rows written
// are many times that size.
func TestWALStaysBounded(t *testing.T) {
	const bound = 1 << 20
	const rounds, perRound = 60, 100
	rawURL := gormstoretest.SQLiteURL(t)
	s := openWith(t, rawURL, gormstore.Options{WALMaxBytes: bound})
	write := tokenWriter(t, s)
	walPath := strings.TrimPrefix(rawURL, "sqlite://") + "-wal"
	var largest int64
	var grew bool
	for round := range rounds {
		for _, err := range writeConcurrently(write, round*perRound, perRound) {
			if err != nil {
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(walPath)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatal(err)
		}
		largest = max(largest, fi.Size())
		grew = grew || fi.Size() > 0
	}
	if largest > bound {
		t.Errorf("the write-ahead log reached %d bytes; bound %d", largest, bound)
	}
	if !grew {
		t.Error("the write-ahead log was never written: the test measured nothing")
	}
	n, err := s.CountTokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n["at"] != rounds*perRound {
		t.Errorf("stored %v, want %d access tokens", n, rounds*perRound)
	}
	// The file the rows went to is far larger than the bound: the log was
	// restarted many times, not merely left small.
	db, err := os.Stat(strings.TrimPrefix(rawURL, "sqlite://"))
	if err != nil {
		t.Fatal(err)
	}
	if db.Size() < 2*bound {
		t.Errorf("database file %d bytes: too few rows written to test the bound", db.Size())
	}
}

// TestPersistentWriteFailure takes the tokens table away from under the
// store (a real failure of every write, as a full disk or a read-only
// database would cause), and checks that the group-commit writer fails
// each row once, in its batch, without retrying rows one by one; that the
// store reports writes failing; and that it recovers by itself once the
// table is back: through its own probe write, and through real writes.
func TestPersistentWriteFailure(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		var logs records
		s := openWith(t, db.URL, gormstore.Options{Logger: slog.New(&logs)})
		write := tokenWriter(t, s)
		raw := rawDB(t, db.URL)
		ctx := context.Background()
		if err := write(0); err != nil {
			t.Fatal(err)
		}
		if err := s.Healthy(ctx); err != nil {
			t.Fatalf("healthy store: %v", err)
		}
		takeAway := func() {
			t.Helper()
			if err := raw.Exec("ALTER TABLE tokens RENAME TO tokens_away").Error; err != nil {
				t.Fatal(err)
			}
		}
		giveBack := func() {
			t.Helper()
			if err := raw.Exec("ALTER TABLE tokens_away RENAME TO tokens").Error; err != nil {
				t.Fatal(err)
			}
		}

		// Recovery through the probe: nothing else writes.
		takeAway()
		const rows = 40
		for _, err := range writeConcurrently(write, 1, rows) {
			if err == nil {
				t.Fatal("a write succeeded without its table")
			}
		}
		extra := 0
		for ; s.LastWriteError() == nil; extra++ {
			if extra == 10 {
				t.Fatal("ten more failed writes, and the store does not report writes failing")
			}
			if err := write(100 + extra); err == nil {
				t.Fatal("a write succeeded without its table")
			}
		}
		failed := logs.matching("group commit failed")
		attempted := int64(0)
		for _, rec := range failed {
			if rec.Message != "group commit failed; backing off" {
				t.Errorf("logged %q: rows retried one by one", rec.Message)
			}
			attempted += attr(rec, "rows").Int64()
		}
		if attempted != int64(rows+extra) {
			t.Errorf("%d row attempts logged in %d warnings for %d rows, want every row attempted once", attempted, len(failed), rows+extra)
		}
		giveBack()
		if err := s.Healthy(ctx); err != nil {
			t.Errorf("after the table came back, the probe write did not restore health: %v", err)
		}

		// Recovery through real writes.
		takeAway()
		for i := 0; s.LastWriteError() == nil; i++ {
			if i == 10 {
				t.Fatal("ten failed writes, and the store does not report writes failing")
			}
			_ = write(200 + i)
		}
		if err := s.Healthy(ctx); err == nil {
			t.Error("writes failing, and Healthy says nothing")
		}
		giveBack()
		if err := write(300); err != nil {
			t.Fatalf("write after the table came back: %v", err)
		}
		if err := s.Healthy(ctx); err != nil {
			t.Errorf("a write succeeded, and the store still reports: %v", err)
		}
	})
}

// proxy forwards TCP connections to a target until stopped; stopping it
// closes every connection, as a database server that goes away does.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *proxy) start() {
	p.t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestWriterBacksOffWhileDatabaseIsDown reaches PostgreSQL through a proxy
// and stops the proxy: the database is gone. Every write fails, each row
// attempted once in its batch (no row-by-row retries against a server that
// is not there), the warnings say it is the connection, and the first write
// after the proxy is back succeeds.
func TestWriterBacksOffWhileDatabaseIsDown(t *testing.T) {
	base, err := url.Parse(gormstoretest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: base.Host}
	p.start()
	defer p.stop()
	viaProxy := *base
	viaProxy.Host = p.addr
	var logs records
	s := openWith(t, viaProxy.String(), gormstore.Options{Logger: slog.New(&logs)})
	write := tokenWriter(t, s)
	if err := write(0); err != nil {
		t.Fatal(err)
	}

	p.stop()
	const rows = 50
	for i, err := range writeConcurrently(write, 1, rows) {
		if err == nil {
			t.Fatalf("write %d succeeded with the database gone", i)
		}
	}
	var attempted int64
	for _, rec := range logs.matching("group commit failed") {
		if rec.Message != "group commit failed; backing off" {
			t.Errorf("logged %q: rows retried one by one", rec.Message)
		}
		if !attr(rec, "connection").Bool() {
			t.Errorf("warning does not say it is the connection: %v", attr(rec, "error"))
		}
		attempted += attr(rec, "rows").Int64()
	}
	if attempted != rows {
		t.Errorf("%d row attempts logged for %d rows, want each row once", attempted, rows)
	}
	t.Logf("%d rows failed in %d batches, one warning each", rows, len(logs.matching("group commit failed")))

	p.start() // the same address again
	if err := write(100); err != nil {
		t.Fatalf("first write after the database came back: %v", err)
	}
	if err := s.Healthy(context.Background()); err != nil {
		t.Errorf("healthy after a successful write: %v", err)
	}
}

// TestCollectLockIsPerDeployment holds the collection's advisory lock as
// another replica of the same schema would: Collect skips. Once it is
// released, Collect runs.
func TestCollectLockIsPerDeployment(t *testing.T) {
	rawURL := gormstoretest.PostgresURL(t)
	s := openWith(t, rawURL, gormstore.Options{})
	ctx := context.Background()
	sqlDB, err := rawDB(t, rawURL).DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := func(q string) {
		t.Helper()
		var ok bool
		if err := conn.QueryRowContext(ctx, q).Scan(&ok); err != nil || !ok {
			t.Fatalf("%s: %v %v", q, ok, err)
		}
	}
	lock("SELECT pg_try_advisory_lock(7412, hashtext(current_schema()))")
	res, err := s.Collect(ctx, time.Now())
	if err != nil || !res.Skipped {
		t.Errorf("collect while another replica collects: %+v, %v; want skipped", res, err)
	}
	lock("SELECT pg_advisory_unlock(7412, hashtext(current_schema()))")
	res, err = s.Collect(ctx, time.Now())
	if err != nil || res.Skipped {
		t.Errorf("collect after the other replica finished: %+v, %v", res, err)
	}
}
