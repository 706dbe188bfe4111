package gormstore

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Queued back-channel logouts from before the job queue move onto it with
// the payload pkg/backchannel reads.
func TestMigrationMovesLogoutDeliveriesOntoTheJobQueue(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Kind: SQLite, Path: t.TempDir() + "/g.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.migrateTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	// The table as version 2 made it, and as the removed queue wrote it.
	if err := s.write.Exec("INSERT INTO logout_deliveries (id, client_id, uri, logout_token, attempts, next_attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		"d1", "rp-1", "https://rp.example/bc", url.Values{"sub": {"u1"}, "sid": {"s1"}}.Encode(), 2, now, now).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ListJobs(ctx, "backchannel_logout", storage.JobQueued, storage.Page{})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs = %+v %v", jobs, err)
	}
	q, err := url.ParseQuery(string(jobs[0].Payload))
	if err != nil || q.Get("client_id") != "rp-1" || q.Get("sub") != "u1" || q.Get("sid") != "s1" || jobs[0].Attempts != 2 {
		t.Fatalf("payload %q, job %+v", jobs[0].Payload, jobs[0])
	}
	// Migration 17 dropped the emptied table.
	var left int64
	if err := s.write.Raw("SELECT COUNT(*) FROM sqlite_master WHERE name = 'logout_deliveries'").Scan(&left).Error; err != nil || left != 0 {
		t.Fatalf("the old queue's table is still there: %d %v", left, err)
	}
}
