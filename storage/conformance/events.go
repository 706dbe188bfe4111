package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/storage"
)

func eventsTests(t *testing.T, run func(*testing.T, string, func(*testing.T, storage.Store))) {
	run(t, "events commit with their change and roll back with it", testEventsInTx)
	run(t, "events list by subject, type and time, in creation order, by cursor", testEventsList)
	run(t, "old events are deleted in bounded batches", testEventsRetention)
	run(t, "jobs: claim leases due jobs once; retry, kill and complete", testJobsLifecycle)
	run(t, "jobs: a queue runs one job at a time, a failing one does not hold back the next", testJobsQueueOrder)
	run(t, "jobs: a lapsed lease is claimed again", testJobsLeaseLapse)
	run(t, "jobs: concurrent claims never take one job twice", testJobsConcurrentClaims)
	run(t, "jobs: enqueued in a rolled-back transaction, nothing is left", testJobsRollback)
}

func newEvent(typ, subject string, at time.Time) storage.Event {
	return storage.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Time: at, Subject: subject,
		Actor: storage.Actor{Type: storage.ActorOperator}, RequestID: "req-1", Data: json.RawMessage(`{"k":"v"}`),
	}
}

func testEventsInTx(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(ctx context.Context) error {
		must(t, s.AppendEvents(ctx, newEvent("user.created", "u1", now)))
		must(t, s.EnqueueJobs(ctx, storage.Job{ID: uuid.Must(uuid.NewV7()).String(), Kind: "test", Payload: []byte(`{}`)}))
		// Read-your-writes inside the transaction.
		if got, err := s.ListEvents(ctx, storage.EventFilter{Subject: "u1"}, storage.Page{}); err != nil || len(got) != 1 {
			t.Errorf("inside the transaction: %v %v", got, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if got, _ := s.ListEvents(ctx, storage.EventFilter{}, storage.Page{}); len(got) != 0 {
		t.Fatalf("a rolled-back event was kept: %v", got)
	}
	if queued, _ := s.ListJobs(ctx, "test", storage.JobQueued, storage.Page{}); len(queued) != 0 {
		t.Fatal("a rolled-back job was kept")
	}
	e := newEvent("user.created", "u1", now)
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		// A nested InTx joins the outer transaction.
		return s.InTx(ctx, func(ctx context.Context) error { return s.AppendEvents(ctx, e) })
	}))
	got, err := s.ListEvents(ctx, storage.EventFilter{}, storage.Page{})
	if err != nil || len(got) != 1 {
		t.Fatalf("after commit: %v %v", got, err)
	}
	g := got[0]
	if g.ID != e.ID || g.Type != e.Type || !g.Time.Equal(e.Time.Truncate(time.Microsecond)) && !g.Time.Equal(e.Time) || g.Time.Location() != time.UTC ||
		g.Subject != "u1" || g.Actor != e.Actor || g.RequestID != "req-1" || string(g.Data) != `{"k":"v"}` {
		t.Errorf("event = %+v, want %+v", g, e)
	}
}

