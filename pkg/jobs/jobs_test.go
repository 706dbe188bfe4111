package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/pkg/jobs"
	"github.com/gatehouse-id/gatehouse/storage"
	"github.com/gatehouse-id/gatehouse/storage/gormstore/gormstoretest"
)

// eventually waits for cond, failing the test if it never holds. It waits
// for an outcome; it asserts nothing about how long that took.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunner(t *testing.T) {
	gormstoretest.Each(t, func(t *testing.T, db gormstoretest.Database) {
		s := gormstoretest.Open(t, db.URL)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		done := map[string]int{}
		var flaky atomic.Int32
		fast := jobs.Retry{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Horizon: time.Hour}
		outcomes := map[string]int{}
		r := jobs.NewRunner(s, jobs.Options{
			PollInterval: 20 * time.Millisecond,
			Kinds: []jobs.Kind{
				{Name: "ok", Retry: fast, Handle: func(_ context.Context, j storage.Job) error {
					mu.Lock()
					done[string(j.Payload)]++
					mu.Unlock()
					return nil
				}},
				{Name: "flaky", Retry: fast, Handle: func(context.Context, storage.Job) error {
					if flaky.Add(1) < 3 {
						return errors.New("receiver down")
					}
					return nil
				}},
				{Name: "broken", Retry: fast, Handle: func(context.Context, storage.Job) error {
					return jobs.Permanent(errors.New("the URL is refused"))
				}},
				{Name: "expired", Retry: jobs.Retry{Base: time.Millisecond, Max: time.Millisecond, Horizon: 0}, Handle: func(context.Context, storage.Job) error {
					return errors.New("still down")
				}},
				{Name: "panics", Retry: fast, Handle: func(context.Context, storage.Job) error { panic("bug") }},
			},
			OnDone: func(kind, outcome string) { mu.Lock(); outcomes[kind+" "+outcome]++; mu.Unlock() },
		})
		go r.Run(ctx)
		var batch []storage.Job
		for _, p := range []string{"a", "b", "c"} {
			batch = append(batch, jobs.NewJob("ok", "", []byte(p)))
		}
		batch = append(batch, jobs.NewJob("flaky", "", nil), jobs.NewJob("broken", "", nil), jobs.NewJob("expired", "", nil), jobs.NewJob("panics", "", nil))
		if err := s.InTx(ctx, func(ctx context.Context) error { return s.EnqueueJobs(ctx, batch...) }); err != nil {
			t.Fatal(err)
		}
		r.Notify()
		count := func(key string) int { mu.Lock(); defer mu.Unlock(); return outcomes[key] }
		eventually(t, "every ok job done once", func() bool { return count("ok done") == 3 })
		eventually(t, "the flaky job done after two retries", func() bool { return count("flaky done") == 1 })
		eventually(t, "the broken job dead", func() bool { return count("broken dead") == 1 })
		eventually(t, "the job past its horizon dead", func() bool { return count("expired dead") == 1 })
		eventually(t, "the panicking job retried, not crashing the runner", func() bool { return count("panics retry") >= 1 })
		if count("flaky retry") != 2 || count("broken retry") != 0 {
			t.Errorf("outcomes = %v", outcomes)
		}
		mu.Lock()
		for _, p := range []string{"a", "b", "c"} {
			if done[p] != 1 {
				t.Errorf("job %s ran %d times", p, done[p])
			}
		}
		mu.Unlock()
		dead, err := s.ListJobs(ctx, "broken", storage.JobDead, storage.Page{})
		if err != nil || len(dead) != 1 || dead[0].LastError != "the URL is refused" {
			t.Errorf("dead letter = %+v %v", dead, err)
		}
	})
}

// A worker that dies with a job leased: once the lease lapses another
// runner does the job.
func TestRunnerTakesUpALapsedLease(t *testing.T) {
	s := gormstoretest.Open(t, gormstoretest.SQLiteURL(t))
	ctx := context.Background()
	job := jobs.NewJob("mail", "", []byte("x"))
	if err := s.EnqueueJobs(ctx, job); err != nil {
		t.Fatal(err)
	}
	// The first worker claims with a short lease and never reports back.
	if got, err := s.ClaimJobs(ctx, []string{"mail"}, time.Now(), 50*time.Millisecond, 1); err != nil || len(got) != 1 {
		t.Fatalf("claim: %v %v", got, err)
	}
	var ran atomic.Int32
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := jobs.NewRunner(s, jobs.Options{PollInterval: 20 * time.Millisecond, Kinds: []jobs.Kind{{
		Name: "mail", Retry: jobs.Retry{Base: time.Second, Max: time.Second, Horizon: time.Hour},
		Handle: func(context.Context, storage.Job) error { ran.Add(1); return nil },
	}}})
	go r.Run(rctx)
	eventually(t, "the job done by the second runner", func() bool { return ran.Load() == 1 })
}

func TestRetryWaitDoublesToItsCap(t *testing.T) {
	r := jobs.Retry{Base: time.Second, Max: 10 * time.Second}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		if got := r.Wait(attempts); got != want {
			t.Errorf("Wait(%d) = %v, want %v", attempts, got, want)
		}
	}
}
