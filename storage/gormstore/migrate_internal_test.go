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
	if err := s.EnqueueLogoutDeliveries(ctx, []storage.LogoutDelivery{{ID: "d1", ClientID: "rp-1", URI: "https://rp.example/bc",
		LogoutToken: url.Values{"sub": {"u1"}, "sid": {"s1"}}.Encode(), Attempts: 2, NextAttempt: now, CreatedAt: now}}); err != nil {
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
	if left, _ := s.DueLogoutDeliveries(ctx, now.Add(time.Hour), 10); len(left) != 0 {
		t.Fatalf("deliveries left behind: %v", left)
	}
}