func testEventsList(t *testing.T, s storage.Store) {
	ctx := context.Background()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var all []storage.Event
	for i := range 7 {
		typ, subject := "user.updated", fmt.Sprintf("u%d", i%2)
		if i%3 == 0 {
			typ = "user.created"
		}
		e := newEvent(typ, subject, base.Add(time.Duration(i)*time.Minute))
		all = append(all, e)
		must(t, s.AppendEvents(ctx, e))
	}
	ids := func(es []storage.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	want := func(pred func(i int, e storage.Event) bool) []string {
		var out []string
		for i, e := range all {
			if pred(i, e) {
				out = append(out, e.ID)
			}
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    storage.EventFilter
		pred func(int, storage.Event) bool
	}{
		"by subject": {storage.EventFilter{Subject: "u1"}, func(_ int, e storage.Event) bool { return e.Subject == "u1" }},
		"by type":    {storage.EventFilter{Type: "user.created"}, func(_ int, e storage.Event) bool { return e.Type == "user.created" }},
		"by time":    {storage.EventFilter{From: base.Add(2 * time.Minute), To: base.Add(5 * time.Minute)}, func(i int, _ storage.Event) bool { return i >= 2 && i < 5 }},
	} {
		got, err := s.ListEvents(ctx, tc.f, storage.Page{})
		if err != nil || !slices.Equal(ids(got), want(tc.pred)) {
			t.Errorf("%s: %v %v, want %v", name, ids(got), err, want(tc.pred))
		}
	}
	first, _ := s.ListEvents(ctx, storage.EventFilter{}, storage.Page{Limit: 3})
	rest, _ := s.ListEvents(ctx, storage.EventFilter{}, storage.Page{After: first[len(first)-1].ID})
	if !slices.Equal(append(ids(first), ids(rest)...), ids(all)) {
		t.Errorf("paging: %v + %v, want %v", ids(first), ids(rest), ids(all))
	}
}

func testEventsRetention(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	for i := range 5 {
		must(t, s.AppendEvents(ctx, newEvent("user.updated", "u", now.Add(-time.Duration(10-i)*time.Hour))))
	}
	must(t, s.AppendEvents(ctx, newEvent("user.updated", "u", now)))
	n, err := s.DeleteEventsBefore(ctx, now.Add(-time.Hour), 3)
	if err != nil || n != 3 {
		t.Fatalf("first batch: %d %v", n, err)
	}
	n, err = s.DeleteEventsBefore(ctx, now.Add(-time.Hour), 3)
	if err != nil || n != 2 {
		t.Fatalf("second batch: %d %v", n, err)
	}
	if got, _ := s.ListEvents(ctx, storage.EventFilter{}, storage.Page{}); len(got) != 1 {
		t.Fatalf("left %d events, want the recent one", len(got))
	}
}

func newJob(kind, queue string, runAt time.Time) storage.Job {
	return storage.Job{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Queue: queue, Payload: []byte(`{"n":1}`), RunAt: runAt}
}

func claimIDs(t *testing.T, s storage.Store, now time.Time, limit int) []string {
	t.Helper()
	jobs, err := s.ClaimJobs(context.Background(), []string{"mail", "hook"}, now, time.Minute, limit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func testJobsLifecycle(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	a, b, later, other := newJob("mail", "", now.Add(-time.Second)), newJob("mail", "", now), newJob("mail", "", now.Add(time.Hour)), newJob("sms", "", now)
	must(t, s.EnqueueJobs(ctx, a, b, later, other))
	if queued, err := s.ListJobs(ctx, "mail", storage.JobQueued, storage.Page{}); err != nil || len(queued) != 3 {
		t.Fatalf("queued = %v %v", queued, err)
	}
	jobs, err := s.ClaimJobs(ctx, []string{"mail"}, now, time.Minute, 10)
	if err != nil || len(jobs) != 2 || jobs[0].ID != a.ID || jobs[1].ID != b.ID {
		t.Fatalf("claim = %+v %v", jobs, err)
	}
	if j := jobs[0]; j.State != storage.JobRunning || j.Attempts != 1 || string(j.Payload) != `{"n":1}` || !j.LeaseUntil.Equal(now.Add(time.Minute).Truncate(time.Microsecond)) && !j.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("claimed job = %+v", j)
	}
	if again := claimIDs(t, s, now, 10); len(again) != 0 {
		t.Fatalf("leased jobs claimed again: %v", again)
	}
	must(t, s.CompleteJob(ctx, a.ID))
	must(t, s.RetryJob(ctx, b.ID, now.Add(time.Minute), "503 from the receiver"))
	if got := claimIDs(t, s, now.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("a retried job ran early: %v", got)
	}
	if got := claimIDs(t, s, now.Add(2*time.Minute), 10); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("the retry = %v", got)
	}
	must(t, s.KillJob(ctx, b.ID, "gave up"))
	dead, err := s.ListJobs(ctx, "mail", storage.JobDead, storage.Page{})
	if err != nil || len(dead) != 1 || dead[0].ID != b.ID || dead[0].Attempts != 2 || dead[0].LastError != "gave up" {
		t.Fatalf("dead jobs = %+v %v", dead, err)
	}
	if got := claimIDs(t, s, now.Add(time.Hour), 10); !slices.Equal(got, []string{later.ID}) {
		t.Fatalf("later = %v", got)
	}
	if err := s.CompleteJob(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("completing an unknown job: %v", err)
	}
}

func testJobsQueueOrder(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	q1, q2, q3 := newJob("hook", "sub-1", now), newJob("hook", "sub-1", now), newJob("hook", "sub-1", now)
	o1 := newJob("hook", "sub-2", now)
	must(t, s.EnqueueJobs(ctx, q1, q2, q3, o1))
	// One job of each queue, the earliest.
	if got := claimIDs(t, s, now, 10); !slices.Equal(got, []string{q1.ID, o1.ID}) {
		t.Fatalf("first claim = %v", got)
	}
	// While q1 holds its lease, nothing more of sub-1.
	if got := claimIDs(t, s, now, 10); len(got) != 0 {
		t.Fatalf("claimed during the lease: %v", got)
	}
	// q1 fails and waits: q2 goes ahead.
	must(t, s.RetryJob(ctx, q1.ID, now.Add(time.Hour), "down"))
	if got := claimIDs(t, s, now, 10); !slices.Equal(got, []string{q2.ID}) {
		t.Fatalf("after the failure = %v", got)
	}
	must(t, s.CompleteJob(ctx, q2.ID))
	if got := claimIDs(t, s, now, 10); !slices.Equal(got, []string{q3.ID}) {
		t.Fatalf("next = %v", got)
	}
}

func testJobsLeaseLapse(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	j := newJob("mail", "", now)
	must(t, s.EnqueueJobs(ctx, j))
	if got := claimIDs(t, s, now, 1); len(got) != 1 {
		t.Fatal("not claimed")
	}
	// The worker died: after the lease, another takes it up.
	jobs, err := s.ClaimJobs(ctx, []string{"mail"}, now.Add(2*time.Minute), time.Minute, 1)
	if err != nil || len(jobs) != 1 || jobs[0].ID != j.ID || jobs[0].Attempts != 2 {
		t.Fatalf("reclaim = %+v %v", jobs, err)
	}
}

func testJobsConcurrentClaims(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	var jobs []storage.Job
	for range 60 {
		jobs = append(jobs, newJob("mail", "", now))
	}
	must(t, s.EnqueueJobs(ctx, jobs...))
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimJobs(ctx, []string{"mail"}, now, time.Minute, 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(jobs) {
		t.Fatalf("claimed %d of %d jobs", len(seen), len(jobs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
}

func testJobsRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_ = s.InTx(ctx, func(ctx context.Context) error {
		must(t, s.EnqueueJobs(ctx, newJob("mail", "", time.Time{})))
		return errors.New("the change failed")
	})
	if got := claimIDs(t, s, time.Now().Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("a job of a rolled-back change ran: %v", got)
	}
}
