package gormstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gatehouse-id/gatehouse/storage"
)

// CollectBatch bounds the rows one statement of a collection removes. After
// each statement the collection pauses for twice as long as the statement
// took, and at least collectPause: on SQLite a statement holds the single
// write connection, and the group-commit writer waits for it (a thousand
// token rows take 10–20 ms there); on PostgreSQL it takes CPU from the
// requests on the same cores. So a collection takes at most a third of the
// writer's time however much it finds (docs/benchmarks.md).
const (
	CollectBatch = 1000
	collectPause = 10 * time.Millisecond
)

// collectLockKey and the schema's hash name the PostgreSQL advisory lock
// that lets one replica collect at a time (migrations use 7411): replicas
// of one deployment share it, deployments in other schemas of the same
// database do not.
const collectLockKey = 7412

// expiring is one kind of row that expires: its table and primary key, the
// condition that says a row has expired, and the tables that refer to it
// and go with it. A new expiring kind is one more entry in expiringKinds.
type expiring struct {
	kind    string
	table   string
	key     string              // the primary key's column (a single one when children are set)
	expired string              // a condition with one placeholder, the cut-off
	cutoff  func(time.Time) any // the cut-off for a collection at now
	refs    []string            // "table.column" rows that refer to key, removed first
}

// expiringKinds lists every kind Collect removes, in the order it removes
// them.
func expiringKinds() []expiring {
	before := func(now time.Time) any { return now.UTC() }
	return []expiring{
		{kind: storage.CollectTokens, table: "tokens", key: "kind, signature", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectClientAssertionIDs, table: "client_assertion_jtis", key: "jti", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectSessions, table: "browser_sessions", key: "id", expired: "expires_at < ?", cutoff: before,
			refs: []string{"session_clients.session_id"}},
		{kind: storage.CollectAuthRequests, table: "auth_requests", key: "id", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectFederationStates, table: "federation_states", key: "id", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectPendingLinks, table: "pending_links", key: "id", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectThrottleCounters, table: "throttle_counters", key: "id", expired: "expires_ms <= ?",
			cutoff: func(now time.Time) any { return now.UnixMilli() }},
		{kind: storage.CollectKnownDevices, table: "known_devices", key: "account, device", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectEmailTokens, table: "email_tokens", key: "hash", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectEmailChanges, table: "email_changes", key: "user_id", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectWebAuthnChallenges, table: "webauthn_challenges", key: "id", expired: "expires_at < ?", cutoff: before},
		{kind: storage.CollectMFADevices, table: "mfa_devices", key: "id", expired: "expires_at < ?", cutoff: before},
	}
}

// Collect removes every expired row of every expiring kind, CollectBatch
// rows a statement with a pause between statements, and says how many of
// each kind it removed. On PostgreSQL it first takes an advisory lock on a
// connection of its own, and returns Skipped if another replica holds it;
// the lock is released when it is done.
func (s *Store) Collect(ctx context.Context, now time.Time) (storage.CollectResult, error) {
	res := storage.CollectResult{Removed: map[string]int64{}}
	if s.kind == Postgres {
		release, ok, err := s.collectLock(ctx)
		if err != nil {
			return res, err
		}
		if !ok {
			res.Skipped = true
			return res, nil
		}
		defer release()
	}
	var pause time.Duration
	for _, k := range expiringKinds() {
		cutoff := k.cutoff(now)
		for {
			if pause > 0 {
				select {
				case <-ctx.Done():
					return res, fmt.Errorf("gormstore: collect: %w", ctx.Err())
				case <-time.After(pause):
				}
			}
			start := time.Now()
			n, err := s.collectBatch(ctx, k, cutoff)
			pause = max(collectPause, 2*time.Since(start))
			if n > 0 {
				res.Removed[k.kind] += n
			}
			if err != nil {
				return res, fmt.Errorf("gormstore: collect %s: %w", k.kind, err)
			}
			if n < CollectBatch {
				break
			}
		}
	}
	return res, nil
}

// collectLock takes the collection's advisory lock on a connection of its
// own, without waiting. release gives it back and returns the connection.
func (s *Store) collectLock(ctx context.Context) (release func(), ok bool, err error) {
	sqlDB, err := s.write.DB()
	if err != nil {
		return nil, false, fmt.Errorf("gormstore: collect: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("gormstore: collect: lock connection: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))", collectLockKey).Scan(&ok); err != nil {
		_ = conn.Close()
		return nil, false, fmt.Errorf("gormstore: collect: lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// Should the unlock fail, closing a broken connection ends its
		// session and the lock with it.
		_, _ = conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1, hashtext(current_schema()))", collectLockKey)
		_ = conn.Close()
	}, true, nil
}

// collectBatch removes up to CollectBatch expired rows of one kind in one
// statement (in one transaction with the rows that refer to them) and
// returns how many it removed.
func (s *Store) collectBatch(ctx context.Context, k expiring, cutoff any) (int64, error) {
	if len(k.refs) == 0 {
		// SQLite finds rows fastest by rowid; PostgreSQL compares the key.
		key := k.key
		if s.kind == SQLite {
			key = "rowid"
		} else if strings.Contains(key, ",") {
			key = "(" + key + ")"
		}
		sel := strings.Trim(key, "()")
		res := s.write.WithContext(ctx).Exec("DELETE FROM "+k.table+" WHERE "+key+" IN (SELECT "+sel+" FROM "+k.table+
			" WHERE "+k.expired+" LIMIT ?)", cutoff, CollectBatch)
		return res.RowsAffected, res.Error
	}
	var n int64
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []string
		if err := tx.Raw("SELECT "+k.key+" FROM "+k.table+" WHERE "+k.expired+" LIMIT ?", cutoff, CollectBatch).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, ref := range k.refs {
			table, column, _ := strings.Cut(ref, ".")
			if err := tx.Exec("DELETE FROM "+table+" WHERE "+column+" IN ?", ids).Error; err != nil {
				return err
			}
		}
		res := tx.Exec("DELETE FROM "+k.table+" WHERE "+k.key+" IN ? AND "+k.expired, ids, cutoff)
		n = res.RowsAffected
		return res.Error
	})
	return n, err
}
