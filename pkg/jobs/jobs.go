// Package jobs runs the durable jobs of the store's one queue: mail,
// webhook deliveries, back-channel logouts. A change writes its jobs in its
// own transaction (storage.JobStore.EnqueueJobs inside Store.InTx), so a
// job exists exactly when its change committed; a Runner claims due jobs
// with a lease, runs their kind's handler, and completes, retries (with
// exponential back-off and jitter, up to a horizon) or kills them. A
// worker that dies mid-job loses nothing: its lease lapses and another
// claim runs the job again, so handlers must be idempotent (at least once).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/storage"
)

// Store is what a Runner needs of the store.
type Store interface {
	ClaimJobs(ctx context.Context, kinds []string, now time.Time, lease time.Duration, limit int) ([]storage.Job, error)
	CompleteJob(ctx context.Context, id string) error
	RetryJob(ctx context.Context, id string, runAt time.Time, lastError string) error
	KillJob(ctx context.Context, id string, lastError string) error
}

// Retry says how a kind's failed jobs are retried: after Base, doubling up
// to Max, each wait drawn between half and all of it (jitter), until the
// job is Horizon old; then it is dead.
type Retry struct {
	Base    time.Duration
	Max     time.Duration
	Horizon time.Duration
}

// Wait returns the wait after a job's attempts-th failure, before jitter.
func (r Retry) Wait(attempts int) time.Duration {
	d := r.Base
	for i := 1; i < attempts && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// Kind is one kind of job and how to run it.
type Kind struct {
	// Name is the storage.Job Kind.
	Name string
	// Handle does the job. A nil error completes it; a Permanent error
	// kills it; any other error retries it.
	Handle func(ctx context.Context, job storage.Job) error
	Retry  Retry
}

// permanent marks an error no retry would cure.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as a failure no retry would cure: the job is killed
// at once.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// NewJob returns a job of the kind with a new time-ordered ID, due now.
// queue, when not empty, runs the job after the earlier jobs of the same
// queue (one at a time, in order).
func NewJob(kind, queue string, payload []byte) storage.Job {
	return storage.Job{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Queue: queue, Payload: payload}
}

// Options configure a Runner.
type Options struct {
	Kinds []Kind
	// Workers is how many jobs run at once (default 4).
	Workers int
	// PollInterval is the longest a due job waits when no Notify came
	// (default 200 ms).
	PollInterval time.Duration
	// Lease is how long a claimed job is a worker's before another may
	// take it up (default 1 minute); a job must finish within it.
	Lease  time.Duration
	Logger *slog.Logger
	// OnDone, when set, is told of every finished attempt (for metrics).
	OnDone func(kind, outcome string)
}

// Outcomes of an attempt, as OnDone is told.
const (
	OutcomeDone  = "done"
	OutcomeRetry = "retry"
	OutcomeDead  = "dead"
)

// Runner claims and runs jobs until its context ends.
type Runner struct {
	store   Store
	kinds   map[string]Kind
	names   []string
	workers int
	poll    time.Duration
	lease   time.Duration
	log     *slog.Logger
	onDone  func(kind, outcome string)
	wake    chan struct{}
}

// NewRunner returns a Runner of the kinds over the store.
func NewRunner(store Store, opts Options) *Runner {
	r := &Runner{
		store: store, kinds: map[string]Kind{}, workers: opts.Workers, poll: opts.PollInterval, lease: opts.Lease,
		log: opts.Logger, onDone: opts.OnDone, wake: make(chan struct{}, 1),
	}
	for _, k := range opts.Kinds {
		r.kinds[k.Name] = k
		r.names = append(r.names, k.Name)
	}
	if r.workers <= 0 {
		r.workers = 4
	}
	if r.poll <= 0 {
		r.poll = 200 * time.Millisecond
	}
	if r.lease <= 0 {
		r.lease = time.Minute
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Notify wakes the runner to look for due jobs now, e.g. after a commit
// that enqueued some. It never blocks.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx ends, then waits for the jobs it
// started. Jobs interrupted by the end are retried by a later claim once
// their lease lapses.
func (r *Runner) Run(ctx context.Context) {
	if len(r.names) == 0 {
		return
	}
	sem := make(chan struct{}, r.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := r.workers - len(sem)
		var claimed []storage.Job
		if free > 0 {
			var err error
			claimed, err = r.store.ClaimJobs(ctx, r.names, time.Now(), r.lease, free)
			if err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "claiming jobs", "error", err.Error())
			}
		}
		for _, job := range claimed {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done(); r.Notify() }()
				r.run(ctx, job)
			}()
		}
		if len(claimed) == free && free > 0 {
			continue // there may be more due right now
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(r.poll):
		}
	}
}

// RunDue runs the jobs due now, one after another, until none is left
// due, and returns how many attempts it made. Tests use it to run the
// queue at a moment of their choosing; a server calls Run.
func (r *Runner) RunDue(ctx context.Context) int {
	n := 0
	for {
		claimed, err := r.store.ClaimJobs(ctx, r.names, time.Now(), r.lease, r.workers)
		if err != nil || len(claimed) == 0 {
			return n
		}
		for _, job := range claimed {
			r.run(ctx, job)
			n++
		}
	}
}

// run does one claimed job and records the outcome.
func (r *Runner) run(ctx context.Context, job storage.Job) {
	kind := r.kinds[job.Kind]
	jctx, cancel := context.WithTimeout(ctx, r.lease)
	err := safeHandle(jctx, kind, job)
	cancel()
	if ctx.Err() != nil {
		return // stopping: the lease lapses and a later claim retries it
	}
	// Record the outcome even if ctx ends meanwhile.
	rec := context.WithoutCancel(ctx)
	now := time.Now()
	outcome := OutcomeDone
	switch {
	case err == nil:
		err = r.store.CompleteJob(rec, job.ID)
	case IsPermanent(err) || now.Sub(job.CreatedAt) >= kind.Retry.Horizon:
		outcome = OutcomeDead
		r.log.WarnContext(ctx, "job failed for good", "kind", job.Kind, "job_id", job.ID, "attempts", job.Attempts, "error", err.Error())
		err = r.store.KillJob(rec, job.ID, err.Error())
	default:
		outcome = OutcomeRetry
		wait := kind.Retry.Wait(job.Attempts)
		wait = wait/2 + rand.N(wait/2+1) // jitter: half to all of the wait
		r.log.InfoContext(ctx, "job failed; will retry", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempts, "retry_in", wait.String(), "error", err.Error())
		err = r.store.RetryJob(rec, job.ID, now.Add(wait), err.Error())
	}
	if err != nil {
		r.log.WarnContext(ctx, "recording a job's outcome", "kind", job.Kind, "job_id", job.ID, "error", err.Error())
	}
	if r.onDone != nil {
		r.onDone(job.Kind, outcome)
	}
}

// safeHandle runs the handler, turning a panic into an error.
func safeHandle(ctx context.Context, kind Kind, job storage.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job handler panicked: %v", p)
		}
	}()
	if kind.Handle == nil {
		return Permanent(fmt.Errorf("no handler for job kind %q", job.Kind))
	}
	return kind.Handle(ctx, job)
}
